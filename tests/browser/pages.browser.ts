// Every app page loads in both themes with no console error, unhandled
// rejection or failed request, and with no serious axe violation.
import { closeBrowser, expectAccessible, newPage, world } from './harness';

const w = world();
const pages = ['overview', 'drops', 'nic', 'nodes'];

afterAll(closeBrowser);

describe.each(['light', 'dark'] as const)('%s theme', (theme) => {
  test.each(pages)('%s page', async (name) => {
    const { page, problems } = await newPage(w, theme);
    await page.goto(`/a/${w.appId}/${name}`);
    await page.waitForLoadState('networkidle');
    expect(problems.list).toEqual([]);
    await expectAccessible(page);
    if (w.screenshots) {
      await page.screenshot({ path: `${w.screenshots}/${name}-${theme}.png`, fullPage: true });
    }
    await page.context().close();
  });
});
