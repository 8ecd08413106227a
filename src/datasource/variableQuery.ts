import { NetlensVariableQuery, VALUE_LABELS } from './types';

// The text form of a template variable query: a label whose values to list,
// optionally followed by filters in query-string form, e.g.
// `pod?namespace=$namespace&node=a,b`. Kept apart from datasource.ts so the
// variable editor can use it without importing the data source class.

export const VARIABLE_LABELS = VALUE_LABELS;
export const VARIABLE_FILTER_KEYS = ['cluster', 'node', 'namespace', 'pod', 'reason', 'interface'] as const;

export interface ParsedVariableQuery {
  label: string;
  filters: Record<string, string[]>;
}

/** Parses `label` or `label?key=value&key=value` (values may repeat or be comma-separated). */
export function parseVariableQuery(query: string): ParsedVariableQuery {
  const [rawLabel, rawFilters = ''] = query.trim().split('?', 2);
  const label = rawLabel.trim();
  if (!(VARIABLE_LABELS as readonly string[]).includes(label)) {
    throw new Error(
      `Variable query "${query}": start with one of ${VARIABLE_LABELS.join(', ')}, e.g. pod?namespace=$namespace`
    );
  }
  const filters: Record<string, string[]> = {};
  for (const [key, value] of new URLSearchParams(rawFilters)) {
    if (!(VARIABLE_FILTER_KEYS as readonly string[]).includes(key)) {
      throw new Error(`Variable query "${query}": unknown filter "${key}", want ${VARIABLE_FILTER_KEYS.join(', ')}`);
    }
    filters[key] = [...(filters[key] ?? []), ...value.split(',').filter((v) => v !== '')];
  }
  return { label, filters };
}

// Characters that keep their meaning inside a query-string value, left readable
// so that `$namespace`, `${node:csv}` and `[[pod]]` stay as the user wrote them.
const READABLE = /%(24|7B|7D|3A|2F|5B|5D|40)/gi;

function encodeValue(v: string): string {
  return encodeURIComponent(v).replace(READABLE, (m) => decodeURIComponent(m));
}

/**
 * Writes the text form parseVariableQuery reads: filters in the order of
 * VARIABLE_FILTER_KEYS, several values comma-separated, empty lists left out.
 * Values are percent-encoded where needed (`&`, `=`, `+`, `%`, spaces ...), so
 * parseVariableQuery gives back exactly the values written (a value cannot
 * contain a comma: commas separate values).
 */
export function formatVariableQuery({ label, filters }: ParsedVariableQuery): string {
  const parts: string[] = [];
  for (const key of VARIABLE_FILTER_KEYS) {
    const values = (filters[key] ?? []).filter((v) => v !== '');
    if (values.length > 0) {
      parts.push(`${key}=${values.map(encodeValue).join(',')}`);
    }
  }
  return parts.length > 0 ? `${label}?${parts.join('&')}` : label;
}

/** The text of a stored variable query: an object from the editor, or a plain string (provisioned or older dashboards). */
export function variableQueryText(target: NetlensVariableQuery | string | undefined | null): string {
  if (typeof target === 'string') {
    return target;
  }
  return typeof target?.query === 'string' ? target.query : '';
}
