// Events per second one Node client handles, parse to hook: bytes in, eventsource-parser, JSON,
// the exactly-once filter, the typed hook. Two measurements, medians of RUNS runs:
//  - client alone: a pre-encoded SSE body of N `drop:new` frames handed over by an injected fetch,
//    so the figure is the client's own cost and nothing else;
//  - from the real server: a client resuming from id 0 on a server holding N events replays them
//    over loopback (the server's replay speed counts too).
import { createClient } from '../dist/index.js';
import { startServer } from '../../conformance/harness/server.mjs';

const N = Number(process.env.EVENTS ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function syntheticBody(count) {
  const drop = JSON.stringify({ username: 'alice', case: 'Starter Case', case_id: 1, item: 'Energy drink', rarity: 'uncommon', value: 4000 });
  const head = `retry: 2000\n\nid: 0\nevent: ready\ndata: {"last_event_id":0,"heartbeat_secs":15}\n\n`;
  const chunks = [new TextEncoder().encode(head)];
  let text = '';
  for (let id = 1; id <= count; id++) {
    text += `id: ${id}\nevent: drop:new\ndata: ${drop}\n\n`;
    if (text.length > 64 * 1024) chunks.push(new TextEncoder().encode(text)), (text = '');
  }
  if (text) chunks.push(new TextEncoder().encode(text));
  return chunks;
}

async function clientAlone(chunks, count) {
  const fetch = async (url) => {
    if (String(url).includes('/v1/events/poll')) return Response.json({ events: [], next: 0 });
    let i = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]);
        // then stay open, like a live stream
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
  };
  const client = createClient({ baseUrl: 'http://bench.invalid', fetch, lastEventId: 0 });
  let seen = 0;
  const done = new Promise((resolve) => client.onDrop(() => ++seen === count && resolve()));
  const start = performance.now();
  client.connect();
  await done;
  const seconds = (performance.now() - start) / 1000;
  client.close();
  return count / seconds;
}

async function fromServer(server, count) {
  const client = createClient({ baseUrl: server.url, lastEventId: 0 });
  let seen = 0;
  const done = new Promise((resolve) => client.onAnnouncement(() => ++seen === count && resolve()));
  const start = performance.now();
  client.connect();
  await done;
  const seconds = (performance.now() - start) / 1000;
  client.close();
  return count / seconds;
}

const chunks = syntheticBody(N);
const alone = [];
for (let run = 0; run < RUNS; run++) alone.push(await clientAlone(chunks, N));
console.log(`client alone: ${Math.round(median(alone)).toLocaleString('en')} events/s (median of ${RUNS} runs of ${N.toLocaleString('en')} drop:new frames; runs: ${alone.map((x) => Math.round(x)).join(', ')})`);

const SERVER_EVENTS = Number(process.env.SERVER_EVENTS ?? 5_000);
// The server's stream linger (50 ms by default) paces a backlog of global events at one write per
// window, which would measure the server's pacing, not the client: 0 unless LINGER_MS says otherwise.
const LINGER_MS = process.env.LINGER_MS ?? '0';
const server = await startServer({ args: ['--replay-memory-events', String(SERVER_EVENTS + 100), '--stream-linger-ms', LINGER_MS] });
try {
  const admin = createClient({ baseUrl: server.url });
  await admin.login('admin', 'admin-demo-1');
  const base = (await server.health()).last_event_id;
  for (let i = 0; i < SERVER_EVENTS; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => admin.admin.announce(`bench ${i + j}`)));
  }
  const total = (await server.health()).last_event_id - base;
  const replay = [];
  for (let run = 0; run < RUNS; run++) replay.push(await fromServer(server, total));
  console.log(`from the real server (replay of ${total.toLocaleString('en')} announcements over loopback SSE, --stream-linger-ms ${LINGER_MS}): ${Math.round(median(replay)).toLocaleString('en')} events/s (median of ${RUNS}; runs: ${replay.map((x) => Math.round(x)).join(', ')})`);
} finally {
  await server.stop('SIGKILL');
}
