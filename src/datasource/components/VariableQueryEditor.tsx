import React, { useEffect, useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { Alert, Combobox, ComboboxOption, Field, Input, Stack } from '@grafana/ui';

import type { DataSource } from '../datasource';
import { Filters, NetlensOptions, NetlensQuery, NetlensVariableQuery, VALUE_LABELS, ValueLabel } from '../types';
import { formatVariableQuery, parseVariableQuery, ParsedVariableQuery, variableQueryText } from '../variableQuery';
import { LabelValuesSelect, FILTER_TITLES } from './LabelValuesSelect';

type Props = QueryEditorProps<DataSource, NetlensQuery, NetlensOptions, NetlensVariableQuery>;

const DEFAULT_VARIABLE_QUERY = 'node';

const LABEL_OPTIONS: Array<ComboboxOption<ValueLabel>> = [
  { value: 'node', label: 'Nodes' },
  { value: 'namespace', label: 'Namespaces' },
  { value: 'pod', label: 'Pods' },
  { value: 'reason', label: 'Drop reasons' },
  { value: 'interface', label: 'Interfaces' },
];

function parse(text: string): { parsed: ParsedVariableQuery; error?: string } {
  try {
    return { parsed: parseVariableQuery(text === '' ? DEFAULT_VARIABLE_QUERY : text) };
  } catch (e) {
    return {
      parsed: { label: DEFAULT_VARIABLE_QUERY, filters: {} },
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

/**
 * The editor of a query variable: which label's values to list and optional
 * filters. It writes the text form (`pod?namespace=$namespace`), which can also
 * be edited directly.
 */
export function VariableQueryEditor({ query, onChange, datasource, range }: Props) {
  const text = variableQueryText(query);
  const { parsed, error } = parse(text);
  // The text field follows the stored query, and keeps what is typed until blur.
  const [raw, setRaw] = useState(text);
  const [rawOf, setRawOf] = useState(text);
  if (rawOf !== text) {
    setRawOf(text);
    setRaw(text);
  }

  const emit = (next: string) =>
    onChange({
      ...(typeof query === 'object' && query !== null ? query : {}),
      refId: query?.refId ?? 'variable',
      query: next,
    });

  // A new variable starts as a valid query, so the preview shows values at once.
  useEffect(() => {
    if (text === '') {
      emit(DEFAULT_VARIABLE_QUERY);
    }
    // only when the stored text changes
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);

  const setLabel = (label: ValueLabel) => {
    const filters = { ...parsed.filters };
    delete filters[label]; // filtering a label by itself lists just the filter
    emit(formatVariableQuery({ label, filters }));
  };
  const setFilter = (key: ValueLabel, values: string[]) =>
    emit(formatVariableQuery({ label: parsed.label, filters: { ...parsed.filters, [key]: values } }));

  return (
    <Stack direction="column" gap={1}>
      <Field label="Values of" htmlFor="netlens-variable-label" noMargin>
        <Combobox
          id="netlens-variable-label"
          width={30}
          options={LABEL_OPTIONS}
          value={parsed.label as ValueLabel}
          onChange={(v) => setLabel(v.value)}
        />
      </Field>
      <Stack gap={2} wrap="wrap">
        {VALUE_LABELS.filter((l) => l !== parsed.label).map((key) => (
          <Field
            key={key}
            label={`${FILTER_TITLES[key]} filter`}
            description="Optional; a value may be a variable such as $namespace"
            htmlFor={`netlens-variable-filter-${key}`}
            noMargin
          >
            <LabelValuesSelect
              id={`netlens-variable-filter-${key}`}
              datasource={datasource}
              label={key}
              width={30}
              value={parsed.filters[key] ?? []}
              filters={parsed.filters as Filters}
              range={range}
              onChange={(values) => setFilter(key, values)}
            />
          </Field>
        ))}
      </Stack>
      <Field
        label="Query"
        description="The same query as text: a label, then filters, e.g. pod?namespace=$namespace&node=$node"
        htmlFor="netlens-variable-query"
        invalid={Boolean(error)}
        noMargin
      >
        <Input
          id="netlens-variable-query"
          value={raw}
          onChange={(e) => setRaw(e.currentTarget.value)}
          onBlur={() => raw !== text && emit(raw.trim())}
        />
      </Field>
      {error && (
        <Alert severity="error" title="This variable query cannot be used">
          {error}
        </Alert>
      )}
    </Stack>
  );
}
