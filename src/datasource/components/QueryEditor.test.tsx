import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { QueryEditor } from './QueryEditor';
import { DataSource } from '../datasource';
import { NetlensQuery } from '../types';

function setup(query: NetlensQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  render(
    <QueryEditor query={query} onChange={onChange} onRunQuery={onRunQuery} datasource={{} as unknown as DataSource} />
  );
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('shows the defaults for a new query', () => {
    setup({ refId: 'A' });
    expect(screen.getByLabelText('Query type')).toHaveValue('Drops');
    expect(screen.getByLabelText('Packets')).toBeChecked();
  });

  it('switches to bytes and runs the query', () => {
    const { onChange, onRunQuery } = setup({ refId: 'A', queryType: 'drops' });
    fireEvent.click(screen.getByLabelText('Bytes'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'drops', value: 'bytes' });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('passes a hostile PromQL expression through untouched', () => {
    const expr = 'up{job="a\\"} or vector(1) or {x=\\""}';
    const { onChange } = setup({ refId: 'A', queryType: 'promql', expr: '' });
    fireEvent.change(screen.getByLabelText('PromQL'), { target: { value: expr } });
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', queryType: 'promql', expr });
  });
});
