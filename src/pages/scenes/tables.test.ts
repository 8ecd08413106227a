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

import { counterSteps, dropsLink, rankingQueries, rankingTransformations } from './tables';

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

function series(refId: string, labels: Record<string, string>, values: number[]): DataFrame {
  return createDataFrame({
    refId,
    fields: [
      { name: 'Time', type: FieldType.time, values: values.map((_, i) => i * 60_000) },
      // Each query names its series differently (legend formats), as the backend does.
      { name: 'Value', type: FieldType.number, values, labels, config: { displayName: `${refId} ${labels.pod}` } },
    ],
  });
}

/** The table's rows by column header (the organize transformation renames through display names). */
function rows(frame: DataFrame) {
  return Array.from({ length: frame.length }, (_, i) =>
    Object.fromEntries(frame.fields.map((f) => [getFieldDisplayName(f, frame), f.values[i]]))
  );
}

describe('rankingQueries', () => {
  it('asks for the rate and for the same series as counters', () => {
    expect(rankingQueries({ refId: 'pods', queryType: 'podDrops', groupBy: ['namespace', 'pod'], rate: true })).toEqual(
      [
        { refId: 'pods', queryType: 'podDrops', groupBy: ['namespace', 'pod'], rate: true },
        { refId: 'podsCounter', queryType: 'podDrops', groupBy: ['namespace', 'pod'], rate: false },
      ]
    );
  });
});

describe('counterSteps', () => {
  it("is what each sample added, a reset's whole value counted, gaps left as gaps", () => {
    expect(counterSteps([5, 7, null, 7, 2, 4, NaN])).toEqual([0, 2, null, 0, 2, 2, null]);
  });
});

describe('rankingTransformations', () => {
  it("joins each series' rate and counter into a row: its labels, packets dropped, mean and peak; highest mean first, top N only", async () => {
    const input = [
      series('pods', { namespace: 'quiet', pod: 'a' }, [0, 1, 0]),
      series('pods', { namespace: 'loud', pod: 'b' }, [10, 20, 30]),
      series('pods', { namespace: 'spiky', pod: 'c' }, [0, 0, 63]),
      // Counters as the agents export them: b's agent restarted (a reset),
      // c's counter appeared inside the range already at 5.
      series('podsCounter', { namespace: 'quiet', pod: 'a' }, [100, 160, 160]),
      series('podsCounter', { namespace: 'spiky', pod: 'c' }, [5, 5, 3785]),
      series('podsCounter', { namespace: 'loud', pod: 'b' }, [1000, 2200, 600]),
    ];
    const [out, ...rest] = await lastValueFrom(transformDataFrame(rankingTransformations('pods', 2), input));
    expect(rest).toEqual([]);
    expect(out.fields.map((f) => getFieldDisplayName(f, out))).toEqual(['namespace', 'pod', 'Mean', 'Peak', 'Dropped']);
    expect(rows(out)).toEqual([
      { namespace: 'spiky', pod: 'c', Mean: 21, Peak: 63, Dropped: 3780 },
      { namespace: 'loud', pod: 'b', Mean: 20, Peak: 30, Dropped: 1800 },
    ]);
  });
});

describe('dropsLink', () => {
  it("links a row's value, and the row's other columns it carries, to the Drops page over the same time range, from the same data source", () => {
    expect(dropsLink({ label: 'node' })).toBe(
      '/a/netlens-network-app/drops?${ds:queryparam}&var-node=${__value.raw}&${__url_time_range}'
    );
    expect(dropsLink({ label: 'pod', with: ['namespace'] })).toBe(
      '/a/netlens-network-app/drops?${ds:queryparam}&var-pod=${__value.raw}&var-namespace=${__data.fields["namespace"]}&${__url_time_range}'
    );
  });
});
