// What every browser test needs: the world the Go side set up, a Chromium
// page that records every console error, unhandled rejection and failed
// request, and axe.
import AxeBuilder from '@axe-core/playwright';
import fs from 'node:fs';
import { Browser, Page, chromium } from 'playwright-core';

export interface World {
  baseURL: string;
  chromium: string;
  prometheusURL: string;
  agentURL: string;
  controlURL: string;
  appId: string;
  datasources: { prometheus: string; direct: string; wrong: string };
  client: { namespace: string; pod: string };
  server: { namespace: string; pod: string };
  reason: string;
  port: number;
  ruleComment: string;
  screenshots: string;
}

export function world(): World {
  const path = process.env.NETLENS_BROWSER_WORLD;
  if (!path) {
    throw new Error('NETLENS_BROWSER_WORLD is not set: run the browser tests through go test ./tests/browser/');
  }
  return JSON.parse(fs.readFileSync(path, 'utf8'));
}

export interface Problems {
  list: string[];
}

let browser: Browser | undefined;

export async function newPage(w: World, theme: 'light' | 'dark'): Promise<{ page: Page; problems: Problems }> {
  browser ??= await chromium.launch({ executablePath: w.chromium, args: ['--no-sandbox'] });
  const context = await browser.newContext({ baseURL: w.baseURL, viewport: { width: 1440, height: 1000 } });
  await context.addCookies([{ name: 'netlens_preview_theme', value: theme, url: w.baseURL }]);
  const page = await context.newPage();
  const problems: Problems = { list: [] };
  page.on('console', (m) => m.type() === 'error' && problems.list.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.list.push(`unhandled: ${e}`));
  page.on('requestfailed', (r) => problems.list.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => r.status() >= 400 && problems.list.push(`HTTP ${r.status()}: ${r.url()}`));
  return { page, problems };
}

export async function closeBrowser() {
  await browser?.close();
  browser = undefined;
}

// Violations in @grafana/ui's own components, which Netlens uses as Grafana
// ships them and cannot fix here; each is matched by rule and element, so
// the same rule elsewhere still fails. RefreshPicker's icon-only buttons
// (refresh, interval menu) carry their names only in a tooltip.
const thirdParty: Array<{ rule: string; target: RegExp }> = [{ rule: 'button-name', target: /toolbar-button$/ }];

// expectAccessible fails on any serious or critical axe violation.
export async function expectAccessible(page: Page) {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => ({ rule: v.id, target: n.target.join(' ') })))
    .filter((n) => !thirdParty.some((t) => t.rule === n.rule && t.target.test(n.target)));
  expect(bad.map((n) => `${n.rule}: ${n.target}`)).toEqual([]);
}
