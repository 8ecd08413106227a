import React, { useState } from 'react';
import { lastValueFrom } from 'rxjs';
import { AppPluginMeta, PluginConfigPageProps, PluginMeta } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, Button, Card, FieldSet, LinkButton, Stack, TextLink } from '@grafana/ui';

import { DASHBOARDS, PLUGIN_BASE_URL } from '../../constants';
import {
  ADD_DATASOURCE_URL,
  describeDataSource,
  getNetlensDataSources,
  type NetlensDataSource,
} from '../DataSources/DataSources';
import { errorMessage } from '../../errors';
import { reloadPage } from './reload';

export interface AppConfigProps extends PluginConfigPageProps<AppPluginMeta<{}>> {}

export const MODES = [
  {
    title: 'Through Prometheus',
    text: 'Prometheus (or Azure Monitor managed Prometheus) scrapes every agent; Netlens queries it. Use this for clusters: history is as long as Prometheus keeps it, and one Prometheus can hold many clusters.',
  },
  {
    title: 'Agents directly',
    text: "Netlens calls the agents' API (a list of URLs or a headless service's DNS name). Use this for live drop events and for clusters without Prometheus; history is the agents' last 15 minutes.",
  },
];

/**
 * The app's configuration page, as a setup guide: enable the app, add a
 * Netlens data source in one of its two modes and test it, then open the
 * pages and dashboards.
 */
const AppConfig = ({ plugin }: AppConfigProps) => {
  const { enabled, pinned, id } = plugin.meta;
  const [error, setError] = useState<string>();
  const dataSources = enabled ? getNetlensDataSources() : [];

  const setEnabled = async (on: boolean) => {
    try {
      setError(undefined);
      await updatePlugin(id, { enabled: on, pinned: on, jsonData: plugin.meta.jsonData });
      // The navigation only picks up the change after a reload.
      reloadPage();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Grafana refused the change');
    }
  };

  return (
    <Stack direction="column" gap={3}>
      <FieldSet label="1. Enable the app">
        <Stack direction="column" gap={1}>
          {error && (
            <Alert severity="error" title="Could not update the app">
              {error}
            </Alert>
          )}
          <p>
            {enabled
              ? 'The app is enabled: its pages are in the navigation under Netlens.'
              : 'Enable the app to add its pages to the navigation and its dashboards to Grafana.'}
          </p>
          <div>
            {enabled ? (
              <Button variant="destructive" onClick={() => setEnabled(false)}>
                Disable app
              </Button>
            ) : (
              <Button variant="primary" onClick={() => setEnabled(true)}>
                Enable app
              </Button>
            )}
          </div>
          {pinned === false && enabled && <small>The app is enabled but not pinned to the navigation.</small>}
        </Stack>
      </FieldSet>

      <FieldSet label="2. Connect a Netlens data source">
        <Stack direction="column" gap={1}>
          <p>A Netlens data source reads the node agents in one of two modes:</p>
          <Stack direction="row" gap={2} wrap="wrap">
            {MODES.map((m) => (
              <Card key={m.title} noMargin>
                <Card.Heading>{m.title}</Card.Heading>
                <Card.Description>{m.text}</Card.Description>
              </Card>
            ))}
          </Stack>
          {dataSources.length === 0 ? (
            <p>No Netlens data source yet.</p>
          ) : (
            <ul aria-label="Netlens data sources" style={{ listStyle: 'none', padding: 0 }}>
              {dataSources.map((ds) => (
                <li key={ds.uid}>
                  <DataSourceCheck ds={ds} />
                </li>
              ))}
            </ul>
          )}
          <div>
            <LinkButton icon="plus" href={ADD_DATASOURCE_URL} variant={dataSources.length ? 'secondary' : 'primary'}>
              Add a Netlens data source
            </LinkButton>
          </div>
        </Stack>
      </FieldSet>

      <FieldSet label="3. Look at the drops">
        <p>
          Open the <TextLink href={PLUGIN_BASE_URL}>Netlens overview</TextLink> or a dashboard (import them from this
          app&apos;s Dashboards tab if they were not provisioned):
        </p>
        <ul>
          {DASHBOARDS.map((d) => (
            <li key={d.url}>
              <TextLink href={d.url}>{d.title}</TextLink>
            </li>
          ))}
        </ul>
      </FieldSet>
    </Stack>
  );
};

/** Grafana's answer to a data source health check (GET /api/datasources/uid/:uid/health). */
interface Health {
  status?: string;
  message?: string;
}

/** A data source with where it reads from and a button that runs its health check. */
export function DataSourceCheck({ ds }: { ds: NetlensDataSource }) {
  const [state, setState] = useState<{ running?: boolean; ok?: boolean; message?: string }>({});
  const test = async () => {
    setState({ running: true });
    try {
      const response = await lastValueFrom(
        getBackendSrv().fetch<Health>({ url: `/api/datasources/uid/${ds.uid}/health`, showErrorAlert: false })
      );
      setState({ ok: response.data.status === 'OK', message: response.data.message });
    } catch (e) {
      // Grafana answers a failed check with 400 and the check's message in the body.
      const body = (e as { data?: Health }).data;
      setState({ ok: false, message: body?.message ?? errorMessage(e) });
    }
  };
  return (
    <Card noMargin>
      <Card.Heading>
        <TextLink href={`/connections/datasources/edit/${ds.uid}`}>{ds.name}</TextLink>
      </Card.Heading>
      <Card.Description>{describeDataSource(ds.jsonData)}</Card.Description>
      <Card.Actions>
        <Button variant="secondary" onClick={test} disabled={state.running} aria-label={`Test ${ds.name}`}>
          {state.running ? 'Testing…' : 'Test'}
        </Button>
      </Card.Actions>
      {state.ok !== undefined && (
        <Card.SecondaryActions>
          <div role="status">
            <Alert severity={state.ok ? 'success' : 'error'} title={state.ok ? 'Working' : 'Not working'}>
              {state.message}
            </Alert>
          </div>
        </Card.SecondaryActions>
      )}
    </Card>
  );
}

async function updatePlugin(pluginId: string, data: Partial<PluginMeta>) {
  const response = getBackendSrv().fetch({ url: `/api/plugins/${pluginId}/settings`, method: 'POST', data });
  return lastValueFrom(response);
}

export default AppConfig;
