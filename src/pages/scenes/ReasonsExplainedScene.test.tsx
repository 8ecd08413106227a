import './intersectionObserver.mock';
import React from 'react';
import { of } from 'rxjs';
import { getDefaultTimeRange, LoadingState } from '@grafana/data';
import { ConstantVariable, SceneDataNode, SceneFlexItem, SceneFlexLayout, SceneVariableSet } from '@grafana/scenes';
import { render, screen } from '@testing-library/react';

import { ReasonsExplainedScene } from './ReasonsExplainedScene';
import { clearReasonCatalogCache } from '../../components/ReasonsExplained/catalog';
import { CATALOG, dropSeries } from '../../components/ReasonsExplained/fixtures';

const fetch = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
}));

describe('ReasonsExplainedScene', () => {
  beforeEach(() => {
    fetch.mockReset();
    clearReasonCatalogCache();
  });

  it("explains the reasons in its data with the selected data source's catalog", async () => {
    fetch.mockReturnValue(of({ data: CATALOG }));
    const scene = new SceneFlexLayout({
      $variables: new SceneVariableSet({ variables: [new ConstantVariable({ name: 'ds', value: 'uid-a' })] }),
      children: [
        new SceneFlexItem({
          body: new ReasonsExplainedScene({
            title: 'Drop reasons explained',
            $data: new SceneDataNode({
              data: {
                state: LoadingState.Done,
                series: [dropSeries('NO_SOCKET', [0, 3])],
                timeRange: getDefaultTimeRange(),
              },
            }),
          }),
        }),
      ],
    });
    render(<scene.Component model={scene} />);

    expect(await screen.findByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(screen.getByRole('group', { name: 'Drop reasons explained' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'NO_SOCKET' })).toBeInTheDocument();
    expect(fetch.mock.calls[0][0].url).toBe('/api/datasources/uid/uid-a/resources/reasons');
  });
});
