import './scenes/intersectionObserver.mock';
import React from 'react';
import { MemoryRouter } from 'react-router-dom';
import { LocationServiceProvider, locationService } from '@grafana/runtime';
import { render, screen, within } from '@testing-library/react';

import Overview, { testIds } from './Overview';
import { noDataSourceTestId } from '../components/DataSources/DataSources';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  PluginPage: ({ children }: { children: React.ReactNode }) => <div>{children}</div>,
  getDataSourceSrv: () => ({ getList }),
}));

// The scene's construction is tested in scenes.test.ts; here only the page around it.
jest.mock('./scenes/overview', () => {
  const { EmbeddedScene, SceneReactObject } = jest.requireActual('@grafana/scenes');
  return {
    buildOverviewScene: () =>
      new EmbeddedScene({ body: new SceneReactObject({ reactNode: <div>overview scene</div> }) }),
  };
});

const renderOverview = () =>
  render(
    <LocationServiceProvider service={locationService}>
      <MemoryRouter future={ROUTER_FUTURE}>
        <Overview />
      </MemoryRouter>
    </LocationServiceProvider>
  );

describe('Overview page', () => {
  beforeEach(() => getList.mockReset());

  it('guides the user to add a data source when there is none', () => {
    getList.mockReturnValue([]);
    renderOverview();
    expect(screen.getByTestId(noDataSourceTestId)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: /Add a Netlens data source/ })).toHaveAttribute(
      'href',
      '/connections/datasources/netlens-network-datasource'
    );
    expect(getList).toHaveBeenCalledWith({ pluginId: 'netlens-network-datasource' });
    expect(screen.queryByText('overview scene')).not.toBeInTheDocument();
  });

  it('shows the overview scene under links to the other pages and the dashboards', async () => {
    getList.mockReturnValue([{ uid: 'a', name: 'Cluster A', jsonData: { mode: 'prometheus' } }]);
    renderOverview();
    expect(await screen.findByText('overview scene')).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Explore' });
    expect(nav).toBe(screen.getByTestId(testIds.pages));
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => [a.textContent, a.getAttribute('href')])
    ).toEqual([
      ['Drops', '/a/netlens-network-app/drops'],
      ['NIC', '/a/netlens-network-app/nic'],
      ['Nodes', '/a/netlens-network-app/nodes'],
      ['Netlens / Drops', '/d/netlens-drops'],
      ['Netlens / NIC receive pressure', '/d/netlens-nic'],
      ['Netlens / Cluster overview', '/d/netlens-overview'],
    ]);
  });
});
