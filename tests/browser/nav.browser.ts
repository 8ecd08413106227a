// Moving around the app as an operator does: Overview's rankings drill down
// into Drops with the row's filter, data source and time range; on Drops,
// every control is reachable with Tab and works from the keyboard, and the
// filters and time range it sets survive a reload through the URL.
import type { Locator, Page } from 'playwright-core';

import { eventually, expectAccessible, newPage, tableRows, world } from './harness';

const w = world();

/** The ranking rows of the page (the tables with a Dropped column). */
async function rankingRows(page: Page) {
  return (await tableRows(page)).filter((r) => 'Dropped' in r);
}

/** Describes the focused element, for failure messages. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    return e
      ? `${e.tagName.toLowerCase()} "${e.getAttribute('aria-label') ?? e.innerText?.slice(0, 40) ?? ''}"`
      : 'nothing';
  });
}

/** Presses Tab until target has focus (at most max presses). */
async function tabTo(page: Page, target: Locator, max = 80) {
  if (!(await target.count())) {
    throw new Error(`${target} is not on the page: ${(await page.locator('main').ariaSnapshot()).slice(0, 2500)}`);
  }
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((e) => e === document.activeElement)) {
      return;
    }
  }
  throw new Error(`${target} not reached with ${max} Tabs; focus is on ${await focused(page)}`);
}

test("Overview's namespace ranking drills down into Drops with the namespace, the data source and the time range", async () => {
  const { page, problems } = await newPage(w, 'light');
  // The direct data source is not the default: the link must carry it.
  const from = Date.now() - 20 * 60_000;
  const to = Date.now();
  await page.goto(`/a/${w.appId}/overview?var-ds=${w.datasources.direct}&from=${from}&to=${to}`);
  const link = page.locator('[data-testid="standin-table-row"] a', { hasText: w.client.namespace }).first();
  await eventually('a link to the Drops of the namespace', async () => {
    if (!(await link.count())) {
      throw new Error(
        `rows: ${JSON.stringify(await page.$$eval('[data-testid="standin-table-row"]', (r) => r.slice(0, 3).map((e) => e.outerHTML)))}`
      );
    }
    return true;
  });
  await link.focus();
  await page.keyboard.press('Enter');
  // The page writes its state back into the URL as its scene starts (one
  // variable after another): wait for the state it settles in.
  const url = await eventually('the Drops URL with the namespace filter', async () => {
    const u = new URL(page.url());
    if (!u.pathname.endsWith('/drops') || u.searchParams.get('var-namespace') !== w.client.namespace) {
      throw new Error(`URL ${u}`);
    }
    return u;
  });
  expect(url.pathname).toBe(`/a/${w.appId}/drops`);
  expect(url.searchParams.get('var-ds')).toBe(w.datasources.direct);
  expect(url.searchParams.get('var-namespace')).toBe(w.client.namespace);
  // The same instants (scenes writes them as ISO 8601).
  expect(['from', 'to'].map((k) => Date.parse(url.searchParams.get(k)!))).toEqual([from, to]);
  // The page is filtered: its ranking holds the lab's pods only.
  const rows = await eventually("the Drops page's ranking (by pod, direction and reason)", async () => {
    const all = await rankingRows(page);
    const r = all.filter((row) => 'direction' in row);
    if (!r.length) {
      throw new Error(`rankings on ${page.url()}: ${JSON.stringify(all.slice(0, 4))}`);
    }
    return r.length ? r : undefined;
  });
  expect(new Set(rows.map((r) => r.namespace))).toEqual(new Set([w.client.namespace]));
  expect(problems.list).toEqual([]);
  await page.context().close();
});

test('every control on Drops is reachable with Tab, works from the keyboard, and what it sets survives a reload', async () => {
  const { page, problems } = await newPage(w, 'light');
  await page.goto(`/a/${w.appId}/drops?var-ds=${w.datasources.prometheus}&from=now-15m&to=now`);
  await eventually('the ranking', async () => ((await rankingRows(page)).length ? true : undefined));

  // Reachable: Tab visits every enabled, visible control of the page.
  const controls = await page.$$eval(
    'main :is(a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])):not([disabled])',
    (els) =>
      els
        .filter((e) => (e as HTMLElement).offsetParent !== null || e.getClientRects().length > 0)
        .map((e, i) => {
          e.setAttribute('data-kb', String(i));
          return `${i}: ${e.tagName.toLowerCase()} "${e.getAttribute('aria-label') ?? (e as HTMLElement).innerText?.slice(0, 40) ?? ''}"`;
        })
  );
  expect(controls.length).toBeGreaterThan(10);
  const visited = new Set<string>();
  await page.locator('body').focus();
  for (let i = 0; i < controls.length * 3 && visited.size < controls.length; i++) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => document.activeElement?.closest('[data-kb]')?.getAttribute('data-kb'));
    if (id) {
      visited.add(id);
    }
  }
  expect(controls.filter((c) => !visited.has(c.split(':')[0]))).toEqual([]);

  // Operable: pick a namespace in its variable by typing and Enter; leaving it applies the choice.
  await page.locator('body').focus();
  await tabTo(page, page.getByRole('combobox', { name: 'Namespace', exact: true }));
  await page.keyboard.type(w.client.namespace);
  await page.getByRole('option', { name: w.client.namespace, exact: true }).waitFor();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.waitForURL((u) => u.searchParams.get('var-namespace') === w.client.namespace);

  // The time range: zoom out, by Enter on its button.
  await tabTo(page, page.getByRole('button', { name: 'Zoom out time range' }));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.searchParams.get('from') !== 'now-15m');
  const zoomed = new URL(page.url()).searchParams;

  // Refresh, by Enter: the panels query again.
  await tabTo(page, page.getByTestId('data-testid RefreshPicker run button'));
  const queried = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/ds/query');
  await page.keyboard.press('Enter');
  await queried;

  const before = page.url();
  const picker = page.getByTestId('data-testid TimePicker Open Button');
  const range = await picker.getAttribute('aria-label');
  await page.reload();
  await eventually('the ranking after the reload', async () => ((await rankingRows(page)).length ? true : undefined));
  expect(page.url()).toBe(before);
  expect(await picker.getAttribute('aria-label')).toBe(range);
  expect(new URL(page.url()).searchParams.get('from')).toBe(zoomed.get('from'));
  // The filter still applies: only the lab namespace is ranked.
  const rows = await rankingRows(page);
  expect(new Set(rows.map((r) => r.namespace))).toEqual(new Set([w.client.namespace]));
  await expectAccessible(page);
  expect(problems.list).toEqual([]);
  await page.context().close();
});
