import React from 'react';
import { of, throwError } from 'rxjs';
import { dateTime, FieldConfigSource, LoadingState, PanelData, PanelProps } from '@grafana/data';
import { render, screen } from '@testing-library/react';

import { catalogDataSource, dropsOfReason, ReasonsPanel } from './ReasonsPanel';
import { DEFAULT_OPTIONS, ReasonsPanelOptions } from './types';
import { clearReasonCatalogCache } from '../../components/ReasonsExplained/catalog';
import { CATALOG, dropSeries, GENERIC } from '../../components/ReasonsExplained/fixtures';
import { reasonsTestIds } from '../../components/ReasonsExplained';

const fetch = jest.fn();
const getInstanceSettings = jest.fn();
const getList = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
  getDataSourceSrv: () => ({ getInstanceSettings, getList }),
}));

const SETTINGS: Record<string, unknown> = {
  'netlens-a': { uid: 'netlens-a', type: 'netlens-network-datasource' },
  prom: { uid: 'prom', type: 'prometheus' },
};

const RANGE = { from: dateTime(1_700_000_000_000), to: dateTime(1_700_003_600_000), raw: { from: 'a', to: 'b' } };

function panelData(uid: string | undefined, series = [dropSeries('NO_SOCKET', [1, 4])]): PanelData {
  return {
    state: LoadingState.Done,
    series,
    timeRange: RANGE,
    request: { targets: [{ refId: 'A', datasource: uid ? { uid } : undefined }] } as PanelData['request'],
  };
}

function renderPanel(data: PanelData, options: ReasonsPanelOptions = DEFAULT_OPTIONS) {
  const props = {
    data,
    options,
    width: 400,
    height: 300,
    replaceVariables: (s: string) => (s === '${ds}' ? 'netlens-a' : s),
    fieldConfig: { defaults: {}, overrides: [] } as FieldConfigSource,
  } as unknown as PanelProps<ReasonsPanelOptions>;
  render(<ReasonsPanel {...props} />);
}

describe('catalogDataSource', () => {
  beforeEach(() => {
    getInstanceSettings.mockImplementation((uid: string) => SETTINGS[uid]);
    getList.mockReturnValue([{ uid: 'netlens-default', isDefault: true }]);
  });

  it("is the panel's Netlens data source, variables interpolated", () => {
    expect(catalogDataSource(panelData('${ds}'), (s) => (s === '${ds}' ? 'netlens-a' : s))).toBe('netlens-a');
  });

  it('is the default Netlens data source when the panel reads another kind (plain Prometheus)', () => {
    expect(catalogDataSource(panelData('prom'), (s) => s)).toBe('netlens-default');
    expect(catalogDataSource(panelData(undefined), (s) => s)).toBe('netlens-default');
  });

  it('is undefined when no Netlens data source exists', () => {
    getList.mockReturnValue([]);
    expect(catalogDataSource(panelData('prom'), (s) => s)).toBeUndefined();
  });
});

describe('ReasonsPanel', () => {
  beforeEach(() => {
    fetch.mockReset();
    clearReasonCatalogCache();
    getInstanceSettings.mockImplementation((uid: string) => SETTINGS[uid]);
    getList.mockReturnValue([]);
  });

  it("explains each reason in the panel's data from the catalog and links it to the Drops page", async () => {
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderPanel(panelData('${ds}'));
    expect(await screen.findByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(fetch.mock.calls[0][0].url).toBe('/api/datasources/uid/netlens-a/resources/reasons');
    expect(screen.getByText(/4.00 p\/s now, peak 4.00 p\/s/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'where it drops: NO_SOCKET' })).toHaveAttribute(
      'href',
      dropsOfReason('NO_SOCKET', 'netlens-a', panelData('netlens-a'))
    );
  });

  it("explains a reason the catalog lacks with the data source's generic explanation", async () => {
    fetch.mockImplementation((req: { params?: { reason?: string } }) =>
      of({ data: req.params?.reason === 'BRAND_NEW' ? [GENERIC] : CATALOG })
    );
    renderPanel(panelData('${ds}', [dropSeries('NO_SOCKET', [1, 4]), dropSeries('BRAND_NEW', [2, 3])]));
    expect(await screen.findByText(GENERIC.meaning)).toBeInTheDocument();
    expect(screen.getByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(screen.getByTestId(reasonsTestIds.generic)).toHaveTextContent('not in the Netlens reason catalog');
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(fetch.mock.calls[1][0]).toMatchObject({
      url: '/api/datasources/uid/netlens-a/resources/reasons',
      params: { reason: 'BRAND_NEW' },
    });
  });

  it('says why a reason the catalog lacks could not be explained', async () => {
    fetch.mockImplementation((req: { params?: { reason?: string } }) =>
      req.params?.reason ? throwError(() => new Error('HTTP 502')) : of({ data: CATALOG })
    );
    renderPanel(panelData('${ds}', [dropSeries('BRAND_NEW', [2, 3])]));
    expect(await screen.findByText(/Reason explanations: HTTP 502/)).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'BRAND_NEW' })).toBeInTheDocument();
  });

  it('leaves the links out when the option is off', async () => {
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderPanel(panelData('${ds}'), { ...DEFAULT_OPTIONS, linkToDrops: false });
    expect(await screen.findByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
  });

  it('says what to do when no Netlens data source can explain the reasons', () => {
    renderPanel(panelData('prom'));
    expect(screen.getByText(/No Netlens data source to read the reason catalog from/)).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'NO_SOCKET' })).toBeInTheDocument();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("shows the query's errors", () => {
    fetch.mockReturnValue(of({ data: CATALOG }));
    renderPanel({ ...panelData('${ds}', []), errors: [{ message: 'no agent answered' }] });
    expect(screen.getByText('no agent answered')).toBeInTheDocument();
  });
});

describe('dropsOfReason', () => {
  it("is the app's Drops page filtered by the reason and data source, over the panel's time range", () => {
    expect(dropsOfReason('NETFILTER_DROP', 'netlens-a', panelData('netlens-a'))).toBe(
      '/a/netlens-network-app/drops?var-ds=netlens-a&var-reason=NETFILTER_DROP&from=1700000000000&to=1700003600000'
    );
  });
});
