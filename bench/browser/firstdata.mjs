// Measures, in Chromium, the time from navigation to the first data painted
// on an app page, and the JavaScript the page loaded; run by
// BenchmarkAppFirstData (bench/browser_test.go) against the browser tests'
// world: node firstdata.mjs <world.json> <page path> <runs>.
// Prints one JSON object: the runs' times (ms), the same from the shell's
// boot on, the bytes of JavaScript and the last run's requests.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

const [worldPath, path, runsArg] = process.argv.slice(2);
const w = JSON.parse(fs.readFileSync(worldPath, 'utf8'));
const runs = Number(runsArg);

// First data: a stand-in panel's first value row, or a stat with a value.
const firstData = () => {
  const sel =
    '[data-testid="standin-series-row"], [data-testid="standin-table-row"], [data-testid="standin-stat"]:not([data-value=""])';
  const seen = () => {
    if (window.__firstData === undefined && document.querySelector(sel)) {
      window.__firstData = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, { subtree: true, childList: true, attributes: true });
};

const browser = await chromium.launch({ executablePath: w.chromium, args: ['--no-sandbox'] });
const times = [];
const afterBoot = [];
let js;
let timeline;
for (let i = 0; i < runs; i++) {
  // A new context each run: no HTTP cache, as on a first visit.
  const context = await browser.newContext({ baseURL: w.baseURL, viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  await page.addInitScript(firstData);
  await page.goto(path);
  await page.waitForFunction(() => window.__firstData !== undefined, undefined, { timeout: 60_000 });
  // Paint: the frame after the data reached the DOM.
  times.push(await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(window.__firstData)))));
  // The shell is booted (Grafana's part, here the shell's) when it asks for
  // the app's settings; from there on the time is the plugin's.
  const booted = await page.evaluate(
    () => performance.getEntriesByType('resource').find((e) => e.name.includes('/api/plugins/'))?.startTime
  );
  afterBoot.push(times[times.length - 1] - booted);
  await page.waitForLoadState('networkidle');
  const scripts = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => e.initiatorType === 'script' || e.name.endsWith('.js'))
      .map((e) => ({ url: e.name, bytes: e.decodedBodySize }))
  );
  const urls = scripts.map((s) => new URL(s.url).pathname);
  // Where the time goes: each request's start and end, ms from navigation.
  timeline = await page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .map((e) => `${Math.round(e.startTime)}-${Math.round(e.responseEnd)} ${new URL(e.name).pathname}`)
      .slice(0, 40)
  );
  js = {
    totalBytes: scripts.reduce((a, s) => a + s.bytes, 0),
    pluginBytes: scripts.filter((s) => s.url.includes('/public/plugins/')).reduce((a, s) => a + s.bytes, 0),
    files: urls.length,
    loadedTwice: urls.filter((u, j) => urls.indexOf(u) !== j),
  };
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ times, afterBoot, js, timeline }));
