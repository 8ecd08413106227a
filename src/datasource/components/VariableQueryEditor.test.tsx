import React, { useState } from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { dateTime, TimeRange } from '@grafana/data';

import { VariableQueryEditor } from './VariableQueryEditor';
import { choose, enableComboboxMenus } from './testUtils';
import { DataSource } from '../datasource';
import { NetlensVariableQuery } from '../types';
import { parseVariableQuery } from '../variableQuery';

enableComboboxMenus();

const range: TimeRange = {
  from: dateTime(1_700_000_000_000),
  to: dateTime(1_700_003_600_000),
  raw: { from: 'now-1h', to: 'now' },
};

// Like Grafana, hand the changed query back to the editor.
function Harness(props: {
  initial: NetlensVariableQuery | string;
  getResource: jest.Mock;
  onSaved: (q: NetlensVariableQuery) => void;
}) {
  const [query, setQuery] = useState(props.initial);
  return (
    <VariableQueryEditor
      query={query as NetlensVariableQuery}
      onChange={(q) => {
        setQuery(q);
        props.onSaved(q);
      }}
      onRunQuery={() => {}}
      datasource={{ getResource: props.getResource } as unknown as DataSource}
      range={range}
    />
  );
}

function setup(initial: NetlensVariableQuery | string, values: Record<string, string[]> = {}) {
  const saved: NetlensVariableQuery[] = [];
  const getResource = jest.fn((path: string) => Promise.resolve(values[path.replace('values/', '')] ?? []));
  render(<Harness initial={initial} getResource={getResource} onSaved={(q) => saved.push(q)} />);
  return { saved, getResource, last: () => saved[saved.length - 1] };
}

describe('VariableQueryEditor', () => {
  it('starts a new variable as a node list', () => {
    const { last } = setup({ refId: 'V', query: '' });
    expect(last()).toEqual({ refId: 'V', query: 'node' });
    expect(screen.getByLabelText('Values of')).toHaveValue('Nodes');
  });

  it('shows a stored query in the builder, without a filter on the listed label itself', () => {
    setup({ refId: 'V', query: 'pod?namespace=$namespace' });
    expect(screen.getByLabelText('Values of')).toHaveValue('Pods');
    expect(screen.getByText('$namespace')).toBeInTheDocument();
    expect(screen.queryByLabelText(/^Pod filter/)).not.toBeInTheDocument();
    expect(screen.getByLabelText(/^Query/)).toHaveValue('pod?namespace=$namespace');
  });

  it('accepts a plain string query (provisioned dashboards)', () => {
    setup('reason?node=aks-1');
    expect(screen.getByLabelText('Values of')).toHaveValue('Drop reasons');
    expect(screen.getByText('aks-1')).toBeInTheDocument();
  });

  it('changes the label and drops a filter on the new label', () => {
    const { last } = setup({ refId: 'V', query: 'node?pod=x&namespace=shop' });
    choose('Values of', 'Pods');
    expect(last()).toEqual({ refId: 'V', query: 'pod?namespace=shop' });
  });

  it('adds filter values from the values resource, narrowed by the other filters', async () => {
    const { last, getResource } = setup({ refId: 'V', query: 'pod?node=aks-1' }, { namespace: ['default', 'shop'] });
    const input = screen.getByLabelText(/^Namespace filter/);
    await act(async () => {
      input.focus();
    });
    expect(getResource).toHaveBeenCalledWith('values/namespace', {
      node: ['aks-1'],
      from: 1_700_000_000_000,
      to: 1_700_003_600_000,
    });
    act(() => {
      fireEvent.click(input);
    });
    fireEvent.click(await screen.findByRole('option', { name: 'shop' }));
    expect(last()).toEqual({ refId: 'V', query: 'pod?node=aks-1&namespace=shop' });
  });

  it('writes typed values, variables and hostile ones so that they parse back unchanged', async () => {
    const hostile = 'a&b=c "} or vector(1) %41+';
    const { last } = setup({ refId: 'V', query: 'interface' });
    const input = screen.getByLabelText(/^Node filter/);
    await act(async () => {
      input.focus();
    });
    act(() => {
      fireEvent.click(input);
    });
    fireEvent.change(input, { target: { value: hostile } });
    fireEvent.click((await screen.findAllByRole('option'))[0]);
    fireEvent.change(input, { target: { value: '${node:csv}' } });
    fireEvent.click((await screen.findAllByRole('option'))[0]);
    const text = last().query;
    expect(text.startsWith('interface?node=')).toBe(true);
    expect(text).toContain('${node:csv}');
    expect(parseVariableQuery(text)).toEqual({ label: 'interface', filters: { node: [hostile, '${node:csv}'] } });
  });

  it('takes the query as text and says what is wrong with an invalid one', () => {
    const { last } = setup({ refId: 'V', query: 'node' });
    const text = screen.getByLabelText(/^Query/);
    fireEvent.change(text, { target: { value: 'secrets?url=http://x' } });
    fireEvent.blur(text);
    expect(last()).toEqual({ refId: 'V', query: 'secrets?url=http://x' });
    expect(screen.getByText(/start with one of node, namespace, pod, reason, interface/)).toBeInTheDocument();

    fireEvent.change(text, { target: { value: 'namespace?node=$node' } });
    fireEvent.blur(text);
    expect(last()).toEqual({ refId: 'V', query: 'namespace?node=$node' });
    expect(screen.queryByText(/cannot be used/)).not.toBeInTheDocument();
    expect(screen.getByLabelText('Values of')).toHaveValue('Namespaces');
  });
});
