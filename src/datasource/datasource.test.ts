import { ScopedVars } from '@grafana/data';
import { TemplateSrv } from '@grafana/runtime';

import { ALL_VALUES, expandFilter, expandFilterValue, parseVariableQuery } from './datasource';

// A template service with one multi-value variable ($ns) and one single value ($node).
const vars: Record<string, string | string[]> = { ns: ['kube-system', 'default'], node: 'aks-1', pod: '__all__' };
const srv = {
  replace: (target: string, _: ScopedVars, format?: (v: string | string[]) => string) =>
    target.replace(/\$\{?(\w+)\}?/g, (m: string, name: string) => {
      const v = vars[name];
      if (v === undefined) {
        return m;
      }
      return format ? format(v) : String(v);
    }),
} as unknown as TemplateSrv;

describe('expandFilterValue', () => {
  it('expands a multi-value variable into its values', () => {
    expect(expandFilterValue(srv, '$ns', {})).toEqual(['kube-system', 'default']);
    expect(expandFilterValue(srv, '${ns}', {})).toEqual(['kube-system', 'default']);
  });

  it('expands a single-value variable', () => {
    expect(expandFilterValue(srv, '$node', {})).toEqual(['aks-1']);
  });

  it('interpolates a variable inside text as one value', () => {
    expect(expandFilterValue(srv, 'pool-$node', {})).toEqual(['pool-aks-1']);
  });

  it('passes literal values, hostile ones included, through untouched', () => {
    const hostile = 'a"} or vector(1) or {x="';
    expect(expandFilterValue(srv, hostile, {})).toEqual([hostile]);
    expect(expandFilterValue(srv, '$unknown', {})).toEqual(['$unknown']);
  });
});

describe('parseVariableQuery', () => {
  it('reads a label alone', () => {
    expect(parseVariableQuery(' node ')).toEqual({ label: 'node', filters: {} });
  });

  it('reads filters, repeated and comma-separated, keeping variables for later expansion', () => {
    expect(parseVariableQuery('pod?namespace=$namespace&node=a,b&node=c')).toEqual({
      label: 'pod',
      filters: { namespace: ['$namespace'], node: ['a', 'b', 'c'] },
    });
  });

  it('rejects unknown labels and filters with a message saying what is wanted', () => {
    expect(() => parseVariableQuery('secret')).toThrow(/start with one of node, namespace, pod, reason, interface/);
    expect(() => parseVariableQuery('pod?url=http://x')).toThrow(/unknown filter "url"/);
  });
});

describe('expandFilter', () => {
  it('expands every value of a filter', () => {
    expect(expandFilter(srv, ['$ns', 'extra'], {})).toEqual(['kube-system', 'default', 'extra']);
  });

  it('drops the filter when a variable is at the All value, instead of listing every value', () => {
    expect(ALL_VALUES).toBe('__all__');
    expect(expandFilter(srv, ['$pod'], {})).toEqual([]);
    expect(expandFilter(srv, ['x', '$pod'], {})).toEqual([]);
  });
});
