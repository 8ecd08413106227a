import React from 'react';
import { render, screen } from '@testing-library/react';

import { describeDataSource, getNetlensDataSources, NoDataSource, noDataSourceTestId } from './DataSources';

const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ getList }),
}));

describe('NoDataSource', () => {
  it('leads to adding a Netlens data source', () => {
    render(<NoDataSource />);
    expect(screen.getByTestId(noDataSourceTestId)).toBeInTheDocument();
    expect(screen.getByText('No Netlens data source yet')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Add a Netlens data source/ })).toHaveAttribute(
      'href',
      '/connections/datasources/netlens-network-datasource'
    );
  });
});

describe('getNetlensDataSources', () => {
  it('lists the Netlens data sources, the default one first', () => {
    getList.mockReturnValue([
      { uid: 'a', name: 'A' },
      { uid: 'b', name: 'B', isDefault: true },
    ]);
    expect(getNetlensDataSources().map((ds) => ds.uid)).toEqual(['b', 'a']);
    expect(getList).toHaveBeenCalledWith({ pluginId: 'netlens-network-datasource' });
  });
});

describe('describeDataSource', () => {
  it('names mode, agents and schema', () => {
    expect(describeDataSource({ mode: 'direct', agentUrls: ['a', 'b'], agentDnsName: 'agents.svc' })).toBe(
      'Agents directly: 2 URLs, agents from agents.svc; Netlens metrics'
    );
    expect(describeDataSource({ mode: 'direct', agentUrls: ['a'] })).toBe('Agents directly: 1 URL; Netlens metrics');
    expect(describeDataSource({ schema: 'retina' })).toBe('Prometheus; AKS Network Observability metrics');
  });
});
