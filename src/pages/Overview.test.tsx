import React from 'react';
import { MemoryRouter } from 'react-router-dom';
import { render, screen } from '@testing-library/react';

import Overview, { describe as describeDataSource, testIds } from './Overview';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  PluginPage: ({ children }: { children: React.ReactNode }) => <div>{children}</div>,
  getDataSourceSrv: () => ({ getList }),
}));

// Grafana renders app pages inside its router.
const renderOverview = () =>
  render(
    <MemoryRouter future={ROUTER_FUTURE}>
      <Overview />
    </MemoryRouter>
  );

describe('Overview page', () => {
  beforeEach(() => getList.mockReset());

  it('guides the user to add a data source when there is none', () => {
    getList.mockReturnValue([]);
    renderOverview();
    expect(screen.getByTestId(testIds.empty)).toBeInTheDocument();
    expect(screen.getByText('No Netlens data source yet')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Add a Netlens data source/ })).toHaveAttribute(
      'href',
      '/connections/datasources/netlens-network-datasource'
    );
    expect(getList).toHaveBeenCalledWith({ pluginId: 'netlens-network-datasource' });
  });

  it('lists the configured Netlens data sources', () => {
    getList.mockReturnValue([
      { uid: 'a', name: 'Cluster A', jsonData: { mode: 'prometheus' } },
      { uid: 'b', name: 'Lab agents', jsonData: { mode: 'direct', agentUrls: ['http://x:10095'] } },
    ]);
    renderOverview();
    expect(screen.getByTestId(testIds.dataSources)).toBeInTheDocument();
    expect(screen.getByText('Cluster A')).toBeInTheDocument();
    expect(screen.getByText('Agents directly: 1 URL; Netlens metrics')).toBeInTheDocument();
  });
});

describe('data source description', () => {
  it('names mode, agents and schema', () => {
    expect(describeDataSource({ mode: 'direct', agentUrls: ['a', 'b'], agentDnsName: 'agents.svc' })).toBe(
      'Agents directly: 2 URLs, agents from agents.svc; Netlens metrics'
    );
    expect(describeDataSource({ schema: 'retina' })).toBe('Prometheus; AKS Network Observability metrics');
  });
});
