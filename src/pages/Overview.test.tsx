import React from 'react';
import { MemoryRouter } from 'react-router-dom';
import { of, throwError } from 'rxjs';
import { render, screen, within } from '@testing-library/react';

import Overview, { testIds } from './Overview';
import { noDataSourceTestId } from '../components/DataSources/DataSources';
import { clearReasonCatalogCache } from '../components/ReasonsExplained/catalog';
import { CATALOG, dropSeries } from '../components/ReasonsExplained/fixtures';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

const getList = jest.fn();
const query = jest.fn();
const get = jest.fn(async () => ({ query }));
const fetch = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  PluginPage: ({ children }: { children: React.ReactNode }) => <div>{children}</div>,
  getDataSourceSrv: () => ({ getList, get }),
  getBackendSrv: () => ({ fetch }),
}));

// Grafana renders app pages inside its router.
const renderOverview = () =>
  render(
    <MemoryRouter future={ROUTER_FUTURE}>
      <Overview />
    </MemoryRouter>
  );

const DATA_SOURCES = [
  { uid: 'a', name: 'Cluster A', jsonData: { mode: 'prometheus' } },
  { uid: 'b', name: 'Lab agents', jsonData: { mode: 'direct', agentUrls: ['http://x:10095'] } },
];

describe('Overview page', () => {
  beforeEach(() => {
    getList.mockReset();
    query.mockReset();
    get.mockClear();
    fetch.mockReset();
    clearReasonCatalogCache();
  });

  it('guides the user to add a data source when there is none', () => {
    getList.mockReturnValue([]);
    renderOverview();
    expect(screen.getByTestId(noDataSourceTestId)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Add a Netlens data source/ })).toHaveAttribute(
      'href',
      '/connections/datasources/netlens-network-datasource'
    );
    expect(getList).toHaveBeenCalledWith({ pluginId: 'netlens-network-datasource' });
    expect(get).not.toHaveBeenCalled();
  });

  it('lists the configured Netlens data sources and explains the reasons dropping now', async () => {
    getList.mockReturnValue(DATA_SOURCES);
    query.mockReturnValue(of({ data: [dropSeries('NO_SOCKET', [0, 3])] }));
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderOverview();

    const list = screen.getByTestId(testIds.dataSources);
    expect(within(list).getByText('Cluster A')).toBeInTheDocument();
    expect(within(list).getByText('Agents directly: 1 URL; Netlens metrics')).toBeInTheDocument();
    expect(screen.getByText('Loading drop reasons')).toBeInTheDocument();

    expect(await screen.findByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(get).toHaveBeenCalledWith({ uid: 'a' });
    expect(query.mock.calls[0][0].targets).toEqual([
      { refId: 'reasons', queryType: 'drops', groupBy: ['reason'], value: 'packets', rate: true },
    ]);
    expect(fetch.mock.calls[0][0].url).toBe('/api/datasources/uid/a/resources/reasons');
    expect(screen.getByRole('combobox', { name: /^Data source/ })).toBeInTheDocument();

    const pages = screen.getByRole('navigation', { name: 'Explore' });
    expect(
      within(pages)
        .getAllByRole('link')
        .map((a) => a.getAttribute('href'))
    ).toEqual([
      '/a/netlens-network-app/drops',
      '/a/netlens-network-app/nic',
      '/a/netlens-network-app/nodes',
      '/d/netlens-drops',
    ]);
  });

  it('shows why the drops could not be read', async () => {
    getList.mockReturnValue(DATA_SOURCES.slice(1));
    query.mockReturnValue(throwError(() => ({ status: 502, data: { message: 'no agent reachable' } })));
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderOverview();

    expect(await screen.findByText('Drops: no agent reachable')).toBeInTheDocument();
    expect(get).toHaveBeenCalledWith({ uid: 'b' });
    // One data source: nothing to choose.
    expect(screen.queryByRole('combobox', { name: /^Data source/ })).not.toBeInTheDocument();
  });

  it("shows the query's errors next to the reasons it did return", async () => {
    getList.mockReturnValue(DATA_SOURCES.slice(0, 1));
    query.mockReturnValue(of({ data: [dropSeries('NETFILTER_DROP', [4])], errors: [{ message: 'timeout' }] }));
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderOverview();

    expect(await screen.findByText('Drops: timeout')).toBeInTheDocument();
    expect(screen.getByText(CATALOG[1].meaning)).toBeInTheDocument();
  });
});
