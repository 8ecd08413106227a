// The numbers on the pages are the kernel's: after denied packets between the
// lab's two pods, the Drops page shows the pod pair, the reason and the count
// the iptables rule counted, in both data source modes; Overview's totals are
// what Prometheus answers for the same PromQL.
import {
  deny,
  eventually,
  newPage,
  promInstant,
  ruleCounter,
  scrapedClientDrops,
  sleep,
  tableRows,
  world,
} from './harness';

const w = world();
const denied = 40;

// Waits until Prometheus holds the rule's whole count, and a few scrapes more,
// so that every step of a range query from now on starts from it.
async function settled(): Promise<number> {
  const rule = await ruleCounter(w);
  await eventually(`Prometheus to hold the rule's ${rule} packets`, async () =>
    (await scrapedClientDrops(w)) === rule ? rule : undefined
  );
  await sleep(3000);
  return rule;
}

describe.each(['prometheus', 'direct'] as const)('%s mode', (mode) => {
  test("Drops shows the denied pod pair, the reason and the rule counter's count", async () => {
    const before = await settled();
    const from = Date.now();
    await sleep(2000);
    const after = await deny(w, denied);
    expect(after - before).toBe(denied);
    await settled();

    const { page, problems } = await newPage(w, 'light');
    const ds = w.datasources[mode];
    await page.goto(`/a/${w.appId}/drops?var-ds=${ds}&var-namespace=${w.client.namespace}&from=${from}&to=now`);
    const ranking = async () => {
      const rows = (await tableRows(page)).filter((r) => 'Dropped' in r);
      const row = (pod: string, direction: string) =>
        rows.find((r) => r.pod === pod && r.direction === direction && r.reason === w.reason);
      const client = row(w.client.pod, 'egress');
      const server = row(w.server.pod, 'ingress');
      if (!client || !server) {
        // What eventually reports when it gives up.
        throw new Error(`rows with Dropped: ${JSON.stringify(rows.slice(0, 8))}`);
      }
      return { client, server };
    };
    const { client, server } = await eventually('the ranking to list the client and the server', ranking);
    expect(client.namespace).toBe(w.client.namespace);
    expect(server.namespace).toBe(w.server.namespace);
    // Both ends of the flow lost exactly the packets the rule dropped.
    expect(Number(client.Dropped)).toBe(after - before);
    expect(Number(server.Dropped)).toBe(after - before);
    expect(problems.list).toEqual([]);
    await page.context().close();
  });
});

test("Overview's drop rate is what Prometheus answers for the panel's own PromQL at the panel's time", async () => {
  await deny(w, 200);
  await settled();
  const { page, problems } = await newPage(w, 'light');
  await page.goto(`/a/${w.appId}/overview?var-ds=${w.datasources.prometheus}&from=now-5m&to=now`);
  const stat = page.locator('[data-testid="standin-stat"]').first();
  await stat.waitFor();
  const [value, time, executed] = await Promise.all(
    ['data-value', 'data-time', 'data-executed'].map((a) => stat.getAttribute(a))
  );
  expect(executed).toMatch(/netlens_drop_packets_total/);
  expect(Number(time)).toBeGreaterThan(0);
  const [[, want]] = await promInstant(w, executed!, Number(time) / 1000);
  expect(Number(value)).toBeCloseTo(want, 9);

  // The rate by reason, at every step where the rule's drops show: the same.
  const series = page.locator('[data-testid="standin-series"]').first();
  const expr = await series.getAttribute('data-executed');
  expect(expr).toMatch(/reason/);
  const points = (await tableRows(page, 'standin-series')).filter((r) => Number(r[w.reason]) > 0);
  expect(points.length).toBeGreaterThan(0);
  for (const p of points) {
    const answer = await promInstant(w, expr!, Number(p.Time) / 1000);
    const forReason = answer.find(([labels]) => labels.reason === w.reason);
    expect([p.Time, Number(p[w.reason])]).toEqual([p.Time, expect.closeTo(forReason![1], 9)]);
  }
  expect(problems.list).toEqual([]);
  await page.context().close();
});
