import { EmbeddedScene, PanelBuilders, SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';

import type { NetlensQuery } from '../../datasource/types';
import { controls, dataSourceVariable, defaultTimeRange, queryRunner, variableSet } from './common';

export const NODES_TITLE = 'Nodes and their agents';

export const NODES_QUERY: NetlensQuery = { refId: 'nodes', queryType: 'nodes' };

/** The nodes whose agents report, with version, kernel, drop source and collectors down (at the range's end). */
export function buildNodesScene() {
  return new EmbeddedScene({
    $timeRange: defaultTimeRange(),
    $variables: variableSet(dataSourceVariable()),
    controls: controls(),
    body: new SceneFlexLayout({
      direction: 'column',
      children: [
        new SceneFlexItem({
          minHeight: 400,
          body: PanelBuilders.table()
            .setTitle(NODES_TITLE)
            .setDescription('Every node with a Netlens agent: version, kernel, drop source and collectors down')
            .setData(queryRunner([NODES_QUERY]))
            .build(),
        }),
      ],
    }),
  });
}
