// What every browser test needs: the world the Go side set up, a Chromium
// page that records every console error, unhandled rejection and failed
// request, and axe.
import AxeBuilder from '@axe-core/playwright';
import fs from 'node:fs';
import { Browser, BrowserContext, Page, chromium } from 'playwright-core';

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
const open = new Set<BrowserContext>();

// Each Playwright call and navigation fails on its own, naming what it waited
// for, well before Jest's per-test timeout (jest.config.js), which would only
// say that the test was slow: on a loaded machine a page's steps add up.
const actionTimeoutMs = 20_000;
const navigationTimeoutMs = 30_000;
const axeTimeoutMs = 40_000;

export async function newPage(w: World, theme: 'light' | 'dark'): Promise<{ page: Page; problems: Problems }> {
  browser ??= await chromium.launch({ executablePath: w.chromium, args: ['--no-sandbox'] });
  const context = await browser.newContext({ baseURL: w.baseURL, viewport: { width: 1440, height: 1000 } });
  await context.addCookies([{ name: 'netlens_preview_theme', value: theme, url: w.baseURL }]);
  open.add(context);
  context.on('close', () => open.delete(context));
  const page = await context.newPage();
  page.setDefaultTimeout(actionTimeoutMs);
  page.setDefaultNavigationTimeout(navigationTimeoutMs);
  const problems: Problems = { list: [] };
  page.on('console', (m) => m.type() === 'error' && problems.list.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.list.push(`unhandled: ${e}`));
  // A reload or a navigation aborts what the page was still loading: not a failure.
  let navigatedAt = 0;
  page.on('request', (r) => r.isNavigationRequest() && (navigatedAt = Date.now()));
  page.on('requestfailed', (r) => {
    const error = r.failure()?.errorText;
    if (!(error === 'net::ERR_ABORTED' && Date.now() - navigatedAt < 5000)) {
      problems.list.push(`request failed: ${r.url()} ${error}`);
    }
  });
  page.on('response', (r) => r.status() >= 400 && problems.list.push(`HTTP ${r.status()}: ${r.url()}`));
  return { page, problems };
}

// closePages closes what a test left open (one that failed half way), so
// that the next test does not share the browser with its streams.
export async function closePages() {
  await Promise.all([...open].map((c) => c.close()));
}

export async function closeBrowser() {
  await closePages();
  await browser?.close();
  browser = undefined;
}

// Violations in @grafana/ui's own components, which Netlens uses as Grafana
// ships them and cannot fix here; each is matched by rule and by a selector
// the element itself must match, so the same rule elsewhere still fails.
// The refresh picker's run button and a panel header's streaming indicator
// (the live tail; PanelChrome drops its test id, so it is known by its icon)
// are icon-only buttons whose names are only in a tooltip.
const thirdParty: Array<{ rule: string; selector: string }> = [
  { rule: 'button-name', selector: '[data-testid="data-testid RefreshPicker run button"]' },
  { rule: 'button-name', selector: 'button:has(> span > svg[data-testid="icon-circle-mono"])' },
  // The interval button's visible text (1m) is not in its aria-label.
  { rule: 'label-content-name-mismatch', selector: '[data-testid="data-testid RefreshPicker interval button"]' },
];

// expectAccessible fails on any serious or critical axe violation. The
// time-series stand-ins' tables of every point are left out: Grafana draws
// those panels on a canvas, so the tables are the shell's, not a page's, and
// in direct mode (points every second) their thousands of cells made axe
// take minutes on a loaded machine.
export async function expectAccessible(page: Page) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    new AxeBuilder({ page }).exclude('[data-testid="standin-series"]').options({ resultTypes: ['violations'] }).analyze(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`axe did not finish in ${axeTimeoutMs} ms`)), axeTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const bad: string[] = [];
  for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
    for (const n of v.nodes) {
      const target = n.target.join(' ');
      const exempt = thirdParty.filter((t) => t.rule === v.id).map((t) => t.selector);
      const known =
        exempt.length > 0 &&
        (await page
          .locator(target)
          .first()
          .evaluate((e, sel) => e.matches(sel), exempt.join(', '))
          .catch(() => false));
      if (!known) {
        const html = await page
          .locator(target)
          .first()
          .evaluate((e) => e.outerHTML.slice(0, 300))
          .catch(() => '');
        bad.push(`${v.id}: ${target} ${html}`);
      }
    }
  }
  expect(bad).toEqual([]);
}

// eventually polls check until it returns a value other than undefined, or
// fails after timeoutMs saying what it waited for and what it saw last.
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) {
        return v;
      }
      last = 'nothing yet';
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}; last: ${last}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function getJSON(url: string): Promise<any> {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) {
    throw new Error(`${url}: HTTP ${r.status}: ${JSON.stringify(body)}`);
  }
  return body;
}

/** The rule's packet counter: the kernel's count of the denied datagrams. */
export async function ruleCounter(w: World): Promise<number> {
  return (await getJSON(`${w.controlURL}/truth`)).rule;
}

/** Sends n more denied datagrams and answers the rule's counter once it counted them. */
export async function deny(w: World, n: number): Promise<number> {
  return (await getJSON(`${w.controlURL}/deny?n=${n}`)).rule;
}

/** Prometheus's answer to an instant query: [labels, value] per series. */
export async function promInstant(
  w: World,
  expr: string,
  timeSeconds?: number
): Promise<Array<[Record<string, string>, number]>> {
  const params = new URLSearchParams({ query: expr });
  if (timeSeconds !== undefined) {
    params.set('time', String(timeSeconds));
  }
  const body = await getJSON(`${w.prometheusURL}/api/v1/query?${params}`);
  return body.data.result.map((s: { metric: Record<string, string>; value: [number, string] }) => [
    s.metric,
    Number(s.value[1]),
  ]);
}

/** The client's egress drops of the rule's reason, as Prometheus holds them now. */
export async function scrapedClientDrops(w: World): Promise<number | undefined> {
  const expr = `sum(netlens_pod_drop_packets_total{namespace="${w.client.namespace}", pod="${w.client.pod}", direction="egress", reason="${w.reason}"})`;
  const [series] = await promInstant(w, expr);
  return series?.[1];
}

/** Every row of the stand-in tables on the page, as column name to raw value. */
export async function tableRows(page: Page, testid = 'standin-table'): Promise<Array<Record<string, string>>> {
  return page.$$eval(`[data-testid="${testid}-row"]`, (rows) =>
    rows.map((row) =>
      Object.fromEntries(
        Array.from(row.querySelectorAll('td')).map((td) => [
          td.getAttribute('data-field') ?? '',
          td.getAttribute('data-raw') ?? '',
        ])
      )
    )
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
