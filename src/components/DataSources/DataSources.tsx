import React from 'react';
import { DataSourceInstanceSettings } from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';
import { EmptyState, LinkButton } from '@grafana/ui';

import { DATASOURCE_PLUGIN_ID } from '../../constants';
import { NetlensOptions } from '../../datasource/types';

export type NetlensDataSource = DataSourceInstanceSettings<NetlensOptions>;

/** Where a user creates a Netlens data source: the plugin's page with its "Add new data source" button. */
export const ADD_DATASOURCE_URL = `/connections/datasources/${DATASOURCE_PLUGIN_ID}`;

export const noDataSourceTestId = 'netlens-no-datasource';

/** The Netlens data sources the user can query, the default one first. */
export function getNetlensDataSources(): NetlensDataSource[] {
  // The non-deprecated replacement lives in @grafana/runtime/internal, which
  // plugins cannot import and Grafana 12.4 does not have.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const list = getDataSourceSrv().getList({ pluginId: DATASOURCE_PLUGIN_ID }) as NetlensDataSource[];
  return [...list].sort((a, b) => Number(Boolean(b.isDefault)) - Number(Boolean(a.isDefault)));
}

/** Grafana's settings of the data source `uid` (after variables are interpolated), if it knows one. */
export function instanceSettings(uid: string): DataSourceInstanceSettings | undefined {
  // The replacement (getDataSourceInstanceSettings in @grafana/runtime/unstable)
  // is not in Grafana 12.4, which this app still supports.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return getDataSourceSrv().getInstanceSettings(uid);
}

/** The empty state every Netlens page shows while no Netlens data source exists. */
export function NoDataSource() {
  return (
    <div data-testid={noDataSourceTestId}>
      <EmptyState
        variant="call-to-action"
        message="No Netlens data source yet"
        button={
          <LinkButton icon="plus" href={ADD_DATASOURCE_URL}>
            Add a Netlens data source
          </LinkButton>
        }
      >
        Netlens reads packet drops and NIC receive pressure from its node agents, either through Prometheus or from the
        agents directly. Add a data source that points at one of them.
      </EmptyState>
    </div>
  );
}

/** One line on where a data source reads from. */
export function describeDataSource(jsonData: NetlensOptions): string {
  const schema = jsonData.schema === 'retina' ? 'AKS Network Observability metrics' : 'Netlens metrics';
  if (jsonData.mode === 'direct') {
    const n = jsonData.agentUrls?.length ?? 0;
    const dns = jsonData.agentDnsName ? `, agents from ${jsonData.agentDnsName}` : '';
    return `Agents directly: ${n} URL${n === 1 ? '' : 's'}${dns}; ${schema}`;
  }
  return `Prometheus; ${schema}`;
}
