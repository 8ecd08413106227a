// The live drop tail in direct mode: the Drops page subscribes through
// Grafana Live (the host's centrifuge server, bridged to the backend's
// RunStream), and a denied packet shows as a new event row within 5 s.
import { deny, eventually, newPage, tableRows, world } from './harness';

const w = world();
const withinMs = 5000;

test('in direct mode, the live tail shows a new drop event within 5 s of the packet', async () => {
  const { page, problems } = await newPage(w, 'light');
  // The centrifuge protocol's JSON frames: the subscribe reply, then a push
  // per publication.
  const frames: Array<{ at: number; text: string }> = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push({ at: Date.now(), text: String(f.payload) })));
  await page.goto(`/a/${w.appId}/drops?var-ds=${w.datasources.direct}&from=now-15m&to=now`);
  await eventually('the events panel to subscribe to the live stream', async () => {
    if (!frames.some((f) => /"id":\d+,"subscribe"/.test(f.text))) {
      throw new Error(`frames so far: ${JSON.stringify(frames.map((f) => f.text.slice(0, 200)))}`);
    }
    return true;
  });

  const sent = Date.now();
  await deny(w, 1);
  const row = await eventually(
    'the denied packet as a live event',
    async () =>
      (await tableRows(page)).find(
        (r) => Number(r.time) >= sent && r['dst port'] === String(w.port) && r['src pod'] === w.client.pod
      ),
    withinMs
  );
  const shownAfter = Date.now() - sent;
  console.log(`live tail: the denied packet showed ${shownAfter} ms after it was sent`);
  expect(row.reason).toBe(w.reason);
  expect(row['dst pod']).toBe(w.server.pod);
  // It came through the stream, not a new query.
  expect(frames.some((f) => f.at >= sent && f.text.includes('"push"') && f.text.includes(String(w.port)))).toBe(true);
  expect(shownAfter).toBeLessThanOrEqual(withinMs + 250);
  expect(problems.list).toEqual([]);
  await page.context().close();
});
