import React from 'react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { AppRootProps, PluginType } from '@grafana/data';
import { render, screen } from '@testing-library/react';

import App from './App';

const ROUTER_FUTURE = { v7_startTransition: true, v7_relativeSplatPath: true };

// App only routes; the Overview page has its own tests.
jest.mock('../../pages/Overview', () => ({
  __esModule: true,
  default: () => <div>Overview page</div>,
}));

const props = {
  basename: 'a/netlens-network-app',
  meta: { id: 'netlens-network-app', name: 'Netlens', type: PluginType.app, enabled: true, jsonData: {} },
  query: {},
  path: '',
  onNavChanged: jest.fn(),
} as unknown as AppRootProps;

describe('App', () => {
  it('sends unknown routes to the overview', async () => {
    render(
      <MemoryRouter initialEntries={['/a/netlens-network-app/no-such-page']} future={ROUTER_FUTURE}>
        {/* Grafana mounts an app's root page under /a/<app id>/*. */}
        <Routes>
          <Route path="/a/netlens-network-app/*" element={<App {...props} />} />
        </Routes>
      </MemoryRouter>
    );
    expect(await screen.findByText('Overview page')).toBeInTheDocument();
  });
});
