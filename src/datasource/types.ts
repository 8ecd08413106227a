import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

// These shapes are shared with the Go backend (pkg/models); keep both in step.

export type Mode = 'prometheus' | 'direct';
export type Schema = 'netlens' | 'retina';
export type PrometheusAuth = 'none' | 'basic' | 'bearer' | 'azure';

export type QueryType = 'drops' | 'podDrops' | 'nic' | 'interfaces' | 'netstat' | 'events' | 'nodes' | 'promql';

export const QUERY_TYPES: Array<{ value: QueryType; label: string; description: string }> = [
  { value: 'drops', label: 'Drops', description: 'Kernel packet drops by reason, location and protocol' },
  { value: 'podDrops', label: 'Pod drops', description: 'Drops attributed to pods, by direction and reason' },
  { value: 'nic', label: 'NIC', description: 'NIC receive pressure: Rx cache full and buffer exhaustion' },
  { value: 'interfaces', label: 'Interfaces', description: 'Interface packets, bytes, drops and errors' },
  { value: 'netstat', label: 'Host stack', description: 'netstat, softnet and conntrack drop counters' },
  { value: 'events', label: 'Drop events', description: 'Live sampled drop events (direct mode)' },
  { value: 'nodes', label: 'Nodes', description: 'Agents: version, kernel, drop source, collectors' },
  { value: 'promql', label: 'PromQL', description: 'A raw PromQL expression (prometheus mode)' },
];

/** The labels a query may group by: pkg/models GroupByLabels, in the same order. */
export const GROUP_BY_LABELS = [
  'cluster',
  'node',
  'namespace',
  'pod',
  'workload',
  'direction',
  'reason',
  'location',
  'protocol',
  'interface',
  'driver',
  'queue',
  'stat',
  'counter',
  'group',
  'name',
  'cpu',
] as const;
export type GroupByLabel = (typeof GROUP_BY_LABELS)[number];

/** Filters whose values the backend lists (GET /values/<label>): editors and template variables. */
export const VALUE_LABELS = ['node', 'namespace', 'pod', 'reason', 'interface'] as const;
export type ValueLabel = (typeof VALUE_LABELS)[number];

export interface Filters {
  cluster?: string[];
  node?: string[];
  namespace?: string[];
  pod?: string[];
  reason?: string[];
  interface?: string[];
}

export interface NetlensQuery extends DataQuery {
  queryType?: QueryType;
  groupBy?: string[];
  filters?: Filters;
  value?: 'packets' | 'bytes';
  rate?: boolean;
  expr?: string;
  legendFormat?: string;
}

export const DEFAULT_QUERY: Partial<NetlensQuery> = {
  queryType: 'drops',
  groupBy: ['reason'],
  value: 'packets',
  rate: true,
};

/** A query variable's query: the label and filters in query-string form, e.g. `pod?namespace=$namespace`. */
export interface NetlensVariableQuery extends DataQuery {
  query: string;
}

export interface AzureCredentials {
  authType: 'msi' | 'clientsecret';
  tenantId?: string;
  clientId?: string;
}

/** jsonData: stored in Grafana and sent to the browser. */
export interface NetlensOptions extends DataSourceJsonData {
  mode?: Mode;
  schema?: Schema;
  prometheusAuth?: PrometheusAuth;
  azureCredentials?: AzureCredentials;
  agentUrls?: string[];
  agentDnsName?: string;
  timeoutSeconds?: number;
  /** Prometheus mode: how often Prometheus scrapes the agents (min step, rate window base); default 15. */
  scrapeIntervalSeconds?: number;
}

/** secureJsonData: write-only; Grafana only tells the browser whether each is set. */
export interface NetlensSecureOptions {
  basicAuthPassword?: string;
  bearerToken?: string;
  azureClientSecret?: string;
  agentToken?: string;
}

/**
 * The custom "All" value of Netlens filter variables: a filter set to it
 * selects everything, so it is left out instead of listing every value (the
 * backend takes at most 256 values per filter).
 */
export const ALL_VALUES = '__all__';
