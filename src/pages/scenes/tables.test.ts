import './intersectionObserver.mock';
import { lastValueFrom } from 'rxjs';
import {
  createDataFrame,
  DataFrame,
  FieldType,
  getFieldDisplayName,
  standardTransformers,
  standardTransformersRegistry,
  transformDataFrame,
  type TransformerRegistryItem,
} from '@grafana/data';

import { dropsLink, rankingTransformations } from './tables';

// Grafana registers its transformers at startup; the test does the same.
beforeAll(() => {
  // Some transformers are exported under two names: register each once.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- Grafana itself provides them at runtime
  const unique = new Map(Object.values(standardTransformers).map((t) => [t.id, t]));
  standardTransformersRegistry.setInit(
    () =>
      [...unique.values()].map((t) => ({
        id: t.id,
        aliasIds: t.aliasIds,
        name: t.name,
        description: t.description,
        transformation: () => Promise.resolve(t),
        editor: () => null,
      })) as unknown as TransformerRegistryItem[]
  );
});

function rates(labels: Record<string, string>, values: number[]): DataFrame {
  return createDataFrame({
    fields: [
      { name: 'Time', type: FieldType.time, values: values.map((_, i) => i * 60_000) },
      { name: 'Value', type: FieldType.number, values, labels },
    ],
  });
}

/** The table's rows by column header (the organize transformation renames through display names). */
function rows(frame: DataFrame) {
  return Array.from({ length: frame.length }, (_, i) =>
    Object.fromEntries(frame.fields.map((f) => [getFieldDisplayName(f, frame), f.values[i]]))
  );
}

describe('rankingTransformations', () => {
  it('turns rate series into rows with their labels, mean and peak, highest mean first, top N only', async () => {
    const input = [
      rates({ namespace: 'quiet', pod: 'a' }, [0, 1, 0]),
      rates({ namespace: 'loud', pod: 'b' }, [10, 20, 30]),
      rates({ namespace: 'spiky', pod: 'c' }, [0, 0, 63]),
    ];
    const [out] = await lastValueFrom(transformDataFrame(rankingTransformations(2), input));
    expect(out.fields.map((f) => getFieldDisplayName(f, out))).toEqual(['namespace', 'pod', 'Mean', 'Peak']);
    expect(rows(out)).toEqual([
      { namespace: 'spiky', pod: 'c', Mean: 21, Peak: 63 },
      { namespace: 'loud', pod: 'b', Mean: 20, Peak: 30 },
    ]);
  });
});

describe('dropsLink', () => {
  it("links a row's value, and the row's other columns it carries, to the Drops page over the same time range", () => {
    expect(dropsLink({ label: 'node' })).toBe(
      '/a/netlens-network-app/drops?var-node=${__value.raw}&${__url_time_range}'
    );
    expect(dropsLink({ label: 'pod', with: ['namespace'] })).toBe(
      '/a/netlens-network-app/drops?var-pod=${__value.raw}&var-namespace=${__data.fields["namespace"]}&${__url_time_range}'
    );
  });
});
