import React from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { AppRootProps, PluginType } from '@grafana/data';
import { render, screen } from '@testing-library/react';

import App from './App';
import pluginJson from '../../plugin.json';
import { ROUTES } from '../../constants';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

// App only routes; the pages have their own tests.
jest.mock('../../pages/Overview', () => ({
  __esModule: true,
  default: () => <div>Overview page</div>,
}));
jest.mock('../../pages/Drops', () => ({ __esModule: true, default: () => <div>Drops page</div> }));
jest.mock('../../pages/Nic', () => ({ __esModule: true, default: () => <div>NIC page</div> }));
jest.mock('../../pages/Nodes', () => ({ __esModule: true, default: () => <div>Nodes page</div> }));

const props = {
  basename: 'a/netlens-network-app',
  meta: { id: 'netlens-network-app', name: 'Netlens', type: PluginType.app, enabled: true, jsonData: {} },
  query: {},
  path: '',
  onNavChanged: jest.fn(),
} as unknown as AppRootProps;

const renderAt = (path: string) =>
  render(
    <MemoryRouter initialEntries={[path]} future={ROUTER_FUTURE}>
      {/* Grafana mounts an app's root page under /a/<app id>/*. */}
      <Routes>
        <Route path="/a/netlens-network-app/*" element={<App {...props} />} />
      </Routes>
    </MemoryRouter>
  );

describe('App', () => {
  it('sends unknown routes to the overview', async () => {
    renderAt('/a/netlens-network-app/no-such-page');
    expect(await screen.findByText('Overview page')).toBeInTheDocument();
  });

  it.each([
    ['overview', 'Overview page'],
    ['drops', 'Drops page'],
    ['nic', 'NIC page'],
    ['nodes', 'Nodes page'],
  ])('routes /a/netlens-network-app/%s to its page', async (route, text) => {
    renderAt(`/a/netlens-network-app/${route}`);
    expect(await screen.findByText(text)).toBeInTheDocument();
  });

  it('declares every routed page in plugin.json, in the app navigation', () => {
    const pages = pluginJson.includes.filter((i) => i.type === 'page' && i.path.startsWith('/a/'));
    expect(pages.map((p) => [p.name, p.path, p.addToNav])).toEqual([
      ['Overview', '/a/%PLUGIN_ID%/overview', true],
      ['Drops', '/a/%PLUGIN_ID%/drops', true],
      ['NIC', '/a/%PLUGIN_ID%/nic', true],
      ['Nodes', '/a/%PLUGIN_ID%/nodes', true],
    ]);
    expect(Object.values(ROUTES).map((r) => `/a/%PLUGIN_ID%/${r}`)).toEqual(pages.map((p) => p.path));
  });
});
