import React, { useCallback, useRef, useState } from 'react';
import { GrafanaTheme2, TimeRange } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { ComboboxOption, MultiCombobox, useStyles2 } from '@grafana/ui';
import { css } from '@emotion/css';

import type { DataSource } from '../datasource';
import { Filters, ValueLabel } from '../types';
import { errorMessage } from '../../errors';

/** The filter labels' titles, shared by the query and variable editors. */
export const FILTER_TITLES: Record<ValueLabel, string> = {
  node: 'Node',
  namespace: 'Namespace',
  pod: 'Pod',
  reason: 'Reason',
  interface: 'Interface',
};

export interface LabelValuesSelectProps {
  /** The id the surrounding Field/InlineField label points at. */
  id: string;
  datasource: Pick<DataSource, 'getResource'>;
  label: ValueLabel;
  value: string[];
  onChange: (values: string[]) => void;
  /** The query's other filters: they narrow the values offered (`pod` within the chosen namespaces). */
  filters?: Filters;
  range?: TimeRange;
  width?: number;
  placeholder?: string;
  /** Set by Field/InlineField. */
  invalid?: boolean;
  'aria-describedby'?: string;
}

/**
 * A multi-select of one label's values, loaded from the backend's
 * `/values/<label>` resource when the field first gets focus (and again when
 * the narrowing filters or the time range changed). Any typed value can be
 * used as well (custom values, template variables), so a failed or empty
 * lookup never blocks editing; the failure is shown under the field. Values
 * are passed on exactly as chosen or typed: the backend escapes them.
 */
export function LabelValuesSelect(props: LabelValuesSelectProps) {
  const { id, datasource, label, value, onChange, filters, range, width, placeholder, invalid } = props;
  const styles = useStyles2(getStyles);
  const [loaded, setLoaded] = useState<string[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  const lastKey = useRef<string>();

  const params = narrowingParams(label, filters, range);
  const key = JSON.stringify(params);

  const load = useCallback(() => {
    if (lastKey.current === key) {
      return;
    }
    lastKey.current = key;
    setLoading(true);
    Promise.resolve()
      .then(() => datasource.getResource(`values/${label}`, params))
      .then((values: unknown) => {
        if (lastKey.current !== key) {
          return;
        }
        setLoaded(Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : []);
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (lastKey.current !== key) {
          return;
        }
        lastKey.current = undefined; // try again on the next focus
        setError(errorMessage(err));
      })
      .finally(() => setLoading(false));
    // params is derived from key
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [datasource, label, key]);

  const options = buildOptions(loaded, value);

  return (
    <div onFocus={load} className={styles.wrapper}>
      <MultiCombobox<string>
        id={id}
        width={width}
        options={options}
        value={value}
        onChange={(selected: Array<ComboboxOption<string>>) => onChange(selected.map((o) => o.value))}
        createCustomValue
        customValueDescription="Use this value"
        loading={loading}
        invalid={invalid || Boolean(error)}
        placeholder={placeholder ?? 'Any'}
        isClearable
      />
      {error && (
        <div role="alert" className={styles.error}>
          Could not load {label} values: {error}. You can still type values.
        </div>
      )}
    </div>
  );
}

/** Loaded values, then the dashboard's variables, then chosen values the list does not have (custom or stale). */
function buildOptions(loaded: string[], chosen: string[]): Array<ComboboxOption<string>> {
  const seen = new Set<string>();
  const out: Array<ComboboxOption<string>> = [];
  const add = (o: ComboboxOption<string>) => {
    if (!seen.has(o.value)) {
      seen.add(o.value);
      out.push(o);
    }
  };
  loaded.forEach((v) => add({ value: v, label: v }));
  templateVariableNames().forEach((name) => add({ value: `$${name}`, label: `$${name}`, group: 'Variables' }));
  chosen.forEach((v) => add({ value: v, label: v }));
  return out;
}

function templateVariableNames(): string[] {
  try {
    return getTemplateSrv()
      .getVariables()
      .map((v) => v.name);
  } catch {
    return []; // no template service (tests, or outside a dashboard)
  }
}

/**
 * Resource parameters: the other filters' literal values (values with a
 * variable are left out: they only mean something once a dashboard expands
 * them) and the time range in ms.
 */
export function narrowingParams(label: string, filters: Filters | undefined, range?: TimeRange) {
  const params: Record<string, string[] | number> = {};
  for (const [key, values] of Object.entries(filters ?? {}) as Array<[string, string[] | undefined]>) {
    const literal = (values ?? []).filter((v) => !v.includes('$') && !v.includes('[['));
    if (key !== label && literal.length > 0) {
      params[key] = literal;
    }
  }
  if (range) {
    params.from = range.from.valueOf();
    params.to = range.to.valueOf();
  }
  return params;
}

const getStyles = (theme: GrafanaTheme2) => ({
  wrapper: css({ display: 'flex', flexDirection: 'column', gap: theme.spacing(0.5) }),
  error: css({ color: theme.colors.error.text, fontSize: theme.typography.bodySmall.fontSize }),
});
