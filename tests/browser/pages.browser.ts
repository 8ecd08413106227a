// Every app page, and the app's configuration page, loads in both themes
// with no console error, unhandled rejection or failed request, and with no
// serious axe violation. With NETLENS_SCREENSHOTS set, each is also written
// there as <page>-<theme>.png (scripts/screenshots.sh picks docs/img/ from them).
import type { Page } from 'playwright-core';

import { deny, expectAccessible, newPage, sleep, world } from './harness';

const w = world();

// Each app page by its name in screenshots, and its path: the four pages and
// the app's configuration page (Grafana's plugin page).
const pages: Array<[string, (appId: string) => string]> = [
  ...['overview', 'drops', 'nic', 'nodes'].map((p): [string, (appId: string) => string] => [
    p,
    (id) => `/a/${id}/${p}`,
  ]),
  ['configuration', (id) => `/plugins/${id}`],
];

// Screenshots read better with a minute of denied traffic behind them.
beforeAll(async () => {
  if (w.screenshots) {
    for (let i = 0; i < 12; i++) {
      await deny(w, 20 + 15 * (i % 4));
      await sleep(5000);
    }
  }
}, 120_000);

async function screenshot(page: Page, name: string) {
  if (w.screenshots) {
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${w.screenshots}/${name}.png`, fullPage: true });
  }
}

describe.each(['light', 'dark'] as const)('%s theme', (theme) => {
  test.each(pages)('%s page', async (name, path) => {
    const { page, problems } = await newPage(w, theme);
    await page.goto(path(w.appId));
    await page.waitForLoadState('networkidle');
    expect(problems.list).toEqual([]);
    await expectAccessible(page);
    await screenshot(page, `${name}-${theme}`);
    if (name === 'drops') {
      // In direct mode the page also has the live event tail.
      await page.goto(`${path(w.appId)}?var-ds=${w.datasources.direct}&from=now-5m&to=now`);
      await page.getByTestId('standin-table-row').first().waitFor();
      await screenshot(page, `drops-direct-${theme}`);
      expect(problems.list).toEqual([]);
      await expectAccessible(page);
    }
    await page.context().close();
  });
});
