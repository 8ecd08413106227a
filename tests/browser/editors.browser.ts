// The data source's own editors in the pages where Grafana shows them: the
// config editor saves through the host and shows the health check's message
// (a clear error for an unreachable agent, not a blank page); the query
// editor runs a query; the variable editor previews the lab's values.
import { eventually, newPage, scrapedClientDrops, world } from './harness';

const w = world();

test.each([
  ['direct', 'success'],
  ['prometheus', 'success'],
  ['wrong', 'error'],
] as const)('the %s data source: Save & test shows the health check (%s)', async (which, want) => {
  const { page, problems } = await newPage(w, 'light');
  const uid = w.datasources[which];
  await page.goto(`/connections/datasources/edit/${uid}`);
  await page.getByRole('button', { name: 'Save & test' }).click();
  const result = page.getByTestId('datasource-test-result');
  await result.waitFor();
  const text = (await result.innerText()).trim();
  expect(text).not.toBe('');
  expect(await result.getAttribute('data-status')).toBe(want);
  if (want === 'error') {
    expect(text).toMatch(/refused|cannot reach|unreachable/i);
  }
  // Grafana answers a failed health check with 400, which Chromium also logs
  // (without the URL): those two are expected, nothing else.
  const expected = [
    `HTTP 400: ${w.baseURL}/api/datasources/uid/${uid}/health`,
    'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
  ];
  const unexpected = [...problems.list];
  if (want === 'error') {
    for (const e of expected) {
      expect(unexpected).toContain(e);
      unexpected.splice(unexpected.indexOf(e), 1);
    }
  }
  expect(unexpected).toEqual([]);
  await page.context().close();
});

test("Explore runs the query editor's query on the real backend", async () => {
  // The query reads what Prometheus scraped: wait for the lab's first drops there.
  await eventually('Prometheus to hold the lab drops', () => scrapedClientDrops(w));
  const { page, problems } = await newPage(w, 'light');
  await page.goto(`/explore?ds=${w.datasources.prometheus}`);
  await page.getByRole('button', { name: 'Run query' }).click();
  const rows = await eventually('a result row', async () => {
    const n = await page.getByTestId('explore-result-row').count();
    if (n === 0) {
      throw new Error(`no rows; the page says: ${await page.locator('main').innerText()}`);
    }
    return n;
  });
  expect(rows).toBeGreaterThan(0);
  expect(problems.list).toEqual([]);
  await page.context().close();
});

test('the variable editor previews the nodes the agent reports', async () => {
  const { page, problems } = await newPage(w, 'light');
  await page.goto(`/variables?ds=${w.datasources.direct}`);
  const values = await eventually('the preview of values', async () => {
    const v = await page.getByTestId('variable-value').allInnerTexts();
    return v.length ? v : undefined;
  });
  expect(values).toContain('lab-node');
  expect(problems.list).toEqual([]);
  await page.context().close();
});
