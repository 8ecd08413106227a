// /d/:uid: a dashboard the app includes, opened as Grafana opens a saved
// dashboard: its JSON from /api/dashboards/uid/<uid>, its variables, time
// range and panels as a scene of @grafana/scenes (the library Grafana's own
// dashboards run on), panels placed by gridPos. Grafana's conversion of a
// dashboard into a scene is Grafana's code, not on npm; this one covers what
// Netlens's dashboards use: data source, custom and query variables, and
// panels with targets, transformations, field config and options. Rows,
// annotations and dashboard links are not drawn.
import {
  CustomVariable,
  DataSourceVariable,
  EmbeddedScene,
  QueryVariable,
  SceneControlsSpacer,
  SceneDataTransformer,
  SceneGridItem,
  SceneGridLayout,
  SceneQueryRunner,
  SceneRefreshPicker,
  SceneTimePicker,
  SceneTimeRange,
  SceneVariableSet,
  UrlSyncContextProvider,
  VariableValueSelectors,
  VizPanel,
  type SceneVariable,
} from '@grafana/scenes';
import { getBackendSrv } from '@grafana/runtime';
import React, { useEffect, useState } from 'react';
import { useParams } from 'react-router';

function variable(v: any): SceneVariable | undefined {
  const common = {
    name: v.name,
    label: v.label,
    description: v.description,
    value: v.current?.value,
    text: v.current?.text,
    isMulti: v.multi,
    includeAll: v.includeAll,
    allValue: v.allValue,
    // A saved "All" stays All even while the options are empty (a custom
    // variable with no values, say), as Grafana keeps it.
    defaultToAll: Boolean(v.includeAll) && [v.current?.value].flat().includes('$__all'),
  };
  switch (v.type) {
    case 'datasource':
      return new DataSourceVariable({ ...common, pluginId: v.query, regex: v.regex });
    case 'custom':
      return new CustomVariable({ ...common, query: v.query ?? '', allowCustomValue: v.allowCustomValue });
    case 'query':
      return new QueryVariable({
        ...common,
        datasource: v.datasource,
        query: v.query,
        regex: v.regex,
        refresh: v.refresh,
        sort: v.sort,
        definition: v.definition,
      });
    default:
      return undefined;
  }
}

function panel(p: any): SceneGridItem {
  const runner = new SceneQueryRunner({
    datasource: p.datasource,
    queries: p.targets ?? [],
    maxDataPoints: p.maxDataPoints,
  });
  const data = p.transformations?.length
    ? new SceneDataTransformer({ $data: runner, transformations: p.transformations })
    : runner;
  const { x = 0, y = 0, w = 12, h = 8 } = p.gridPos ?? {};
  return new SceneGridItem({
    x,
    y,
    width: w,
    height: h,
    isDraggable: false,
    isResizable: false,
    body: new VizPanel({
      title: p.title,
      description: p.description,
      pluginId: p.type,
      options: p.options ?? {},
      fieldConfig: p.fieldConfig ?? { defaults: {}, overrides: [] },
      $data: data,
    }),
  });
}

export function dashboardScene(d: any): EmbeddedScene {
  const variables = (d.templating?.list ?? []).map(variable).filter(Boolean) as SceneVariable[];
  return new EmbeddedScene({
    $timeRange: new SceneTimeRange({ from: d.time?.from ?? 'now-6h', to: d.time?.to ?? 'now' }),
    $variables: new SceneVariableSet({ variables }),
    controls: [
      new VariableValueSelectors({}),
      new SceneControlsSpacer(),
      new SceneTimePicker({}),
      new SceneRefreshPicker({ refresh: d.refresh || '' }),
    ],
    body: new SceneGridLayout({
      isDraggable: false,
      isResizable: false,
      children: (d.panels ?? []).filter((p: any) => p.type !== 'row').map(panel),
    }),
  });
}

export function Dashboard() {
  const { uid = '' } = useParams();
  const [state, setState] = useState<{ title: string; scene: EmbeddedScene } | Error>();
  useEffect(() => {
    getBackendSrv()
      .get(`/api/dashboards/uid/${encodeURIComponent(uid)}`)
      .then(
        (r: any) => setState({ title: r.dashboard.title, scene: dashboardScene(r.dashboard) }),
        (e: any) => setState(new Error(e?.data?.message ?? e?.message ?? String(e)))
      );
  }, [uid]);
  if (state instanceof Error) {
    return <div role="alert">{state.message}</div>;
  }
  if (!state) {
    return <div>Loading dashboard {uid}</div>;
  }
  return (
    <main>
      <h1>{state.title}</h1>
      <UrlSyncContextProvider scene={state.scene} updateUrlOnInit={true} createBrowserHistorySteps={true}>
        <state.scene.Component model={state.scene} />
      </UrlSyncContextProvider>
    </main>
  );
}
