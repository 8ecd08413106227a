import React from 'react';
import { PluginPage } from '@grafana/runtime';
import { EmbeddedScene, UrlSyncContextProvider } from '@grafana/scenes';

import { getNetlensDataSources, NoDataSource } from '../../components/DataSources/DataSources';

/**
 * An app page showing a scene, its variables and time range synced to the URL
 * (`var-node=...&from=...`), so a view can be shared and survives a reload.
 * `header` is shown above the scene once a data source exists.
 */
export function ScenePage({ scene, header }: { scene: EmbeddedScene; header?: React.ReactNode }) {
  if (getNetlensDataSources().length === 0) {
    return (
      <PluginPage>
        <NoDataSource />
      </PluginPage>
    );
  }
  return (
    <PluginPage>
      {header}
      <UrlSyncContextProvider scene={scene} updateUrlOnInit createBrowserHistorySteps>
        <scene.Component model={scene} />
      </UrlSyncContextProvider>
    </PluginPage>
  );
}
