// The dashboards the app includes (its flavour: the Netlens data source),
// opened by uid as Grafana opens them, in both data source modes: every
// panel's data arrives with no console error, unhandled rejection or failed
// request and no serious axe violation; on Drops, Netlens's own reasons
// panel explains the lab's NETFILTER_DROP drops.
import { eventually, expectAccessible, newPage, world } from './harness';

const w = world();
const dashboards = ['netlens-overview', 'netlens-drops', 'netlens-nic'];

describe.each(['prometheus', 'direct'] as const)('%s mode', (mode) => {
  test.each(dashboards)('dashboard %s', async (uid) => {
    const { page, problems } = await newPage(w, mode === 'direct' ? 'dark' : 'light');
    await page.goto(`/d/${uid}?var-datasource=${w.datasources[mode]}&from=now-15m&to=now`);
    // Every panel that has data shows it: a value row or a stat's value.
    const panels = page.locator('[data-viz-panel-key], section[data-testid^="data-testid Panel header"]');
    await eventually('the panels', async () => ((await panels.count()) > 0 ? true : undefined));
    await eventually('data in the panels', async () => {
      const rows = await page
        .locator('[data-testid$="-row"], [data-testid="standin-stat"]:not([data-value=""])')
        .count();
      if (!rows) {
        throw new Error(`no data shown: ${(await page.locator('main').ariaSnapshot()).slice(0, 3000)}`);
      }
      return rows;
    });
    if (uid === 'netlens-drops') {
      await eventually('the reasons panel to explain the lab drops', async () => {
        if (!(await page.getByText(w.reason, { exact: true }).count())) {
          throw new Error((await page.locator('main').ariaSnapshot()).slice(-3000));
        }
        return true;
      });
    }
    await page.waitForLoadState('networkidle');
    expect(new URL(page.url()).searchParams.get('var-datasource')).toBe(w.datasources[mode]);
    expect(problems.list).toEqual([]);
    await expectAccessible(page);
    await page.context().close();
  });
});
