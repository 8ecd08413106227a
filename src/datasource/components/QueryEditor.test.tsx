import React from 'react';
import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { dateTime, TimeRange } from '@grafana/data';

import { QueryEditor } from './QueryEditor';
import { choose, enableComboboxMenus } from './testUtils';
import { DataSource } from '../datasource';
import { DEFAULT_QUERY, NetlensQuery } from '../types';

enableComboboxMenus();

const range: TimeRange = {
  from: dateTime(1_700_000_000_000),
  to: dateTime(1_700_003_600_000),
  raw: { from: 'now-1h', to: 'now' },
};

function setup(query: NetlensQuery, datasource: Partial<DataSource> = {}) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const utils = render(
    <QueryEditor
      query={query}
      onChange={onChange}
      onRunQuery={onRunQuery}
      datasource={datasource as unknown as DataSource}
      range={range}
    />
  );
  return { onChange, onRunQuery, ...utils };
}

function resourceMock(values: Record<string, string[]>) {
  return jest.fn((path: string) => Promise.resolve(values[path.replace('values/', '')] ?? []));
}

async function focus(label: string) {
  const input = screen.getByLabelText(label);
  await act(async () => {
    input.focus();
  });
  return input;
}

describe('QueryEditor', () => {
  it('shows the defaults for a new query', () => {
    setup({ refId: 'A' });
    expect(screen.getByLabelText('Query type')).toHaveValue('Drops');
    expect(screen.getByLabelText('Packets')).toBeChecked();
    expect(screen.getByLabelText('Rate')).toBeChecked();
    expect(screen.getByText('reason')).toBeInTheDocument(); // the default group-by
  });

  it('defaults to a query that shows data at once', () => {
    expect(DEFAULT_QUERY).toEqual({ queryType: 'drops', groupBy: ['reason'], value: 'packets', rate: true });
  });

  it('switches to bytes and runs the query', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'drops' });
    fireEvent.click(screen.getByLabelText('Bytes'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'drops', value: 'bytes' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('changes the query type', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'drops' });
    choose('Query type', /^NIC/);
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'nic' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('offers every query type', () => {
    setup({ refId: 'A' });
    act(() => {
      fireEvent.click(screen.getByLabelText('Query type'));
    });
    const names = within(screen.getByRole('listbox'))
      .getAllByRole('option')
      .map((o) => o.textContent);
    for (const label of ['Drops', 'Pod drops', 'NIC', 'Interfaces', 'Host stack', 'Drop events', 'Nodes', 'PromQL']) {
      expect(names.some((n) => n?.startsWith(label))).toBe(true);
    }
  });

  it('turns the rate off', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'interfaces', rate: true });
    fireEvent.click(screen.getByLabelText('Rate'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'interfaces', rate: false });
  });

  it('adds a group-by label from the allowed list', () => {
    const { onChange } = setup({ refId: 'A', queryType: 'drops', groupBy: ['reason'] });
    act(() => {
      fireEvent.click(screen.getByLabelText('Group by'));
    });
    const options = within(screen.getByRole('listbox')).getAllByRole('option');
    // GROUP_BY_LABELS (pkg/models GroupByLabels) in order; the list is virtualised, so check its start.
    expect(options.slice(0, 4).map((o) => o.textContent)).toEqual(['cluster', 'node', 'namespace', 'pod']);
    fireEvent.click(within(screen.getByRole('listbox')).getByRole('option', { name: 'node' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'drops', groupBy: ['reason', 'node'] });
  });

  it('loads filter values from the values resource, narrowed by the other filters and the time range', async () => {
    const getResource = resourceMock({ pod: ['cart-1', 'cart-2'] });
    const { onChange } = setup(
      { refId: 'A', queryType: 'podDrops', filters: { namespace: ['shop', '$ns'], node: ['aks-1'] } },
      { getResource } as Partial<DataSource>
    );
    const input = await focus('Pod');
    expect(getResource).toHaveBeenCalledWith('values/pod', {
      namespace: ['shop'], // a variable means nothing before a dashboard expands it
      node: ['aks-1'],
      from: 1_700_000_000_000,
      to: 1_700_003_600_000,
    });
    act(() => {
      fireEvent.click(input);
    });
    fireEvent.click(await screen.findByRole('option', { name: 'cart-2' }));
    expect(onChange).toHaveBeenLastCalledWith({
      refId: 'A',
      queryType: 'podDrops',
      filters: { namespace: ['shop', '$ns'], node: ['aks-1'], pod: ['cart-2'] },
    });
    // Loaded once for the same filters.
    await focus('Pod');
    expect(getResource).toHaveBeenCalledTimes(1);
  });

  it('shows a failed lookup and still takes a typed value', async () => {
    const getResource = jest.fn(() =>
      Promise.reject({ status: 502, data: { message: 'Prometheus at http://p:9090 cannot be reached' } })
    );
    const { onChange } = setup({ refId: 'A', queryType: 'drops' }, { getResource } as Partial<DataSource>);
    const input = await focus('Reason');
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load reason values: Prometheus at http://p:9090 cannot be reached (502). You can still type values.'
    );
    act(() => {
      fireEvent.click(input);
    });
    fireEvent.change(input, { target: { value: 'NO_SOCKET' } });
    fireEvent.click(await screen.findByRole('option', { name: /NO_SOCKET/ }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'drops', filters: { reason: ['NO_SOCKET'] } });
    // The next focus tries again.
    act(() => {
      input.blur();
    });
    await focus('Reason');
    expect(getResource).toHaveBeenCalledTimes(2);
  });

  it('passes hostile filter values through untouched (the backend escapes them)', async () => {
    // A single-line input: everything but a newline can be typed.
    const hostile = 'a"} or vector(1) or {x=~".*|\\\\';
    const getResource = resourceMock({ namespace: [] });
    const { onChange } = setup({ refId: 'A', queryType: 'podDrops' }, { getResource } as Partial<DataSource>);
    const input = await focus('Namespace');
    act(() => {
      fireEvent.click(input);
    });
    fireEvent.change(input, { target: { value: hostile } });
    const option = await screen.findAllByRole('option');
    fireEvent.click(option[0]);
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'podDrops', filters: { namespace: [hostile] } });
  });

  it('keeps the saved filter values shown without any lookup', () => {
    const getResource = jest.fn();
    setup({ refId: 'A', queryType: 'drops', filters: { interface: ['eth0'] } }, { getResource } as Partial<DataSource>);
    expect(screen.getByText('eth0')).toBeInTheDocument();
    expect(getResource).not.toHaveBeenCalled();
  });

  it('edits the legend format and runs on blur', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'drops' });
    const legend = screen.getByLabelText('Legend');
    fireEvent.change(legend, { target: { value: '{{node}} {{reason}}' } });
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'drops', legendFormat: '{{node}} {{reason}}' });
    expect(onRunQuery).not.toHaveBeenCalled();
    fireEvent.blur(legend);
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('shows only the PromQL field and the legend for promql', () => {
    setup({ refId: 'A', queryType: 'promql', expr: 'up' });
    expect(screen.getByLabelText('PromQL')).toHaveValue('up');
    expect(screen.getByLabelText('Legend')).toBeInTheDocument();
    expect(screen.queryByLabelText('Group by')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Namespace')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Packets')).not.toBeInTheDocument();
  });

  it('passes a hostile PromQL expression through untouched', () => {
    const expr = 'up{job="a\\"} or vector(1) or {x=\\""}';
    const { onChange } = setup({ refId: 'A', queryType: 'promql', expr: '' });
    fireEvent.change(screen.getByLabelText('PromQL'), { target: { value: expr } });
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'promql', expr });
  });

  it('says which query types need the other mode', () => {
    const { unmount } = setup({ refId: 'A', queryType: 'events' }, { mode: 'prometheus' } as Partial<DataSource>);
    expect(screen.getByText(/only available when the data source reads the agents directly/)).toBeInTheDocument();
    unmount();
    setup({ refId: 'A', queryType: 'promql' }, { mode: 'direct' } as Partial<DataSource>);
    expect(screen.getByText(/PromQL needs prometheus mode/)).toBeInTheDocument();
  });

  it('keeps filters for events and nodes but no rate or group-by', () => {
    setup({ refId: 'A', queryType: 'events' }, { mode: 'direct' } as Partial<DataSource>);
    expect(screen.getByLabelText('Namespace')).toBeInTheDocument();
    expect(screen.queryByLabelText('Rate')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Group by')).not.toBeInTheDocument();
    expect(screen.queryByText(/only available/)).not.toBeInTheDocument();
  });
});
