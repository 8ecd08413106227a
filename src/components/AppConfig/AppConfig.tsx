import React, { useState } from 'react';
import { lastValueFrom } from 'rxjs';
import { AppPluginMeta, PluginConfigPageProps, PluginMeta } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';
import { Alert, Button, FieldSet, Stack, TextLink } from '@grafana/ui';

import { DATASOURCE_PLUGIN_ID, PLUGIN_BASE_URL } from '../../constants';

export interface AppConfigProps extends PluginConfigPageProps<AppPluginMeta<{}>> {}

const AppConfig = ({ plugin }: AppConfigProps) => {
  const { enabled, pinned, id } = plugin.meta;
  const [error, setError] = useState<string>();

  const setEnabled = async (on: boolean) => {
    try {
      setError(undefined);
      await updatePlugin(id, { enabled: on, pinned: on, jsonData: plugin.meta.jsonData });
      // The navigation only picks up the change after a reload.
      window.location.reload();
    } catch (e) {
      setError(e instanceof Error ? e.message : 'Grafana refused the change');
    }
  };

  return (
    <FieldSet label="Netlens">
      <Stack direction="column" gap={2}>
        {error && (
          <Alert severity="error" title="Could not update the app">
            {error}
          </Alert>
        )}
        <p>
          1. {enabled ? 'The app is enabled.' : 'Enable the app to add its pages and dashboards to Grafana.'}
          <br />
          2. Add a <TextLink href={`/connections/datasources/${DATASOURCE_PLUGIN_ID}`}>
            Netlens data source
          </TextLink>{' '}
          that reads your agents through Prometheus or directly.
          <br />
          3. Open the <TextLink href={PLUGIN_BASE_URL}>Netlens overview</TextLink>.
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
  );
};

async function updatePlugin(pluginId: string, data: Partial<PluginMeta>) {
  const response = getBackendSrv().fetch({ url: `/api/plugins/${pluginId}/settings`, method: 'POST', data });
  return lastValueFrom(response);
}

export default AppConfig;
