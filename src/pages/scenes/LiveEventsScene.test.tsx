import './intersectionObserver.mock';
import React from 'react';
import { ConstantVariable, SceneFlexItem, SceneFlexLayout, SceneReactObject, SceneVariableSet } from '@grafana/scenes';
import { act, render, screen } from '@testing-library/react';

import { LIVE_EVENTS_NEEDS_DIRECT, LiveEventsScene } from './LiveEventsScene';

const getInstanceSettings = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getDataSourceSrv: () => ({ getInstanceSettings }),
}));

const SETTINGS: Record<string, unknown> = {
  direct: { uid: 'direct', jsonData: { mode: 'direct' } },
  prom: { uid: 'prom', jsonData: { mode: 'prometheus' } },
  legacy: { uid: 'legacy', jsonData: {} },
};

function renderFor(uid: string) {
  getInstanceSettings.mockImplementation((u: string) => SETTINGS[u]);
  const ds = new ConstantVariable({ name: 'ds', value: uid });
  const scene = new SceneFlexLayout({
    $variables: new SceneVariableSet({ variables: [ds] }),
    children: [
      new SceneFlexItem({
        body: new LiveEventsScene({ panel: new SceneReactObject({ reactNode: <div>events table</div> }) }),
      }),
    ],
  });
  render(<scene.Component model={scene} />);
  return ds;
}

describe('LiveEventsScene', () => {
  it('shows the events panel for a data source in direct mode', () => {
    renderFor('direct');
    expect(screen.getByText('events table')).toBeInTheDocument();
    expect(screen.queryByText(LIVE_EVENTS_NEEDS_DIRECT)).not.toBeInTheDocument();
    expect(getInstanceSettings).toHaveBeenCalledWith('direct');
  });

  it('follows the data source variable: choosing a direct-mode data source shows the panel', () => {
    const ds = renderFor('prom');
    expect(screen.getByText(LIVE_EVENTS_NEEDS_DIRECT)).toBeInTheDocument();
    act(() => ds.setState({ value: 'direct' }));
    expect(screen.getByText('events table')).toBeInTheDocument();
    expect(screen.queryByText(LIVE_EVENTS_NEEDS_DIRECT)).not.toBeInTheDocument();
  });

  it.each(['prom', 'legacy', 'unknown'])(
    'explains that events need direct mode, and runs no query, for data source %s',
    (uid) => {
      renderFor(uid);
      expect(screen.getByText(LIVE_EVENTS_NEEDS_DIRECT)).toBeInTheDocument();
      expect(screen.queryByText('events table')).not.toBeInTheDocument();
    }
  );
});
