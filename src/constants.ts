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

/** The dashboards the app includes (src/plugin.json) and provisioning/ provisions, by uid. */
export const DASHBOARDS = [
  { title: 'Netlens / Drops', url: '/d/netlens-drops' },
  { title: 'Netlens / NIC receive pressure', url: '/d/netlens-nic' },
  { title: 'Netlens / Cluster overview', url: '/d/netlens-overview' },
];

export function prefixRoute(route: string): string {
  return `${PLUGIN_BASE_URL}/${route}`;
}
