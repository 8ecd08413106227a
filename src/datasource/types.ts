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
