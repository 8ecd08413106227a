import React, { Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { AppRootProps } from '@grafana/data';
import { LoadingPlaceholder } from '@grafana/ui';

import { prefixRoute, ROUTES } from '../../constants';

// Each page is its own chunk: the scenes pages (and @grafana/scenes) load only when opened.
const Overview = React.lazy(() => import('../../pages/Overview'));
const Drops = React.lazy(() => import('../../pages/Drops'));
const Nic = React.lazy(() => import('../../pages/Nic'));
const Nodes = React.lazy(() => import('../../pages/Nodes'));

function App(_: AppRootProps) {
  return (
    <Suspense fallback={<LoadingPlaceholder text="Loading page" />}>
      <Routes>
        <Route path={ROUTES.Overview} element={<Overview />} />
        <Route path={ROUTES.Drops} element={<Drops />} />
        <Route path={ROUTES.Nic} element={<Nic />} />
        <Route path={ROUTES.Nodes} element={<Nodes />} />
        <Route path="*" element={<Navigate to={prefixRoute(ROUTES.Overview)} replace />} />
      </Routes>
    </Suspense>
  );
}

export default App;
