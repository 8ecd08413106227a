import { dateTime, DataQueryRequest, TimeRange } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { DataSource } from './datasource';
import { NetlensVariableQuery } from './types';
import { formatVariableQuery, parseVariableQuery, variableQueryText } from './variableQuery';
import { NetlensVariableSupport } from './variables';
import { VariableQueryEditor } from './components/VariableQueryEditor';

const range: TimeRange = { from: dateTime(1000), to: dateTime(2000), raw: { from: 'now-1h', to: 'now' } };

function request(target: NetlensVariableQuery | string): DataQueryRequest<NetlensVariableQuery> {
  return {
    targets: [target as NetlensVariableQuery],
    range,
    scopedVars: { x: { text: 'x', value: 'x' } },
  } as unknown as DataQueryRequest<NetlensVariableQuery>;
}

describe('NetlensVariableSupport', () => {
  it('answers a variable query through metricFindQuery with the range and scoped variables', async () => {
    const metricFindQuery = jest.fn().mockResolvedValue([{ text: 'aks-1' }, { text: 'aks-2' }]);
    const support = new NetlensVariableSupport({ metricFindQuery } as unknown as DataSource);
    expect(support.editor).toBe(VariableQueryEditor);
    const res = await lastValueFrom(support.query(request({ refId: 'V', query: 'node?namespace=$ns' })));
    expect(res.data).toEqual([{ text: 'aks-1' }, { text: 'aks-2' }]);
    expect(metricFindQuery).toHaveBeenCalledWith('node?namespace=$ns', {
      range,
      scopedVars: { x: { text: 'x', value: 'x' } },
    });
  });

  it('accepts a plain string query', async () => {
    const metricFindQuery = jest.fn().mockResolvedValue([]);
    const support = new NetlensVariableSupport({ metricFindQuery } as unknown as DataSource);
    await lastValueFrom(support.query(request('reason')));
    expect(metricFindQuery).toHaveBeenCalledWith('reason', expect.anything());
  });

  it('fails with the parse error of an invalid query', async () => {
    const metricFindQuery = jest.fn().mockRejectedValue(new Error('Variable query "x": start with one of ...'));
    const support = new NetlensVariableSupport({ metricFindQuery } as unknown as DataSource);
    await expect(lastValueFrom(support.query(request({ refId: 'V', query: 'x' })))).rejects.toThrow(/start with/);
  });
});

describe('variableQueryText', () => {
  it('reads objects and strings', () => {
    expect(variableQueryText({ refId: 'V', query: 'pod' })).toBe('pod');
    expect(variableQueryText('pod')).toBe('pod');
    expect(variableQueryText(undefined)).toBe('');
  });
});

describe('formatVariableQuery', () => {
  it('writes a label alone', () => {
    expect(formatVariableQuery({ label: 'node', filters: {} })).toBe('node');
    expect(formatVariableQuery({ label: 'node', filters: { pod: [] } })).toBe('node');
  });

  it('writes filters in a fixed order, values comma-separated, variables readable', () => {
    expect(
      formatVariableQuery({
        label: 'pod',
        filters: { node: ['$node'], namespace: ['${ns:csv}', 'shop'], cluster: ['[[c]]'] },
      })
    ).toBe('pod?cluster=[[c]]&node=$node&namespace=${ns:csv},shop');
  });

  it('round-trips hostile values through parseVariableQuery', () => {
    const filters = {
      namespace: ['a&pod=x', 'b=c', '"} or vector(1)', '50% +1', 'é#?'],
      reason: ['NETFILTER_DROP'],
    };
    expect(parseVariableQuery(formatVariableQuery({ label: 'pod', filters }))).toEqual({ label: 'pod', filters });
  });
});

describe('DataSource', () => {
  it('offers the custom variable support and knows its mode', () => {
    const ds = new DataSource({
      id: 1,
      uid: 'netlens',
      type: 'netlens-network-datasource',
      name: 'Netlens',
      jsonData: { mode: 'direct' },
      meta: {},
      access: 'proxy',
      readOnly: false,
    } as unknown as ConstructorParameters<typeof DataSource>[0]);
    expect(ds.variables).toBeInstanceOf(NetlensVariableSupport);
    expect(ds.mode).toBe('direct');
  });
});
