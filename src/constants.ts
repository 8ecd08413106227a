import pluginJson from './plugin.json';
import dsPluginJson from './datasource/plugin.json';

export const PLUGIN_ID = pluginJson.id;
export const DATASOURCE_PLUGIN_ID = dsPluginJson.id;
export const PLUGIN_BASE_URL = `/a/${pluginJson.id}`;

export enum ROUTES {
  Overview = 'overview',
  Drops = 'drops',
  Nic = 'nic',
  Nodes = 'nodes',
}

export const DASHBOARD_URLS = {
  drops: '/d/netlens-drops',
};

export function prefixRoute(route: string): string {
  return `${PLUGIN_BASE_URL}/${route}`;
}
