import './intersectionObserver.mock';
import { createDataFrame, FieldType } from '@grafana/data';
import {
  DataProviderProxy,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  sceneGraph,
  SceneDataTransformer,
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
import { LiveEventsScene } from './LiveEventsScene';
import { buildOverviewScene, OVERVIEW_QUERIES, OVERVIEW_TITLES } from './overview';
import { ReasonsExplainedScene } from './ReasonsExplainedScene';
import { AgentHealthScene } from './AgentHealthScene';
import { rankingQueries, rankingTransformations } from './tables';

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

/** Transformations with each custom operator (a new closure per scene) as its kind. */
function shape(transformations: unknown[]) {
  return transformations.map((t) => (typeof t === 'function' ? 'custom operator' : t));
}

/** The data links of a panel's field overrides, by the field name they match. */
function linksOf(panel: VizPanel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of panel.state.fieldConfig.overrides) {
    const links = o.properties.find((p) => p.id === 'links')?.value as Array<{ url: string }> | undefined;
    if (links) {
      out[o.matcher.options as string] = links[0].url;
    }
  }
  return out;
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

  it('queries the drop rate by reason, the pod drops, a pod ranking and the events, filtered by the variables', () => {
    const panels = panelsOf(buildDropsScene());
    expect(panels.map((p) => p.state.title)).toEqual([
      DROPS_TITLES.byReason,
      DROPS_TITLES.podDrops,
      DROPS_TITLES.table,
      DROPS_TITLES.events,
    ]);
    expect(panels.map((p) => p.state.pluginId)).toEqual(['timeseries', 'timeseries', 'table', 'table']);
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
    const ranking = {
      queryType: 'podDrops',
      groupBy: ['namespace', 'pod', 'direction', 'reason'],
      filters: FILTERS,
      value: 'packets',
    };
    expect(queriesOf(panels[2])).toEqual([
      { refId: 'podReasonDrops', ...ranking, rate: true },
      { refId: 'podReasonDropsCounter', ...ranking, rate: false },
    ]);
    expect(queriesOf(panels[3])).toEqual([{ refId: 'events', queryType: 'events', filters: FILTERS }]);
  });

  it('ranks pods by their mean drop rate, each pod and namespace linking back to this page filtered by it', () => {
    const table = panelsOf(buildDropsScene())[2];
    const transformer = table.state.$data as SceneDataTransformer;
    expect(shape(transformer.state.transformations)).toEqual(shape(rankingTransformations('podReasonDrops', 20)));
    expect(linksOf(table)).toEqual({
      pod: '/a/netlens-network-app/drops?${ds:queryparam}&var-pod=${__value.raw}&var-namespace=${__data.fields["namespace"]}&${__url_time_range}',
      namespace: '/a/netlens-network-app/drops?${ds:queryparam}&var-namespace=${__value.raw}&${__url_time_range}',
    });
  });

  it('shows the events table only through the live events object, which checks the mode', () => {
    const scene = buildDropsScene();
    const live = sceneGraph.findObject(scene, (o) => o instanceof LiveEventsScene) as LiveEventsScene;
    expect((live.state.panel as VizPanel).state.title).toBe(DROPS_TITLES.events);
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

describe('Overview scene', () => {
  it('has the data source variable, controls and URL sync', () => {
    const scene = buildOverviewScene();
    const [ds, ...rest] = variablesOf(scene);
    expectDataSourceVariable(ds);
    expect(rest).toEqual([]);
    expectControls(scene);
    expectUrlSync(scene, ['ds']);
  });

  it('shows the totals, the drop rate by reason, the top namespaces, pods and nodes and NIC pressure per node', () => {
    const panels = panelsOf(buildOverviewScene());
    expect(panels.map((p) => [p.state.title, p.state.pluginId])).toEqual([
      [OVERVIEW_TITLES.total, 'stat'],
      [OVERVIEW_TITLES.nicTotal, 'stat'],
      [OVERVIEW_TITLES.byReason, 'timeseries'],
      [OVERVIEW_TITLES.namespaces, 'table'],
      [OVERVIEW_TITLES.pods, 'table'],
      [OVERVIEW_TITLES.nodes, 'table'],
      [OVERVIEW_TITLES.nic, 'timeseries'],
    ]);
    const q = OVERVIEW_QUERIES;
    expect(panels.map((p) => queriesOf(p))).toEqual([
      [q.total],
      [q.nicTotal],
      [q.byReason],
      rankingQueries(q.namespaces),
      rankingQueries(q.pods),
      rankingQueries(q.nodes),
      [q.nic],
    ]);
    // Cluster-wide: no filters; drops in packets per second.
    expect(q.byReason).toEqual({
      refId: 'byReason',
      queryType: 'drops',
      groupBy: ['reason'],
      value: 'packets',
      rate: true,
      legendFormat: '{{reason}}',
    });
    expect(q.pods).toEqual({
      refId: 'pods',
      queryType: 'podDrops',
      groupBy: ['namespace', 'pod'],
      value: 'packets',
      rate: true,
    });
    expect(q.nic).toEqual({ refId: 'nic', queryType: 'nic', groupBy: ['node'], rate: true });
  });

  it('lets each ranking row drill down into the Drops page', () => {
    const panels = panelsOf(buildOverviewScene());
    expect(linksOf(panels[3])).toEqual({
      namespace: '/a/netlens-network-app/drops?${ds:queryparam}&var-namespace=${__value.raw}&${__url_time_range}',
    });
    expect(Object.keys(linksOf(panels[4]))).toEqual(['pod', 'namespace']);
    expect(linksOf(panels[5])).toEqual({
      node: '/a/netlens-network-app/drops?${ds:queryparam}&var-node=${__value.raw}&${__url_time_range}',
    });
    for (const [p, refId] of [
      [panels[3], 'namespaces'],
      [panels[4], 'pods'],
      [panels[5], 'nodes'],
    ] as const) {
      expect(shape((p.state.$data as SceneDataTransformer).state.transformations)).toEqual(
        shape(rankingTransformations(refId, 10))
      );
    }
  });

  it("sums up the agents from the nodes query and explains the reasons from the drop rate panel's data", () => {
    const scene = buildOverviewScene();
    const health = sceneGraph.findObject(scene, (o) => o instanceof AgentHealthScene) as AgentHealthScene;
    expect(runnerOf(health.state.$data)!.state.queries).toEqual([{ refId: 'nodes', queryType: 'nodes' }]);
    const reasons = sceneGraph.findObject(scene, (o) => o instanceof ReasonsExplainedScene) as ReasonsExplainedScene;
    const proxy = reasons.state.$data as DataProviderProxy;
    expect(proxy.state.source.resolve()).toBe(runnerOf(panelsOf(scene)[2].state.$data));
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
