import { CoreApp, DataQueryRequest, DataSourceInstanceSettings, MetricFindValue, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, Filters, Mode, NetlensOptions, NetlensQuery, ALL_VALUES } from './types';
import { parseVariableQuery } from './variableQuery';
import { NetlensVariableSupport } from './variables';

export { parseVariableQuery, formatVariableQuery, VARIABLE_LABELS } from './variableQuery';

export class DataSource extends DataSourceWithBackend<NetlensQuery, NetlensOptions> {
  /** Where the backend reads from; the editors say which query types need the other mode. */
  readonly mode: Mode;

  constructor(instanceSettings: DataSourceInstanceSettings<NetlensOptions>) {
    super(instanceSettings);
    this.mode = instanceSettings.jsonData?.mode ?? 'prometheus';
    this.variables = new NetlensVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<NetlensQuery> {
    return DEFAULT_QUERY;
  }

  /**
   * Template variable queries: a label whose values to list (node, namespace,
   * pod, reason, interface), optionally followed by filters in query-string
   * form, e.g. `pod?namespace=$namespace&node=$node`. The backend answers from
   * Prometheus or the agents over the dashboard's time range.
   */
  async metricFindQuery(query: string, options?: Partial<DataQueryRequest<NetlensQuery>>): Promise<MetricFindValue[]> {
    const { label, filters } = parseVariableQuery(query);
    const srv = getTemplateSrv();
    const scopedVars = options?.scopedVars ?? {};
    const params: Record<string, string[] | number> = {};
    for (const [key, values] of Object.entries(filters)) {
      params[key] = expandFilter(srv, values, scopedVars);
    }
    if (options?.range) {
      params.from = options.range.from.valueOf();
      params.to = options.range.to.valueOf();
    }
    const values: string[] = await this.getResource(`values/${label}`, params);
    return values.map((text) => ({ text }));
  }

  // Variables expand here into plain filter values; the backend escapes them
  // before they reach PromQL, so nothing is quoted or escaped in the browser.
  applyTemplateVariables(query: NetlensQuery, scopedVars: ScopedVars): NetlensQuery {
    const srv = getTemplateSrv();
    const filters: Filters = {};
    for (const [key, values] of Object.entries(query.filters ?? {}) as Array<[keyof Filters, string[] | undefined]>) {
      filters[key] = expandFilter(srv, values ?? [], scopedVars);
    }
    return {
      ...query,
      filters,
      expr: query.expr === undefined ? undefined : srv.replace(query.expr, scopedVars),
    };
  }
}

export { ALL_VALUES };

/** Expands a filter's values; a variable at ALL_VALUES empties it (no filter). */
export function expandFilter(srv: TemplateSrv, values: string[], scopedVars: ScopedVars): string[] {
  const out: string[] = [];
  for (const v of values) {
    const expanded = expandFilterValue(srv, v, scopedVars);
    if (expanded.includes(ALL_VALUES)) {
      return [];
    }
    out.push(...expanded);
  }
  return out;
}

const SINGLE_VARIABLE = /^(\$\w+|\$\{\w+(:\w+)?\}|\[\[\w+(:\w+)?\]\])$/;

/**
 * A filter value that is exactly one variable becomes that variable's values
 * (several for a multi-value variable); any other value is interpolated as text.
 */
export function expandFilterValue(srv: TemplateSrv, value: string, scopedVars: ScopedVars): string[] {
  let collected: string[] = [];
  const replaced = srv.replace(value, scopedVars, (v: string | string[]) => {
    const values = Array.isArray(v) ? v : [v];
    collected = collected.concat(values);
    return values.join(',');
  });
  if (SINGLE_VARIABLE.test(value) && collected.length > 0) {
    return collected;
  }
  return [replaced];
}
