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
import { LiveEventsScene } from './LiveEventsScene';
import { ReasonsExplainedScene } from './ReasonsExplainedScene';
import { rankingTable } from './tables';

export const DROPS_TITLES = {
  byReason: 'Drop rate by reason',
  podDrops: 'Pod drops by namespace and pod',
  reasons: 'Drop reasons explained',
  table: 'Top pods by drops, per reason',
  events: 'Live drop events',
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

export const POD_REASON_DROPS_QUERY: NetlensQuery = {
  refId: 'podReasonDrops',
  queryType: 'podDrops',
  groupBy: ['namespace', 'pod', 'direction', 'reason'],
  filters: filtersFrom('node', 'namespace', 'pod', 'reason'),
  value: 'packets',
  rate: true,
};

/** Sampled drop events of the selected nodes, pods and reasons: a replay, then live (direct mode). */
export const EVENTS_QUERY: NetlensQuery = {
  refId: 'events',
  queryType: 'events',
  filters: filtersFrom('node', 'namespace', 'pod', 'reason'),
};

/**
 * The drops explorer: the node, namespace, pod and reason variables filter the
 * drop rate by reason, the pod drops, a ranking of pods and reasons, the
 * explained reasons (which read the drop rate panel's data, so the query runs
 * once) and, in direct mode, the live event tail.
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
          minHeight: 320,
          body: rankingTable({
            title: DROPS_TITLES.table,
            description:
              'The pods losing the most packets over the time range, by direction and reason: packets dropped, mean and peak drops per second. Open a pod to filter this page by it.',
            query: POD_REASON_DROPS_QUERY,
            unit: 'pps',
            limit: 20,
            drillDown: [{ label: 'pod', with: ['namespace'] }, { label: 'namespace' }],
          }),
        }),
        new SceneFlexItem({
          minHeight: 200,
          body: new ReasonsExplainedScene({
            title: DROPS_TITLES.reasons,
            unit: 'pps',
            $data: new DataProviderProxy({ source: byReason.getRef() }),
          }),
        }),
        new SceneFlexItem({
          minHeight: 320,
          body: new LiveEventsScene({
            panel: PanelBuilders.table()
              .setTitle(DROPS_TITLES.events)
              .setDescription(
                'Sampled drop events from the agents, newest last: the recent ones first, then live as they happen'
              )
              .setData(queryRunner([EVENTS_QUERY]))
              .build(),
          }),
        }),
      ],
    }),
  });
}
