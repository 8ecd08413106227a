import { CoreApp, DataSourceInstanceSettings, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv, TemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY, Filters, NetlensOptions, NetlensQuery } from './types';

export class DataSource extends DataSourceWithBackend<NetlensQuery, NetlensOptions> {
  constructor(instanceSettings: DataSourceInstanceSettings<NetlensOptions>) {
    super(instanceSettings);
  }

  getDefaultQuery(_: CoreApp): Partial<NetlensQuery> {
    return DEFAULT_QUERY;
  }

  // Variables expand here into plain filter values; the backend escapes them
  // before they reach PromQL, so nothing is quoted or escaped in the browser.
  applyTemplateVariables(query: NetlensQuery, scopedVars: ScopedVars): NetlensQuery {
    const srv = getTemplateSrv();
    const filters: Filters = {};
    for (const [key, values] of Object.entries(query.filters ?? {}) as Array<[keyof Filters, string[] | undefined]>) {
      filters[key] = (values ?? []).flatMap((v) => expandFilterValue(srv, v, scopedVars));
    }
    return {
      ...query,
      filters,
      expr: query.expr === undefined ? undefined : srv.replace(query.expr, scopedVars),
    };
  }
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
