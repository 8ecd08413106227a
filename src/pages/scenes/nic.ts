import {
  behaviors,
  EmbeddedScene,
  PanelBuilders,
  SceneDataTransformer,
  SceneFlexItem,
  SceneFlexLayout,
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
import { onlyTargets } from './frames';

export const NIC_TITLES = {
  nic: 'NIC receive pressure: Rx cache full and buffer exhausted',
  interfaces: 'Interface drops and errors',
  drops: 'Node drop rate',
};

export const NIC_QUERY: NetlensQuery = {
  refId: 'nic',
  queryType: 'nic',
  groupBy: ['node', 'interface'],
  filters: filtersFrom('node', 'interface'),
  rate: true,
};

export const INTERFACES_QUERY: NetlensQuery = {
  refId: 'interfaces',
  queryType: 'interfaces',
  groupBy: ['node', 'interface'],
  filters: filtersFrom('node', 'interface'),
  value: 'packets',
  rate: true,
};

export const NODE_DROPS_QUERY: NetlensQuery = {
  refId: 'drops',
  queryType: 'drops',
  groupBy: ['node'],
  filters: filtersFrom('node'),
  value: 'packets',
  rate: true,
  legendFormat: '{{node}}',
};

/** Targets of the nic and interfaces queries each panel shows. */
export const NIC_TARGETS = ['rx_cache_full', 'rx_buffer_exhausted'];
export const INTERFACE_TARGETS = ['dropped', 'errors'];

/**
 * NIC receive pressure per node and interface, the interfaces' drops and
 * errors and the node drop rate, stacked on one time axis with a shared
 * crosshair, so a burst of Rx cache full lines up with the drops it causes.
 */
export function buildNicScene() {
  return new EmbeddedScene({
    $timeRange: defaultTimeRange(),
    $variables: variableSet(
      dataSourceVariable(),
      labelVariable('node', 'Node', 'node'),
      labelVariable('interface', 'Interface', 'interface?node=$node')
    ),
    $behaviors: [new behaviors.CursorSync({ sync: DashboardCursorSync.Crosshair })],
    controls: controls(),
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({
          minHeight: 280,
          body: PanelBuilders.timeseries()
            .setTitle(NIC_TITLES.nic)
            .setDescription('Per node and interface: receive events the NIC could not place in its Rx cache or buffers')
            .setData(
              new SceneDataTransformer({ $data: queryRunner([NIC_QUERY]), transformations: [onlyTargets(NIC_TARGETS)] })
            )
            .setUnit('cps')
            .build(),
        }),
        new SceneFlexItem({
          minHeight: 280,
          body: PanelBuilders.timeseries()
            .setTitle(NIC_TITLES.interfaces)
            .setDescription('Per node and interface: packets dropped and errors, by direction')
            .setData(
              new SceneDataTransformer({
                $data: queryRunner([INTERFACES_QUERY]),
                transformations: [onlyTargets(INTERFACE_TARGETS)],
              })
            )
            .setUnit('pps')
            .build(),
        }),
        new SceneFlexItem({
          minHeight: 280,
          body: PanelBuilders.timeseries()
            .setTitle(NIC_TITLES.drops)
            .setDescription('Kernel packet drops per second, per node')
            .setData(queryRunner([NODE_DROPS_QUERY]))
            .setUnit('pps')
            .build(),
        }),
      ],
    }),
  });
}
