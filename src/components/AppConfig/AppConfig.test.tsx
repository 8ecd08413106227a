import React from 'react';
import { MemoryRouter } from 'react-router-dom';
import { of, throwError } from 'rxjs';
import { AppPluginMeta, PluginConfigPageProps, PluginType } from '@grafana/data';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';

import AppConfig, { MODES } from './AppConfig';
import { reloadPage } from './reload';

const fetch = jest.fn();
const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
  getDataSourceSrv: () => ({ getList }),
}));
jest.mock('./reload', () => ({ reloadPage: jest.fn() }));

function renderConfig(enabled: boolean) {
  const props = {
    plugin: { meta: { id: 'netlens-network-app', type: PluginType.app, enabled, pinned: enabled, jsonData: {} } },
    query: {},
  } as unknown as PluginConfigPageProps<AppPluginMeta<{}>>;
  render(
    <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <AppConfig {...props} />
    </MemoryRouter>
  );
}

const DS = [
  { uid: 'prom', name: 'Netlens (Prometheus)', jsonData: { mode: 'prometheus' } },
  { uid: 'direct', name: 'Netlens (agents)', jsonData: { mode: 'direct', agentUrls: ['http://a:10095'] } },
];

describe('AppConfig', () => {
  beforeEach(() => {
    fetch.mockReset();
    getList.mockReset();
  });

  it('asks to enable the app first and explains both data source modes', () => {
    renderConfig(false);
    expect(screen.getByRole('button', { name: 'Enable app' })).toBeInTheDocument();
    for (const m of MODES) {
      expect(screen.getByText(m.title)).toBeInTheDocument();
    }
    expect(screen.getByText('No Netlens data source yet.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Add a Netlens data source/ })).toHaveAttribute(
      'href',
      '/connections/datasources/netlens-network-datasource'
    );
  });

  it("enables the app through Grafana's plugin settings API", async () => {
    fetch.mockReturnValue(of({ data: {} }));
    renderConfig(false);
    fireEvent.click(screen.getByRole('button', { name: 'Enable app' }));
    expect(fetch).toHaveBeenCalledWith({
      url: '/api/plugins/netlens-network-app/settings',
      method: 'POST',
      data: { enabled: true, pinned: true, jsonData: {} },
    });
    await waitFor(() => expect(reloadPage).toHaveBeenCalled());
  });

  it('lists the Netlens data sources, each with a test of its connection', async () => {
    getList.mockReturnValue(DS);
    fetch.mockImplementation(({ url }: { url: string }) =>
      url.includes('/prom/')
        ? of({ data: { status: 'OK', message: 'Prometheus answered; 3 agents scraped' } })
        : throwError(() => ({ status: 400, data: { status: 'ERROR', message: 'no agent answered: a:10095 refused' } }))
    );
    renderConfig(true);
    const list = screen.getByRole('list', { name: 'Netlens data sources' });
    expect(within(list).getAllByRole('listitem')).toHaveLength(2);

    fireEvent.click(screen.getByRole('button', { name: 'Test Netlens (Prometheus)' }));
    expect(fetch).toHaveBeenCalledWith({ url: '/api/datasources/uid/prom/health', showErrorAlert: false });
    expect(await screen.findByText('Prometheus answered; 3 agents scraped')).toBeInTheDocument();
    expect(screen.getByText('Working')).toBeInTheDocument();

    fireEvent.click(screen.getByRole('button', { name: 'Test Netlens (agents)' }));
    expect(await screen.findByText('no agent answered: a:10095 refused')).toBeInTheDocument();
    expect(screen.getByText('Not working')).toBeInTheDocument();
  });

  it('links to the overview and the dashboards', () => {
    getList.mockReturnValue(DS);
    renderConfig(true);
    const hrefs = screen.getAllByRole('link').map((a) => a.getAttribute('href'));
    expect(hrefs).toEqual(
      expect.arrayContaining(['/a/netlens-network-app', '/d/netlens-drops', '/d/netlens-nic', '/d/netlens-overview'])
    );
  });
});
