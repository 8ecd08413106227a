import React from 'react';
import { DataSourceInstanceSettings } from '@grafana/data';
import { getDataSourceSrv, PluginPage } from '@grafana/runtime';
import { Alert, Card, EmptyState, LinkButton, Stack, TextLink } from '@grafana/ui';

import { DASHBOARD_URLS, DATASOURCE_PLUGIN_ID } from '../constants';
import { NetlensOptions } from '../datasource/types';

export const testIds = {
  empty: 'netlens-overview-empty',
  dataSources: 'netlens-overview-datasources',
};

// The Overview lists where Netlens reads from and leads to the dashboards; the
// drop and NIC panels join it as the data source learns to answer them.
function Overview() {
  // The non-deprecated replacement lives in @grafana/runtime/internal, which
  // plugins cannot import and Grafana 12.4 does not have.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const dataSources = getDataSourceSrv().getList({ pluginId: DATASOURCE_PLUGIN_ID }) as Array<
    DataSourceInstanceSettings<NetlensOptions>
  >;

  return (
    <PluginPage>
      {dataSources.length === 0 ? (
        <div data-testid={testIds.empty}>
          <EmptyState
            variant="call-to-action"
            message="No Netlens data source yet"
            button={
              <LinkButton icon="plus" href={`/connections/datasources/${DATASOURCE_PLUGIN_ID}`}>
                Add a Netlens data source
              </LinkButton>
            }
          >
            Netlens reads packet drops and NIC receive pressure from its node agents, either through Prometheus or from
            the agents directly. Add a data source that points at one of them.
          </EmptyState>
        </div>
      ) : (
        <Stack direction="column" gap={2} data-testid={testIds.dataSources}>
          <Alert severity="info" title="Drop panels are coming to this page">
            Until then, open the <TextLink href={DASHBOARD_URLS.drops}>Netlens / Drops</TextLink> dashboard.
          </Alert>
          {dataSources.map((ds) => (
            <Card key={ds.uid} href={`/connections/datasources/edit/${ds.uid}`}>
              <Card.Heading>{ds.name}</Card.Heading>
              <Card.Description>{describe(ds.jsonData)}</Card.Description>
            </Card>
          ))}
        </Stack>
      )}
    </PluginPage>
  );
}

export function describe(jsonData: NetlensOptions): string {
  const schema = jsonData.schema === 'retina' ? 'AKS Network Observability metrics' : 'Netlens metrics';
  if (jsonData.mode === 'direct') {
    const n = jsonData.agentUrls?.length ?? 0;
    const dns = jsonData.agentDnsName ? `, agents from ${jsonData.agentDnsName}` : '';
    return `Agents directly: ${n} URL${n === 1 ? '' : 's'}${dns}; ${schema}`;
  }
  return `Prometheus; ${schema}`;
}

export default Overview;
