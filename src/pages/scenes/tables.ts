import {
  FieldType,
  FrameMatcherID,
  type CustomTransformOperator,
  type DataFrame,
  type DataTransformerConfig,
} from '@grafana/data';
import { PanelBuilders, SceneDataTransformer } from '@grafana/scenes';
import { map } from 'rxjs';

import { prefixRoute, ROUTES } from '../../constants';
import type { NetlensQuery } from '../../datasource/types';
import { DS_VARIABLE, queryRunner } from './common';

/** The refId of a ranking's counter query is its rate query's plus this. */
const COUNTER_SUFFIX = 'Counter';

/**
 * A ranking's queries: the rate query, and the same series as counters, whose
 * increase over the time range is the Dropped column (the count an operator
 * compares with a rule's counter, which a mean rate cannot give exactly).
 */
export function rankingQueries(rate: NetlensQuery): NetlensQuery[] {
  return [rate, { ...rate, refId: rate.refId + COUNTER_SUFFIX, rate: false }];
}

/**
 * Turns counter samples into what each step added, as Prometheus's increase()
 * counts it: a sample lower than the one before is a reset (an agent
 * restarted), so all of it is new. The sum is the increase over the range.
 */
export function counterSteps(values: ReadonlyArray<number | null>): Array<number | null> {
  let last: number | null = null;
  return values.map((v) => {
    if (v == null || Number.isNaN(v)) {
      return null;
    }
    const step = last == null ? 0 : v >= last ? v - last : v;
    last = v;
    return step;
  });
}

/** counterSteps on the number fields of the frames of `refId`. */
function counterStepsOf(refId: string): CustomTransformOperator {
  const steps = (frame: DataFrame): DataFrame =>
    frame.refId !== refId
      ? frame
      : {
          ...frame,
          fields: frame.fields.map((f) => (f.type === FieldType.number ? { ...f, values: counterSteps(f.values) } : f)),
        };
  return () => (source) => source.pipe(map((frames: DataFrame[]) => frames.map(steps)));
}

/**
 * Transformations that turn a ranking's queries (rankingQueries) into one row
 * per series with its labels as columns: the packets dropped over the time
 * range (the counters' increase, resets counted as Prometheus does), the mean
 * and peak rate; highest mean first, at most `limit` rows.
 */
export function rankingTransformations(
  rateRefId: string,
  limit: number
): Array<DataTransformerConfig | CustomTransformOperator> {
  const byRefId = (refId: string) => ({ id: FrameMatcherID.byRefId, options: refId });
  return [
    {
      id: 'reduce',
      filter: byRefId(rateRefId),
      options: { reducers: ['mean', 'max'], labelsToFields: true, mode: 'seriesToRows' },
    },
    // Grafana's delta reducer skips the step after a reset; summing the steps does not.
    counterStepsOf(rateRefId + COUNTER_SUFFIX),
    {
      id: 'reduce',
      filter: byRefId(rateRefId + COUNTER_SUFFIX),
      options: { reducers: ['sum'], labelsToFields: true, mode: 'seriesToRows' },
    },
    // The series' display names differ between the queries; the labels join them.
    { id: 'organize', options: { excludeByName: { Field: true } } },
    { id: 'merge', options: {} },
    { id: 'sortBy', options: { sort: [{ field: 'Mean', desc: true }] } },
    { id: 'limit', options: { limitField: limit } },
    { id: 'organize', options: { renameByName: { Total: 'Dropped', Mean: 'Mean', Max: 'Peak' } } },
  ];
}

/** A label column that links into the Drops page, carrying the row's `with` columns as filters too. */
export interface DrillDown {
  label: string;
  with?: string[];
}

/**
 * The Drops page filtered by a row's value (and the `with` columns of the same
 * row), over the panel's time range and from the same data source: a row of a ranking drills down into the
 * drops of that node, namespace or pod.
 */
export function dropsLink({ label, with: others = [] }: DrillDown): string {
  const params = [
    // The same data source: the Drops page's own default may be another one.
    `\${${DS_VARIABLE}:queryparam}`,
    `var-${label}=\${__value.raw}`,
    ...others.map((o) => `var-${o}=\${__data.fields["${o}"]}`),
    '${__url_time_range}',
  ];
  return `${prefixRoute(ROUTES.Drops)}?${params.join('&')}`;
}

/**
 * A table of the top series of a rate `query` (see rankingTransformations),
 * whose `drillDown` columns link into the Drops page filtered by that value.
 */
export function rankingTable(opts: {
  title: string;
  description: string;
  query: NetlensQuery;
  unit: string;
  limit?: number;
  drillDown: DrillDown[];
}) {
  const builder = PanelBuilders.table()
    .setTitle(opts.title)
    .setDescription(opts.description)
    .setData(
      new SceneDataTransformer({
        $data: queryRunner(rankingQueries(opts.query)),
        transformations: rankingTransformations(opts.query.refId, opts.limit ?? 10),
      })
    )
    .setUnit(opts.unit)
    .setDecimals(2)
    // A count of packets, not a rate.
    .setOverrides((o) => o.matchFieldsWithName('Dropped').overrideUnit('short').overrideDecimals(0));
  for (const d of opts.drillDown) {
    builder.setOverrides((o) =>
      o.matchFieldsWithName(d.label).overrideLinks([{ title: `Drops of this ${d.label}`, url: dropsLink(d) }])
    );
  }
  return builder.build();
}
