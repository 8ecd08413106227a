// The pages where Grafana shows a data source plugin's editors: its settings
// with Save & test, Explore with the query editor, and a query variable's
// editor with the preview of its values. Each runs the plugin's own editor
// and goes through the host's API as Grafana's pages do.
import {
  DataQuery,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  DataSourcePlugin,
  DataSourceSettings,
  LoadingState,
  MetricFindValue,
  PanelData,
  dateTime,
  getDefaultTimeRange,
} from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';
import { Alert, Button, Stack } from '@grafana/ui';
import React, { useCallback, useEffect, useState } from 'react';
import { useLocation, useParams } from 'react-router';
import { lastValueFrom } from 'rxjs';

import { backendSrv } from './backend';
import { reloadDataSources } from './datasources';
import { FramesTable } from './panels';
import { importPlugin } from './systemjs';

function Failure({ error }: { error: unknown }) {
  return (
    <Alert severity="error" title="The preview host could not open this page">
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

/** The data source instance of the `ds` URL parameter, as Explore and the variable editor use it. */
function useDataSource(): DataSourceApi | Error | undefined {
  const uid = new URLSearchParams(useLocation().search).get('ds') ?? undefined;
  const [ds, setDs] = useState<DataSourceApi | Error>();
  useEffect(() => {
    getDataSourceSrv()
      .get(uid)
      .then(setDs, (e) => setDs(e instanceof Error ? e : new Error(String(e))));
  }, [uid]);
  return ds;
}

let requests = 0;

// The editors' time range: the last 15 minutes, as Explore's default.
function last15Minutes() {
  const range = getDefaultTimeRange();
  range.from = dateTime(Date.now() - 15 * 60_000);
  range.to = dateTime(Date.now());
  return range;
}

function request<Q extends DataQuery>(ds: DataSourceApi, targets: Q[], app: string): DataQueryRequest<Q> {
  const range = last15Minutes();
  return {
    requestId: `${app}-${++requests}`,
    app,
    targets: targets.map((t) => ({ ...t, datasource: { uid: ds.uid, type: ds.type } })),
    range,
    rangeRaw: { from: 'now-15m', to: 'now' },
    interval: '15s',
    intervalMs: 15_000,
    maxDataPoints: 500,
    scopedVars: {},
    timezone: 'browser',
    startTime: Date.now(),
  } as DataQueryRequest<Q>;
}

interface TestResult {
  status: string;
  message: string;
}

/** /connections/datasources/edit/:uid: the config editor, and Save & test. */
export function DataSourceEdit() {
  const { uid = '' } = useParams();
  const [settings, setSettings] = useState<DataSourceSettings>();
  const [plugin, setPlugin] = useState<DataSourcePlugin<DataSourceApi>>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<TestResult>();
  const [testing, setTesting] = useState(false);

  useEffect(() => {
    (async () => {
      const s = (await backendSrv.get(`/api/datasources/uid/${uid}`)) as DataSourceSettings;
      const meta = (await backendSrv.get(`/api/plugins/${s.type}/settings`)) as any;
      const p = (await importPlugin(meta.module)).plugin as DataSourcePlugin<DataSourceApi>;
      p.meta = meta;
      setSettings(s);
      setPlugin(p);
    })().catch(setError);
  }, [uid]);

  const saveAndTest = useCallback(async () => {
    if (!settings) {
      return;
    }
    setTesting(true);
    setResult(undefined);
    try {
      const saved = (await backendSrv.put(`/api/datasources/uid/${uid}`, settings)) as {
        datasource: DataSourceSettings;
      };
      setSettings(saved.datasource);
      await reloadDataSources();
      const ds = await getDataSourceSrv().get(uid);
      const r = (await ds.testDatasource()) as TestResult;
      setResult({ status: r.status, message: r.message });
    } catch (e: any) {
      setResult({ status: 'error', message: e?.data?.message ?? e?.message ?? String(e) });
    } finally {
      setTesting(false);
    }
  }, [settings, uid]);

  if (error) {
    return <Failure error={error} />;
  }
  if (!settings || !plugin?.components.ConfigEditor) {
    return <div>Loading data source {uid}</div>;
  }
  const Editor = plugin.components.ConfigEditor;
  return (
    <main>
      <h1>{settings.name}</h1>
      <Editor options={settings} onOptionsChange={setSettings} />
      {result && (
        <div data-testid="datasource-test-result" data-status={result.status}>
          <Alert severity={result.status === 'success' ? 'success' : 'error'} title={result.message} />
        </div>
      )}
      <Button onClick={saveAndTest} disabled={testing}>
        {testing ? 'Testing...' : 'Save & test'}
      </Button>
    </main>
  );
}

/** /explore?ds=<uid>: the query editor, and the result of Run query. */
export function Explore() {
  const ds = useDataSource();
  const [query, setQuery] = useState<DataQuery>();
  const [data, setData] = useState<PanelData>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (ds && !(ds instanceof Error)) {
      setQuery({ refId: 'A', ...(ds.getDefaultQuery?.('explore' as any) ?? {}) });
    }
  }, [ds]);

  // The range the editor is shown with: fixed while the page is open.
  const [range] = useState(last15Minutes);

  const run = useCallback(async () => {
    if (!ds || ds instanceof Error || !query) {
      return;
    }
    setError(undefined);
    try {
      const req = request(ds, [query], 'explore');
      const res = (await lastValueFrom(ds.query(req) as any)) as DataQueryResponse;
      setData({ state: LoadingState.Done, series: res.data, timeRange: req.range, errors: res.errors });
    } catch (e: any) {
      setError(new Error(e?.data?.message ?? e?.message ?? String(e)));
    }
  }, [ds, query]);

  if (ds instanceof Error) {
    return <Failure error={ds} />;
  }
  const Editor = ds?.components?.QueryEditor;
  if (!ds || !query || !Editor) {
    return <div>Loading Explore</div>;
  }
  return (
    <main>
      <h1>Explore: {ds.name}</h1>
      <Editor datasource={ds} query={query} onChange={setQuery} onRunQuery={() => run()} range={range} />
      <Button onClick={() => run()}>Run query</Button>
      {error !== undefined && <Failure error={error} />}
      {data?.errors?.map((e, i) => (
        <Alert key={i} severity="error" title={e.message ?? 'query error'} />
      ))}
      {data && (
        <section aria-label="Query result" style={{ height: 400 }}>
          <FramesTable data={data} testid="explore-result" {...({} as any)} />
        </section>
      )}
    </main>
  );
}

/** /variables?ds=<uid>: a query variable's editor, with the preview of its values. */
export function VariableEdit() {
  const ds = useDataSource();
  const [query, setQuery] = useState<any>({ refId: 'variable', query: '' });
  const [values, setValues] = useState<MetricFindValue[] | Error>();
  const [range] = useState(last15Minutes);

  useEffect(() => {
    if (!ds || ds instanceof Error || !ds.variables || !('query' in ds.variables) || !query.query) {
      return;
    }
    const support = ds.variables as any;
    lastValueFrom(support.query(request(ds, [query], 'variables'))).then(
      (r: any) => setValues(r.data),
      (e) => setValues(e instanceof Error ? e : new Error(String(e)))
    );
  }, [ds, query]);

  if (ds instanceof Error) {
    return <Failure error={ds} />;
  }
  const Editor = (ds?.variables as any)?.editor;
  if (!ds || !Editor) {
    return <div>Loading the variable editor</div>;
  }
  return (
    <main>
      <h1>Query variable of {ds.name}</h1>
      <Editor datasource={ds} query={query} onChange={setQuery} onRunQuery={() => {}} range={range} />
      <section aria-label="Preview of values">
        <h2>Preview of values</h2>
        {values instanceof Error ? (
          <Failure error={values} />
        ) : (
          <Stack wrap="wrap" gap={1}>
            {(values ?? []).map((v) => (
              <span key={String(v.value ?? v.text)} data-testid="variable-value">
                {v.text}
              </span>
            ))}
          </Stack>
        )}
      </section>
    </main>
  );
}
