import type { DataTransformerConfig } from '@grafana/data';
import { PanelBuilders, SceneDataTransformer, type SceneDataProvider } from '@grafana/scenes';

import { prefixRoute, ROUTES } from '../../constants';

/**
 * Transformations that turn rate series into a ranking: one row per series
 * with its labels as columns, the mean and peak over the time range, highest
 * mean first, at most `limit` rows.
 */
export function rankingTransformations(limit: number): DataTransformerConfig[] {
  return [
    { id: 'reduce', options: { reducers: ['mean', 'max'], labelsToFields: true, mode: 'seriesToRows' } },
    { id: 'sortBy', options: { sort: [{ field: 'Mean', desc: true }] } },
    { id: 'limit', options: { limitField: limit } },
    { id: 'organize', options: { excludeByName: { Field: true }, renameByName: { Mean: 'Mean', Max: 'Peak' } } },
  ];
}

/** A label column that links into the Drops page, carrying the row's `with` columns as filters too. */
export interface DrillDown {
  label: string;
  with?: string[];
}

/**
 * The Drops page filtered by a row's value (and the `with` columns of the same
 * row), over the panel's time range: a row of a ranking drills down into the
 * drops of that node, namespace or pod.
 */
export function dropsLink({ label, with: others = [] }: DrillDown): string {
  const params = [
    `var-${label}=\${__value.raw}`,
    ...others.map((o) => `var-${o}=\${__data.fields["${o}"]}`),
    '${__url_time_range}',
  ];
  return `${prefixRoute(ROUTES.Drops)}?${params.join('&')}`;
}

/**
 * A table of the top series of `data` (see rankingTransformations), whose
 * `drillDown` columns link into the Drops page filtered by that value.
 */
export function rankingTable(opts: {
  title: string;
  description: string;
  data: SceneDataProvider;
  unit: string;
  limit?: number;
  drillDown: DrillDown[];
}) {
  const builder = PanelBuilders.table()
    .setTitle(opts.title)
    .setDescription(opts.description)
    .setData(new SceneDataTransformer({ $data: opts.data, transformations: rankingTransformations(opts.limit ?? 10) }))
    .setUnit(opts.unit)
    .setDecimals(2);
  for (const d of opts.drillDown) {
    builder.setOverrides((o) =>
      o.matchFieldsWithName(d.label).overrideLinks([{ title: `Drops of this ${d.label}`, url: dropsLink(d) }])
    );
  }
  return builder.build();
}
