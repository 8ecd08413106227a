import {
  behaviors,
  DataProviderProxy,
  EmbeddedScene,
  PanelBuilders,
  SceneDataTransformer,
  SceneFlexItem,
  SceneFlexLayout,
} from '@grafana/scenes';
import { BigValueGraphMode, DashboardCursorSync } from '@grafana/schema';

import type { NetlensQuery } from '../../datasource/types';
import { AgentHealthScene } from './AgentHealthScene';
import { controls, dataSourceVariable, defaultTimeRange, queryRunner, variableSet } from './common';
import { onlyTargets } from './frames';
import { NIC_TARGETS } from './nic';
import { NODES_QUERY } from './nodes';
import { ReasonsExplainedScene } from './ReasonsExplainedScene';
import { rankingTable } from './tables';

export const OVERVIEW_TITLES = {
  health: 'Agents',
  total: 'Packet drops per second',
  nicTotal: 'NIC receive pressure per second',
  byReason: 'Cluster drop rate by reason',
  namespaces: 'Top namespaces by drops',
  pods: 'Top pods by drops',
  nodes: 'Top nodes by drops',
  nic: 'NIC receive pressure per node',
  reasons: 'Why packets are dropped',
};

const rate = { value: 'packets', rate: true } as const;

export const OVERVIEW_QUERIES = {
  total: { refId: 'total', queryType: 'drops', groupBy: [], legendFormat: 'drops', ...rate },
  byReason: { refId: 'byReason', queryType: 'drops', groupBy: ['reason'], legendFormat: '{{reason}}', ...rate },
  namespaces: { refId: 'namespaces', queryType: 'podDrops', groupBy: ['namespace'], ...rate },
  pods: { refId: 'pods', queryType: 'podDrops', groupBy: ['namespace', 'pod'], ...rate },
  nodes: { refId: 'nodes', queryType: 'drops', groupBy: ['node'], ...rate },
  nicTotal: { refId: 'nicTotal', queryType: 'nic', groupBy: [], rate: true },
  nic: { refId: 'nic', queryType: 'nic', groupBy: ['node'], rate: true },
} satisfies Record<string, NetlensQuery>;

function item(body: SceneFlexItem['state']['body'], minHeight: number, extra: Partial<SceneFlexItem['state']> = {}) {
  return new SceneFlexItem({ body, minHeight, ...extra });
}

/**
 * The cluster at a glance: how many agents report and whether they are
 * healthy, the drop and NIC pressure rates, what is dropping by reason, the
 * namespaces, pods and nodes losing the most (each row drilling down into the
 * Drops page), NIC pressure per node and the reasons explained.
 */
export function buildOverviewScene() {
  const byReason = queryRunner([OVERVIEW_QUERIES.byReason]);
  return new EmbeddedScene({
    $timeRange: defaultTimeRange(),
    $variables: variableSet(dataSourceVariable()),
    $behaviors: [new behaviors.CursorSync({ sync: DashboardCursorSync.Crosshair })],
    controls: controls(),
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexLayout({
          direction: 'row',
          wrap: 'wrap',
          children: [
            item(new AgentHealthScene({ title: OVERVIEW_TITLES.health, $data: queryRunner([NODES_QUERY]) }), 160, {
              minWidth: 300,
            }),
            item(
              PanelBuilders.stat()
                .setTitle(OVERVIEW_TITLES.total)
                .setDescription(
                  'Kernel packet drops per second over all nodes, latest value and trend. Open Drops to see where.'
                )
                .setData(queryRunner([OVERVIEW_QUERIES.total]))
                .setUnit('pps')
                .setOption('graphMode', BigValueGraphMode.Area)
                .build(),
              160,
              { minWidth: 250 }
            ),
            item(
              PanelBuilders.stat()
                .setTitle(OVERVIEW_TITLES.nicTotal)
                .setDescription(
                  'NIC receive events per second that found the Rx cache full or no receive buffer, over all nodes. Not zero: open NIC.'
                )
                .setData(
                  new SceneDataTransformer({
                    $data: queryRunner([OVERVIEW_QUERIES.nicTotal]),
                    transformations: [onlyTargets(NIC_TARGETS)],
                  })
                )
                .setUnit('cps')
                .setOption('graphMode', BigValueGraphMode.Area)
                .build(),
              160,
              { minWidth: 250 }
            ),
          ],
        }),
        item(
          PanelBuilders.timeseries()
            .setTitle(OVERVIEW_TITLES.byReason)
            .setDescription(
              "Kernel packet drops per second over all nodes, by the kernel's drop reason. The reasons are explained below."
            )
            .setData(byReason)
            .setUnit('pps')
            .setCustomFieldConfig('fillOpacity', 10)
            .build(),
          280
        ),
        new SceneFlexLayout({
          direction: 'row',
          wrap: 'wrap',
          children: [
            item(
              rankingTable({
                title: OVERVIEW_TITLES.namespaces,
                description:
                  'Namespaces whose pods lose the most packets: packets dropped over the time range, mean and peak drops per second',
                query: OVERVIEW_QUERIES.namespaces,
                unit: 'pps',
                drillDown: [{ label: 'namespace' }],
              }),
              300,
              { minWidth: 300 }
            ),
            item(
              rankingTable({
                title: OVERVIEW_TITLES.pods,
                description:
                  'Pods that lose the most packets: packets dropped over the time range, mean and peak drops per second',
                query: OVERVIEW_QUERIES.pods,
                unit: 'pps',
                drillDown: [{ label: 'pod', with: ['namespace'] }, { label: 'namespace' }],
              }),
              300,
              { minWidth: 300 }
            ),
            item(
              rankingTable({
                title: OVERVIEW_TITLES.nodes,
                description:
                  'Nodes that drop the most packets (all reasons, pods or not): packets dropped over the time range, mean and peak per second',
                query: OVERVIEW_QUERIES.nodes,
                unit: 'pps',
                drillDown: [{ label: 'node' }],
              }),
              300,
              { minWidth: 300 }
            ),
          ],
        }),
        item(
          PanelBuilders.timeseries()
            .setTitle(OVERVIEW_TITLES.nic)
            .setDescription(
              'Per node: receive events the NIC could not place in its Rx cache or buffers. Lines up with the drop rate above; open NIC for interfaces and queues.'
            )
            .setData(
              new SceneDataTransformer({
                $data: queryRunner([OVERVIEW_QUERIES.nic]),
                transformations: [onlyTargets(NIC_TARGETS)],
              })
            )
            .setUnit('cps')
            .build(),
          260
        ),
        item(
          new ReasonsExplainedScene({
            title: OVERVIEW_TITLES.reasons,
            unit: 'pps',
            $data: new DataProviderProxy({ source: byReason.getRef() }),
          }),
          200
        ),
      ],
    }),
  });
}
