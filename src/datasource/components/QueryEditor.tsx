import React from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import { Combobox, ComboboxOption, InlineField, InlineSwitch, RadioButtonGroup, Stack, TextArea } from '@grafana/ui';

import { DataSource } from '../datasource';
import { DEFAULT_QUERY, NetlensOptions, NetlensQuery, QUERY_TYPES, QueryType } from '../types';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions>;

const TYPE_OPTIONS: Array<ComboboxOption<QueryType>> = QUERY_TYPES;
const VALUE_OPTIONS: Array<SelectableValue<'packets' | 'bytes'>> = [
  { value: 'packets', label: 'Packets' },
  { value: 'bytes', label: 'Bytes' },
];

export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const q = { ...DEFAULT_QUERY, ...query };
  const update = (patch: Partial<NetlensQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };

  return (
    <Stack direction="column" gap={1}>
      <Stack gap={1} wrap="wrap">
        <InlineField label="Query type" labelWidth={14} htmlFor="netlens-query-type">
          <Combobox
            id="netlens-query-type"
            width={24}
            options={TYPE_OPTIONS}
            value={q.queryType}
            onChange={(v) => update({ queryType: v.value })}
          />
        </InlineField>
        {q.queryType !== 'promql' && (
          <>
            <InlineField label="Value">
              <RadioButtonGroup options={VALUE_OPTIONS} value={q.value} onChange={(v) => update({ value: v })} />
            </InlineField>
            <InlineField label="Rate" htmlFor="netlens-rate" tooltip="Per-second rate instead of the counter's value">
              <InlineSwitch
                id="netlens-rate"
                value={q.rate}
                onChange={(e) => update({ rate: e.currentTarget.checked })}
              />
            </InlineField>
          </>
        )}
      </Stack>
      {q.queryType === 'promql' && (
        <InlineField label="PromQL" labelWidth={14} htmlFor="netlens-expr" grow>
          <TextArea
            id="netlens-expr"
            rows={3}
            value={q.expr ?? ''}
            placeholder="sum by (reason) (rate(netlens_drop_packets_total[$__rate_interval]))"
            onChange={(e) => onChange({ ...query, expr: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
    </Stack>
  );
}
