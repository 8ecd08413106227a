import './intersectionObserver.mock';
import { createDataFrame, FieldType } from '@grafana/data';
import {
  DataProviderProxy,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  sceneGraph,
  SceneRefreshPicker,
  SceneTimePicker,
  VariableValueSelectors,
  VizPanel,
} from '@grafana/scenes';

import { runnerOf } from './common';
import { buildDropsScene, DROPS_TITLES } from './drops';
import { framesOfTargets } from './frames';
import { buildNicScene, NIC_TITLES } from './nic';
import { buildNodesScene, NODES_TITLE } from './nodes';
import { ReasonsExplainedScene } from './ReasonsExplainedScene';

const DS = { type: 'netlens-network-datasource', uid: '${ds}' };

function variablesOf(scene: EmbeddedScene) {
  return scene.state.$variables!.state.variables;
}

function panelsOf(scene: EmbeddedScene) {
  return sceneGraph.findAllObjects(scene, (o) => o instanceof VizPanel) as VizPanel[];
}

function queriesOf(panel: VizPanel) {
  const runner = runnerOf(panel.state.$data);
  expect(runner).toBeDefined();
  expect(runner!.state.datasource).toEqual(DS);
  return runner!.state.queries;
}

function expectControls(scene: EmbeddedScene) {
  const controls = scene.state.controls ?? [];
  expect(controls.some((c) => c instanceof VariableValueSelectors)).toBe(true);
  expect(controls.some((c) => c instanceof SceneTimePicker)).toBe(true);
  expect(controls.some((c) => c instanceof SceneRefreshPicker)).toBe(true);
}

function expectUrlSync(scene: EmbeddedScene, variables: string[]) {
  const keys = sceneGraph.findAllObjects(scene, () => true).flatMap((o) => o.urlSync?.getKeys() ?? []);
  expect(keys).toEqual(expect.arrayContaining(['from', 'to', ...variables.map((v) => `var-${v}`)]));
}

function expectDataSourceVariable(v: unknown) {
  expect(v).toBeInstanceOf(DataSourceVariable);
  expect((v as DataSourceVariable).state).toMatchObject({ name: 'ds', pluginId: 'netlens-network-datasource' });
}

function expectQueryVariable(v: unknown, name: string, query: string) {
  expect(v).toBeInstanceOf(QueryVariable);
  const state = (v as QueryVariable).state;
  expect(state.name).toBe(name);
  expect(state.datasource).toEqual(DS);
  expect(state.query).toMatchObject({ query });
  expect(state).toMatchObject({ isMulti: true, includeAll: true });
}

const FILTERS = { node: ['$node'], namespace: ['$namespace'], pod: ['$pod'], reason: ['$reason'] };

describe('Drops scene', () => {
  it('has the data source, node, namespace, pod and reason variables, synced to the URL', () => {
    const scene = buildDropsScene();
    const [ds, node, namespace, pod, reason, ...rest] = variablesOf(scene);
    expectDataSourceVariable(ds);
    expectQueryVariable(node, 'node', 'node');
    expectQueryVariable(namespace, 'namespace', 'namespace');
    expectQueryVariable(pod, 'pod', 'pod?namespace=$namespace');
    expectQueryVariable(reason, 'reason', 'reason');
    expect(rest).toEqual([]);
    expectControls(scene);
    expectUrlSync(scene, ['ds', 'node', 'namespace', 'pod', 'reason']);
  });

  it('queries the drop rate by reason and the pod drops, filtered by the variables', () => {
    const panels = panelsOf(buildDropsScene());
    expect(panels.map((p) => p.state.title)).toEqual([DROPS_TITLES.byReason, DROPS_TITLES.podDrops]);
    expect(panels.map((p) => p.state.pluginId)).toEqual(['timeseries', 'timeseries']);
    expect(queriesOf(panels[0])).toEqual([
      {
        refId: 'drops',
        queryType: 'drops',
        groupBy: ['reason'],
        filters: FILTERS,
        value: 'packets',
        rate: true,
        legendFormat: '{{reason}}',
      },
    ]);
    expect(queriesOf(panels[1])).toEqual([
      {
        refId: 'podDrops',
        queryType: 'podDrops',
        groupBy: ['namespace', 'pod'],
        filters: FILTERS,
        value: 'packets',
        rate: true,
        legendFormat: '{{namespace}}/{{pod}}',
      },
    ]);
  });

  it("explains the reasons from the drop rate panel's data", () => {
    const scene = buildDropsScene();
    const reasons = sceneGraph.findObject(scene, (o) => o instanceof ReasonsExplainedScene) as ReasonsExplainedScene;
    expect(reasons.state.title).toBe(DROPS_TITLES.reasons);
    const proxy = reasons.state.$data as DataProviderProxy;
    expect(proxy).toBeInstanceOf(DataProviderProxy);
    expect(proxy.state.source.resolve()).toBe(runnerOf(panelsOf(scene)[0].state.$data));
  });
});

describe('NIC scene', () => {
  it('has the data source, node and interface variables', () => {
    const scene = buildNicScene();
    const [ds, node, iface, ...rest] = variablesOf(scene);
    expectDataSourceVariable(ds);
    expectQueryVariable(node, 'node', 'node');
    expectQueryVariable(iface, 'interface', 'interface?node=$node');
    expect(rest).toEqual([]);
    expectControls(scene);
    expectUrlSync(scene, ['ds', 'node', 'interface']);
  });

  it('stacks NIC pressure, interface drops and errors and the node drop rate', () => {
    const panels = panelsOf(buildNicScene());
    expect(panels.map((p) => p.state.title)).toEqual([NIC_TITLES.nic, NIC_TITLES.interfaces, NIC_TITLES.drops]);
    const filters = { node: ['$node'], interface: ['$interface'] };
    expect(queriesOf(panels[0])).toEqual([
      { refId: 'nic', queryType: 'nic', groupBy: ['node', 'interface'], filters, rate: true },
    ]);
    expect(queriesOf(panels[1])).toEqual([
      {
        refId: 'interfaces',
        queryType: 'interfaces',
        groupBy: ['node', 'interface'],
        filters,
        value: 'packets',
        rate: true,
      },
    ]);
    expect(queriesOf(panels[2])).toEqual([
      {
        refId: 'drops',
        queryType: 'drops',
        groupBy: ['node'],
        filters: { node: ['$node'] },
        value: 'packets',
        rate: true,
        legendFormat: '{{node}}',
      },
    ]);
  });
});

describe('Nodes scene', () => {
  it('shows a table of the nodes query', () => {
    const scene = buildNodesScene();
    const [ds, ...rest] = variablesOf(scene);
    expectDataSourceVariable(ds);
    expect(rest).toEqual([]);
    const panels = panelsOf(scene);
    expect(panels.map((p) => [p.state.title, p.state.pluginId])).toEqual([[NODES_TITLE, 'table']]);
    expect(queriesOf(panels[0])).toEqual([{ refId: 'nodes', queryType: 'nodes' }]);
  });
});

describe('framesOfTargets', () => {
  const series = (name: string) =>
    createDataFrame({
      name,
      fields: [
        { name: 'Time', type: FieldType.time, values: [1] },
        { name: 'Value', type: FieldType.number, values: [1], config: { displayNameFromDS: name } },
      ],
    });

  it("keeps the frames of the given targets, named by the target's key", () => {
    const frames = [
      'rx_cache_full n1 eth0',
      'rx_buffer_exhausted n1 eth0',
      'nic_stat n1 eth0 rx_dropped',
      'rx_cache_fullish',
    ];
    expect(framesOfTargets(frames.map(series), ['rx_cache_full', 'rx_buffer_exhausted']).map((f) => f.name)).toEqual(
      frames.slice(0, 2)
    );
  });
});
