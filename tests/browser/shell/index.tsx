// The browser shell: boots the real @grafana/* packages the way Grafana's
// frontend does, sets the runtime services the plugin uses, and opens the
// built plugin's modules through SystemJS. window.grafanaBootData is set by
// the host's page before this bundle runs (config reads it on import).
import { AppEvents, AppPlugin } from '@grafana/data';
import {
  config,
  locationService,
  LocationServiceProvider,
  setAppEvents,
  setBackendSrv,
  setDataSourceSrv,
  setEchoSrv,
  setGrafanaLiveSrv,
  setPluginImportUtils,
  setRunRequest,
  setTemplateSrv,
} from '@grafana/runtime';
import { sceneGraph } from '@grafana/scenes';
import { GlobalStyles, ThemeContext } from '@grafana/ui';
import { initializeI18n } from 'grafana-i18n-internal';
import { setPluginPage } from 'grafana-runtime-internal/components/PluginPage.mjs';
import React, { useEffect, useLayoutEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { Route, Router, Routes, useParams } from 'react-router';
import { Subject } from 'rxjs';

import { backendSrv } from './backend';
import { dataSourceSrv, initDataSources } from './datasources';
import { Dashboard } from './dashboard';
import { DataSourceEdit, Explore, VariableEdit } from './editors';
import { liveSrv } from './live';
import { pluginImportUtils } from './panels';
import { runRequest } from './runRequest';
import { registerFieldConfig, registerOptionEditors } from './fieldConfig';
import { importPlugin, registerShared } from './systemjs';
import { registerTransformers } from './transformers';

// The template service hands scene variables to the scene that asks (or the
// active scene, which scenes records on window), as Grafana's does.
const templateSrv = {
  getVariables: () => [],
  containsTemplate: (t?: string) => !!t && /\$/.test(t),
  updateTimeRange: () => {},
  replace(target?: string, scopedVars?: any, format?: any) {
    if (!target) {
      return target ?? '';
    }
    // Scenes wrap the object (SafeSerializableSceneObject); valueOf unwraps it.
    const wrapped = scopedVars?.__sceneObject?.value;
    const scene = wrapped?.valueOf?.() ?? (window as any).__grafanaSceneContext;
    return scene ? sceneGraph.interpolate(scene, target, scopedVars, format) : target;
  },
};

const events = new Subject<{ type: string; payload?: unknown }>();
const appEvents = {
  publish: (e: { type: string; payload?: unknown }) => events.next(e),
  subscribe: (type: any, handler: (e: any) => void) =>
    events.subscribe((e) => e.type === (type.type ?? type) && handler(e)),
  getStream: () => events.asObservable(),
  emit: (type: any, payload: unknown) => events.next({ type: type.name ?? type, payload }),
};

function Page({ title, children }: { title?: string; children?: React.ReactNode; pageNav?: { text?: string } }) {
  return (
    <main>
      {title && <h1>{title}</h1>}
      {children}
    </main>
  );
}

function Banner() {
  return (
    <div role="note" style={{ padding: 8, borderBottom: `1px solid ${config.theme2.colors.border.weak}` }}>
      Netlens preview host: the built plugin in a test shell of Netlens&apos;s own. This is not Grafana.
    </div>
  );
}

// useAppPlugin loads an app plugin with its settings, as Grafana's app
// routes do; init runs the plugin's init hook (the app's pages, not its
// configuration page).
function useAppPlugin(pluginId: string, init: boolean) {
  const [state, setState] = useState<{ plugin: AppPlugin; meta: any } | Error>();
  useEffect(() => {
    (async () => {
      const meta = (await backendSrv.get(`/api/plugins/${pluginId}/settings`)) as any;
      const plugin = (await importPlugin(meta.module)).plugin as AppPlugin;
      plugin.meta = meta;
      if (init) {
        plugin.init?.(meta);
      }
      setState({ plugin, meta });
    })().catch((e) => setState(e instanceof Error ? e : new Error(String(e))));
  }, [pluginId, init]);
  return state;
}

function AppRoot() {
  const { pluginId = '' } = useParams();
  const app = useAppPlugin(pluginId, true);
  if (app instanceof Error) {
    return <div role="alert">{app.message}</div>;
  }
  if (!app?.plugin.root) {
    return <div>Loading {pluginId}</div>;
  }
  const Root = app.plugin.root;
  return (
    <Root meta={app.meta} basename={`/a/${pluginId}`} query={{}} path={`/a/${pluginId}`} onNavChanged={() => {}} />
  );
}

function AppConfig() {
  const { pluginId = '' } = useParams();
  const state = useAppPlugin(pluginId, false);
  if (state instanceof Error) {
    return <div role="alert">{state.message}</div>;
  }
  if (!state) {
    return <div>Loading {pluginId}</div>;
  }
  return (
    <Page title={state.meta.name}>
      {(state.plugin.configPages ?? []).map((p) => (
        <section key={p.id} aria-label={p.title}>
          <p.body plugin={state.plugin} query={{}} />
        </section>
      ))}
    </Page>
  );
}

// The router follows locationService's history, as Grafana's does: a
// link or a scene moving within the app re-renders the routes.
function useHistoryLocation() {
  const history = locationService.getHistory();
  const [location, setLocation] = useState(history.location);
  useLayoutEffect(
    // history v4 passes the location, v5 an update holding it.
    () => history.listen((update: any) => setLocation(update.location ?? update)),
    [history]
  );
  return location;
}

function Shell() {
  const location = useHistoryLocation();
  return (
    <ThemeContext.Provider value={config.theme2}>
      <GlobalStyles />
      <LocationServiceProvider service={locationService}>
        <Router location={location} navigator={locationService.getHistory() as any}>
          <Banner />
          <Routes>
            <Route path="/a/:pluginId/*" element={<AppRoot />} />
            <Route path="/plugins/:pluginId" element={<AppConfig />} />
            <Route path="/connections/datasources/edit/:uid" element={<DataSourceEdit />} />
            <Route path="/explore" element={<Explore />} />
            <Route path="/d/:uid/*" element={<Dashboard />} />
            <Route path="/variables" element={<VariableEdit />} />
            <Route path="*" element={<Page title="Netlens preview host" />} />
          </Routes>
        </Router>
      </LocationServiceProvider>
    </ThemeContext.Provider>
  );
}

// start runs once SystemJS is loaded (the page loads it after this bundle:
// its AMD extra would otherwise capture the shell's own UMD dependencies).
(window as any).__netlensShellStart = async () => {
  await initializeI18n({ language: 'en-US' });
  registerShared();
  registerTransformers();
  registerFieldConfig();
  registerOptionEditors();
  setBackendSrv(backendSrv);
  setTemplateSrv(templateSrv as any);
  initDataSources();
  setDataSourceSrv(dataSourceSrv);
  setAppEvents(appEvents as any);
  setEchoSrv({ addBackend: () => {}, addEvent: () => {}, logDebug: () => {}, isProfilingEnabled: () => false } as any);
  setRunRequest(runRequest);
  setGrafanaLiveSrv(liveSrv);
  setPluginImportUtils(pluginImportUtils as any);
  setPluginPage(Page as any);
  events.subscribe((e) => {
    if (e.type === AppEvents.alertError.name) {
      console.warn('alert', e.payload);
    }
  });
  createRoot(document.getElementById('reactRoot')!).render(<Shell />);
};
