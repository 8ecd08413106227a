import {
  DataProviderProxy,
  EmbeddedScene,
  PanelBuilders,
  SceneFlexItem,
  SceneFlexLayout,
  behaviors,
} from '@grafana/scenes';
import { DashboardCursorSync } from '@grafana/schema';

import type { NetlensQuery } from '../../datasource/types';
import {
  controls,
  dataSourceVariable,
  defaultTimeRange,
  filtersFrom,
  labelVariable,
  queryRunner,
  variableSet,
} from './common';
import { ReasonsExplainedScene } from './ReasonsExplainedScene';

export const DROPS_TITLES = {
  byReason: 'Drop rate by reason',
  podDrops: 'Pod drops by namespace and pod',
  reasons: 'Drop reasons explained',
};

export const DROPS_BY_REASON_QUERY: NetlensQuery = {
  refId: 'drops',
  queryType: 'drops',
  groupBy: ['reason'],
  filters: filtersFrom('node', 'namespace', 'pod', 'reason'),
  value: 'packets',
  rate: true,
  legendFormat: '{{reason}}',
};

export const POD_DROPS_QUERY: NetlensQuery = {
  refId: 'podDrops',
  queryType: 'podDrops',
  groupBy: ['namespace', 'pod'],
  filters: filtersFrom('node', 'namespace', 'pod', 'reason'),
  value: 'packets',
  rate: true,
  legendFormat: '{{namespace}}/{{pod}}',
};

/**
 * The drops explorer: the node, namespace, pod and reason variables filter the
 * drop rate by reason, the pod drops and the explained reasons (which read the
 * drop rate panel's data, so the query runs once).
 */
export function buildDropsScene() {
  const byReason = queryRunner([DROPS_BY_REASON_QUERY]);
  return new EmbeddedScene({
    $timeRange: defaultTimeRange(),
    $variables: variableSet(
      dataSourceVariable(),
      labelVariable('node', 'Node', 'node'),
      labelVariable('namespace', 'Namespace', 'namespace'),
      labelVariable('pod', 'Pod', 'pod?namespace=$namespace'),
      labelVariable('reason', 'Reason', 'reason')
    ),
    $behaviors: [new behaviors.CursorSync({ sync: DashboardCursorSync.Crosshair })],
    controls: controls(),
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({
          minHeight: 320,
          body: PanelBuilders.timeseries()
            .setTitle(DROPS_TITLES.byReason)
            .setDescription('Kernel packet drops per second on the selected nodes, by drop reason')
            .setData(byReason)
            .setUnit('pps')
            .setCustomFieldConfig('fillOpacity', 10)
            .build(),
        }),
        new SceneFlexItem({
          minHeight: 320,
          body: PanelBuilders.timeseries()
            .setTitle(DROPS_TITLES.podDrops)
            .setDescription('Drops attributed to pods, per second, by namespace and pod')
            .setData(queryRunner([POD_DROPS_QUERY]))
            .setUnit('pps')
            .build(),
        }),
        new SceneFlexItem({
          minHeight: 200,
          body: new ReasonsExplainedScene({
            title: DROPS_TITLES.reasons,
            unit: 'pps',
            $data: new DataProviderProxy({ source: byReason.getRef() }),
          }),
        }),
      ],
    }),
  });
}
