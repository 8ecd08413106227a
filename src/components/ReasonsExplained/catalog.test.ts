import { of, throwError } from 'rxjs';

import { clearReasonCatalogCache, fetchReasonCatalog, fetchReasonExplanations, reasonsInData } from './catalog';
import { CATALOG, dropSeries, GENERIC } from './fixtures';

const fetch = jest.fn();
jest.mock('@grafana/runtime', () => ({
  ...jest.requireActual('@grafana/runtime'),
  getBackendSrv: () => ({ fetch }),
}));

describe('reasonsInData', () => {
  it('sums the latest and peak values per reason and leaves out reasons that did not drop', () => {
    const reasons = reasonsInData([
      dropSeries('NO_SOCKET', [1, 4, 2], { node: 'a' }),
      dropSeries('NO_SOCKET', [0, 1, null], { node: 'b' }),
      dropSeries('NETFILTER_DROP', [0, 9, 7]),
      dropSeries('SOCKET_RCVBUFF', [0, 0, 0]),
      dropSeries('TCP_CSUM', [null, null]),
    ]);
    expect(reasons).toEqual([
      { reason: 'NETFILTER_DROP', latest: 7, peak: 9 },
      { reason: 'NO_SOCKET', latest: 3, peak: 5 },
    ]);
  });

  it('ignores fields without a reason label', () => {
    const frame = dropSeries('X', [5]);
    frame.fields[1].labels = { node: 'a' };
    expect(reasonsInData([frame])).toEqual([]);
  });
});

describe('fetchReasonCatalog', () => {
  beforeEach(() => {
    fetch.mockReset();
    clearReasonCatalogCache();
  });

  it("reads the data source's /reasons resource once", async () => {
    fetch.mockReturnValue(of({ data: CATALOG }));
    expect(await fetchReasonCatalog('ds/1')).toEqual(CATALOG);
    expect(await fetchReasonCatalog('ds/1')).toEqual(CATALOG);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0][0]).toMatchObject({
      url: '/api/datasources/uid/ds%2F1/resources/reasons',
      method: 'GET',
    });
  });

  it('asks again after a failure', async () => {
    fetch.mockReturnValueOnce(throwError(() => new Error('boom'))).mockReturnValueOnce(of({ data: CATALOG }));
    await expect(fetchReasonCatalog('a')).rejects.toThrow('boom');
    expect(await fetchReasonCatalog('a')).toEqual(CATALOG);
  });

  it('refuses an answer that is not a list', async () => {
    fetch.mockReturnValue(of({ data: { error: 'x' } }));
    await expect(fetchReasonCatalog('b')).rejects.toThrow('something other than a list');
  });
});

describe('fetchReasonExplanations', () => {
  beforeEach(() => {
    fetch.mockReset();
    clearReasonCatalogCache();
  });

  it('asks the data source to explain the reasons by name, each once', async () => {
    fetch.mockReturnValueOnce(of({ data: [CATALOG[0], GENERIC] })).mockReturnValueOnce(of({ data: [CATALOG[1]] }));
    expect(await fetchReasonExplanations('ds/1', ['NO_SOCKET', 'BRAND_NEW', 'NO_SOCKET'])).toEqual([
      CATALOG[0],
      GENERIC,
    ]);
    expect(fetch.mock.calls[0][0]).toMatchObject({
      url: '/api/datasources/uid/ds%2F1/resources/reasons',
      method: 'GET',
      params: { reason: 'NO_SOCKET,BRAND_NEW' },
    });
    // Only the reason not asked for yet is fetched.
    expect(await fetchReasonExplanations('ds/1', ['BRAND_NEW', 'NETFILTER_DROP'])).toEqual([GENERIC, CATALOG[1]]);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(fetch.mock.calls[1][0].params).toEqual({ reason: 'NETFILTER_DROP' });
  });

  it('fails, and asks again later, when the answer lacks a reason or the request fails', async () => {
    fetch.mockReturnValueOnce(of({ data: [] }));
    await expect(fetchReasonExplanations('a', ['BRAND_NEW'])).rejects.toThrow('did not explain BRAND_NEW');
    fetch.mockReturnValueOnce(throwError(() => new Error('boom')));
    await expect(fetchReasonExplanations('a', ['BRAND_NEW'])).rejects.toThrow('boom');
    fetch.mockReturnValueOnce(of({ data: [GENERIC] }));
    expect(await fetchReasonExplanations('a', ['BRAND_NEW'])).toEqual([GENERIC]);
    expect(fetch).toHaveBeenCalledTimes(3);
  });
});
