import React from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { AppRootProps } from '@grafana/data';

import { prefixRoute, ROUTES } from '../../constants';

const Overview = React.lazy(() => import('../../pages/Overview'));

function App(_: AppRootProps) {
  return (
    <Routes>
      <Route path={ROUTES.Overview} element={<Overview />} />
      <Route path="*" element={<Navigate to={prefixRoute(ROUTES.Overview)} replace />} />
    </Routes>
  );
}

export default App;
