// Data sources as Grafana's frontend knows them: the instance settings from
// the boot data (and /api/frontend/settings after a save), the legacy
// DataSourceSrv, and the runtime's newer data source service, which
// @grafana/scenes uses and whose setup is internal to Grafana.
import { DataSourceApi, DataSourceInstanceSettings, DataSourceRef, ScopedVars } from '@grafana/data';
import { DataSourceSrv, GetDataSourceListFilters, config, getTemplateSrv } from '@grafana/runtime';
import {
  getDataSourceInstance,
  setDataSourcePluginImporter,
} from 'grafana-runtime-internal/services/dataSource/dataSource.mjs';
import { initDataSourceInstanceSettings } from 'grafana-runtime-internal/services/dataSource/settings.mjs';
import { clearPluginCache } from 'grafana-runtime-internal/services/dataSource/pluginCache.mjs';

import { backendSrv } from './backend';
import { importPlugin } from './systemjs';

type Settings = Record<string, DataSourceInstanceSettings>;

let settings: Settings = {};
let defaultName = '';

function install(s: Settings, def: string) {
  settings = s;
  defaultName = def;
  config.datasources = s;
  config.defaultDatasource = def;
  initDataSourceInstanceSettings(s, def);
}

export function initDataSources() {
  install(config.datasources as Settings, config.defaultDatasource);
  setDataSourcePluginImporter(async (meta: { module: string }) => {
    const mod = await importPlugin(meta.module);
    const plugin = mod.plugin;
    plugin.meta = meta;
    return plugin;
  });
}

// reloadDataSources refetches the settings after a data source was saved,
// as Grafana's frontend does.
export async function reloadDataSources() {
  const s = (await backendSrv.get('/api/frontend/settings')) as { datasources: Settings; defaultDatasource: string };
  clearPluginCache();
  install(s.datasources, s.defaultDatasource);
}

function nameOrUid(ref?: string | DataSourceRef | null): string | undefined {
  if (ref == null) {
    return undefined;
  }
  return typeof ref === 'string' ? ref : ref.uid;
}

function lookup(ref?: string | DataSourceRef | null, scopedVars?: ScopedVars): DataSourceInstanceSettings | undefined {
  let key = nameOrUid(ref);
  if (key && key.startsWith('$')) {
    key = getTemplateSrv().replace(key, scopedVars);
  }
  const all = Object.values(settings);
  if (!key || key === 'default') {
    const type = typeof ref === 'object' ? ref?.type : undefined;
    return (
      (type && all.find((s) => s.type === type && s.isDefault)) ||
      (type && all.find((s) => s.type === type)) ||
      settings[defaultName]
    );
  }
  return all.find((s) => s.uid === key) ?? settings[key];
}

export const dataSourceSrv: DataSourceSrv = {
  async get(ref, scopedVars): Promise<DataSourceApi> {
    const s = lookup(ref, scopedVars);
    if (!s) {
      throw new Error(`Datasource ${nameOrUid(ref)} was not found`);
    }
    return getDataSourceInstance({ uid: s.uid, type: s.type });
  },
  getList(filters: GetDataSourceListFilters = {}) {
    return Object.values(settings).filter((s) => {
      if (filters.pluginId && s.meta.id !== filters.pluginId) {
        return false;
      }
      if (filters.type && (Array.isArray(filters.type) ? !filters.type.includes(s.type) : s.type !== filters.type)) {
        return false;
      }
      if (filters.metrics && !s.meta.metrics) {
        return false;
      }
      return !filters.filter || filters.filter(s);
    });
  },
  getInstanceSettings: (ref, scopedVars) => lookup(ref, scopedVars),
  reload: reloadDataSources,
  registerRuntimeDataSource() {
    throw new Error('runtime data sources are not supported by the Netlens preview host');
  },
} as DataSourceSrv;
