import {
  DataSourceVariable,
  QueryVariable,
  SceneControlsSpacer,
  SceneDataTransformer,
  SceneQueryRunner,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
  SceneVariableSet,
  VariableValueSelectors,
} from '@grafana/scenes';

import { DATASOURCE_PLUGIN_ID } from '../../constants';
import { ALL_VALUES, type NetlensQuery, type NetlensVariableQuery } from '../../datasource/types';

// Building blocks the Netlens scenes pages share: the data source variable,
// query variables answered by the data source (/values/<label>), query runners
// and the controls row. Only types come from src/datasource, so the pages do
// not pull the data source's code into their chunks.

/** Name of the data source variable every page has. */
export const DS_VARIABLE = 'ds';

/** Every query and variable reads from the data source the `ds` variable selects. */
export const NETLENS_DS = { type: DATASOURCE_PLUGIN_ID, uid: `\${${DS_VARIABLE}}` };

export function dataSourceVariable() {
  return new DataSourceVariable({
    name: DS_VARIABLE,
    label: 'Data source',
    pluginId: DATASOURCE_PLUGIN_ID,
  });
}

/**
 * A multi-value query variable of the Netlens data source; `query` is the text
 * form of docs/datasource.md (`node`, `pod?namespace=$namespace`). "All" is
 * the default and expands to every listed value.
 */
export function labelVariable(name: string, label: string, query: string) {
  const variableQuery: NetlensVariableQuery = { refId: `var-${name}`, query };
  return new QueryVariable({
    name,
    label,
    datasource: NETLENS_DS,
    query: variableQuery,
    isMulti: true,
    includeAll: true,
    defaultToAll: true,
    // All means no filter, not a list of every value (see ALL_VALUES).
    allValue: ALL_VALUES,
    // 1: refresh on dashboard load, 2: on time range change (VariableRefresh).
    refresh: 2,
  });
}

export function variableSet(...variables: Array<DataSourceVariable | QueryVariable>) {
  return new SceneVariableSet({ variables });
}

/** Filters `{"node":["$node"],...}`: the data source expands multi-value variables. */
export function filtersFrom(...labels: Array<'node' | 'namespace' | 'pod' | 'reason' | 'interface'>) {
  return Object.fromEntries(labels.map((l) => [l, [`$${l}`]])) as NetlensQuery['filters'];
}

export function queryRunner(queries: NetlensQuery[], maxDataPoints?: number) {
  return new SceneQueryRunner({
    datasource: NETLENS_DS,
    queries,
    ...(maxDataPoints ? { maxDataPoints } : {}),
  });
}

export function defaultTimeRange() {
  return new SceneTimeRange({ from: 'now-1h', to: 'now' });
}

/** Variable selectors, then the time range picker and refresh. */
export function controls() {
  return [
    new VariableValueSelectors({}),
    new SceneControlsSpacer(),
    new SceneTimePicker({ isOnCanvas: true }),
    new SceneRefreshPicker({ intervals: ['30s', '1m', '5m', '15m'], isOnCanvas: true }),
  ];
}

/** The SceneQueryRunner behind a panel's data (directly or under a transformer). */
export function runnerOf(data: unknown): SceneQueryRunner | undefined {
  if (data instanceof SceneQueryRunner) {
    return data;
  }
  if (data instanceof SceneDataTransformer) {
    return runnerOf(data.state.$data);
  }
  return undefined;
}
