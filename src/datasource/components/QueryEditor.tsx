import React from 'react';
import { QueryEditorProps, SelectableValue } from '@grafana/data';
import {
  Combobox,
  ComboboxOption,
  InlineField,
  InlineSwitch,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
  Text,
  TextArea,
} from '@grafana/ui';

import { DataSource } from '../datasource';
import {
  DEFAULT_QUERY,
  Filters,
  GROUP_BY_LABELS,
  NetlensQuery,
  NetlensOptions,
  QUERY_TYPES,
  QueryType,
  VALUE_LABELS,
} from '../types';
import { LabelValuesSelect, FILTER_TITLES } from './LabelValuesSelect';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions>;

const TYPE_OPTIONS: Array<ComboboxOption<QueryType>> = QUERY_TYPES;
const VALUE_OPTIONS: Array<SelectableValue<'packets' | 'bytes'>> = [
  { value: 'packets', label: 'Packets' },
  { value: 'bytes', label: 'Bytes' },
];
const GROUP_BY_OPTIONS: Array<ComboboxOption<string>> = GROUP_BY_LABELS.map((l) => ({ value: l, label: l }));

/** Query types whose metrics come as packets or bytes. */
const HAS_VALUE: QueryType[] = ['drops', 'podDrops', 'interfaces'];
/** Query types answered with time series (rate, group by and legend apply). */
const TIME_SERIES: QueryType[] = ['drops', 'podDrops', 'nic', 'interfaces', 'netstat'];

const LABEL_WIDTH = 14;

export function QueryEditor({ query, onChange, onRunQuery, datasource, range }: Props) {
  const q = { ...DEFAULT_QUERY, ...query };
  const queryType: QueryType = q.queryType ?? 'drops';
  // Every builder change is kept and run at once; text fields run on blur.
  const update = (patch: Partial<NetlensQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const setFilter = (key: keyof Filters, values: string[]) => {
    const filters: Filters = { ...query.filters };
    if (values.length > 0) {
      filters[key] = values;
    } else {
      delete filters[key];
    }
    update({ filters });
  };

  const mode = datasource?.mode ?? 'prometheus';
  const modeWarning =
    queryType === 'events' && mode !== 'direct'
      ? 'Drop events are only available when the data source reads the agents directly (direct mode).'
      : queryType === 'promql' && mode === 'direct'
        ? 'PromQL needs prometheus mode: the agents do not evaluate PromQL.'
        : undefined;

  return (
    <Stack direction="column" gap={1}>
      <Stack gap={1} wrap="wrap" alignItems="center">
        <InlineField label="Query type" labelWidth={LABEL_WIDTH} htmlFor="netlens-query-type">
          <Combobox
            id="netlens-query-type"
            width={24}
            options={TYPE_OPTIONS}
            value={queryType}
            onChange={(v) => update({ queryType: v.value })}
          />
        </InlineField>
        {HAS_VALUE.includes(queryType) && (
          <InlineField label="Value">
            <RadioButtonGroup
              aria-label="Value"
              options={VALUE_OPTIONS}
              value={q.value}
              onChange={(v) => update({ value: v })}
            />
          </InlineField>
        )}
        {TIME_SERIES.includes(queryType) && (
          <InlineField label="Rate" htmlFor="netlens-rate" tooltip="Per-second rate instead of the counter's value">
            <InlineSwitch
              id="netlens-rate"
              value={q.rate}
              onChange={(e) => update({ rate: e.currentTarget.checked })}
            />
          </InlineField>
        )}
      </Stack>
      {modeWarning && (
        <Text color="warning" variant="bodySmall">
          {modeWarning}
        </Text>
      )}

      {queryType === 'promql' ? (
        <InlineField label="PromQL" labelWidth={LABEL_WIDTH} htmlFor="netlens-expr" grow>
          <TextArea
            id="netlens-expr"
            rows={3}
            value={q.expr ?? ''}
            placeholder="sum by (reason) (rate(netlens_drop_packets_total[$__rate_interval]))"
            onChange={(e) => onChange({ ...query, expr: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      ) : (
        <>
          {TIME_SERIES.includes(queryType) && (
            <InlineField
              label="Group by"
              labelWidth={LABEL_WIDTH}
              htmlFor="netlens-group-by"
              tooltip="Labels a metric does not have are ignored, with a notice on the panel"
            >
              <MultiCombobox<string>
                id="netlens-group-by"
                width={60}
                options={GROUP_BY_OPTIONS}
                value={q.groupBy ?? []}
                placeholder="Sum of all series"
                onChange={(opts) => update({ groupBy: opts.map((o) => o.value) })}
                isClearable
              />
            </InlineField>
          )}
          <Stack gap={1} wrap="wrap">
            {VALUE_LABELS.map((label) => (
              <InlineField
                key={label}
                label={FILTER_TITLES[label]}
                labelWidth={LABEL_WIDTH}
                htmlFor={`netlens-filter-${label}`}
              >
                <LabelValuesSelect
                  id={`netlens-filter-${label}`}
                  datasource={datasource}
                  label={label}
                  width={30}
                  value={query.filters?.[label] ?? []}
                  filters={query.filters}
                  range={range}
                  onChange={(values) => setFilter(label, values)}
                />
              </InlineField>
            ))}
          </Stack>
        </>
      )}

      {(queryType === 'promql' || TIME_SERIES.includes(queryType)) && (
        <InlineField
          label="Legend"
          labelWidth={LABEL_WIDTH}
          htmlFor="netlens-legend"
          tooltip="Series name, e.g. {{node}} {{reason}}; empty: the target and the group-by values"
        >
          <Input
            id="netlens-legend"
            width={40}
            value={q.legendFormat ?? ''}
            placeholder="{{reason}}"
            onChange={(e) => onChange({ ...query, legendFormat: e.currentTarget.value })}
            onBlur={onRunQuery}
          />
        </InlineField>
      )}
    </Stack>
  );
}
