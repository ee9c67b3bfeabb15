/**
 * Client behaviour outside the shared scenarios, against the real server on loopback: state
 * changes, resume points, token changes, the injectable fetch, the `retry:` floor, forced SSE, and
 * network errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, CyberHubError, type ConnectionState, type CyberHubClient } from '../src/index.js';
import { startProxyProcess, startServer, type ProxyProcess, type TestServer } from './support/harness.js';

let server: TestServer;
const clients: CyberHubClient[] = [];
before(async () => {
  server = await startServer();
});
after(async () => {
  for (const client of clients) client.close();
  await server.stop('SIGKILL');
});
/** Creates a client that is closed after the tests even when a test fails half-way. */
function tracked(options: Parameters<typeof createClient>[0]): CyberHubClient {
  const client = createClient(options);
  clients.push(client);
  return client;
}

const fast = { backoff: { baseMs: 100, capMs: 1000 } };

function waitFor<T>(register: (resolve: (value: T) => void) => () => void, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    const off = register((value) => {
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}
const connected = (client: CyberHubClient, transport = 'sse') =>
  waitFor<ConnectionState>((done) => client.onConnectionChange((s) => s.state === 'connected' && s.transport === transport && done(s)));

test('states go connecting -> connected over SSE -> closed, and lastEventId follows the hooks', async () => {
  const client = tracked({ baseUrl: server.url, ...fast });
  await client.login('alice', 'alice-demo-1');
  const states: string[] = [];
  client.onConnectionChange((s) => states.push(`${s.state}/${s.transport}`));
  assert.deepEqual(client.connectionState, { state: 'closed', transport: null });
  assert.equal(client.isLeader, false);
  const up = connected(client);
  await client.connect();
  assert.equal(typeof client.lastEventId, 'number');
  await up;
  assert.equal(client.isLeader, true, 'Node never shares a stream between tabs');
  const balance = waitFor<number>((done) => client.onBalanceUpdated((_, meta) => done(meta.id)));
  const drop = waitFor((done) => client.onDrop(() => done(undefined)));
  const opened = await client.openCase(1);
  const id = await balance;
  await drop;
  assert.ok(client.lastEventId! >= id + 2, 'lastEventId covers the drop that followed');
  assert.equal(opened.balance, (await client.me()).balance);
  client.close();
  assert.deepEqual(states, ['connecting/sse', 'connected/sse', 'closed/null']);
});

test('lastEventId given at creation replays what came after it', async () => {
  const actor = tracked({ baseUrl: server.url });
  await actor.login('bob', 'bob-demo-1');
  const start = (await server.health()).last_event_id;
  await actor.admin.announce('x').catch(() => undefined); // bob is no admin: writes nothing
  const admin = tracked({ baseUrl: server.url });
  await admin.login('admin', 'admin-demo-1');
  await admin.admin.announce('replay me');
  const client = tracked({ baseUrl: server.url, lastEventId: start, ...fast });
  const text = waitFor<string>((done) => client.onAnnouncement((e) => done(e.text)));
  await client.connect();
  assert.equal(await text, 'replay me');
  client.close();
});

test('close then connect resumes from lastEventId', async () => {
  const admin = tracked({ baseUrl: server.url });
  await admin.login('admin', 'admin-demo-1');
  const client = tracked({ baseUrl: server.url, ...fast });
  const seen: string[] = [];
  client.onAnnouncement((e) => seen.push(e.text));
  const up = connected(client);
  await client.connect();
  await up;
  const first = waitFor((done) => client.onAnnouncement(() => done(undefined)));
  await admin.admin.announce('one');
  await first;
  client.close();
  await admin.admin.announce('two');
  await admin.admin.announce('three');
  const third = waitFor((done) => client.onAnnouncement((e) => e.text === 'three' && done(undefined)));
  await client.connect();
  await third;
  client.close();
  assert.deepEqual(seen, ['one', 'two', 'three']);
});

test('setToken on a running stream reconnects as that user from the same cursor', async () => {
  const client = tracked({ baseUrl: server.url, ...fast });
  const up = connected(client);
  await client.connect();
  await up;
  const tokens: (string | null)[] = [];
  client.onTokenChange((t) => tokens.push(t));
  const back = connected(client);
  await client.login('bob', 'bob-demo-1');
  await back;
  const balance = waitFor<number>((done) => client.onBalanceUpdated((e) => done(e.user_id)));
  await client.openCase(1);
  assert.equal(await balance, (await client.me()).id);
  assert.equal(tokens.length, 1);
  client.close();
});

test('every request goes through the injected fetch', async () => {
  const paths: string[] = [];
  const client = tracked({
    baseUrl: server.url + '/',
    ...fast,
    fetch: (input, init) => {
      paths.push(new URL(String(input)).pathname);
      return fetch(input, init);
    },
  });
  await client.login('alice', 'alice-demo-1');
  const up = connected(client);
  await client.connect();
  await up;
  await client.cases();
  client.close();
  assert.deepEqual(paths, ['/v1/auth/login', '/v1/events/poll', '/v1/events', '/v1/cases']);
});

test("a reconnect waits at least the server's retry: advice", async () => {
  const slow = await startServer({ args: ['--retry-ms', '1500'] });
  const proxy: ProxyProcess = await startProxyProcess(slow.url);
  try {
    let cutAt = 0;
    const attempts: number[] = [];
    const client = tracked({
      baseUrl: proxy.url,
      ...fast,
      fetch: (input, init) => {
        if (new URL(String(input)).pathname === '/v1/events' && cutAt) attempts.push(Date.now() - cutAt);
        return fetch(input, init);
      },
    });
    const up = connected(client);
    await client.connect();
    await up;
    cutAt = Date.now();
    const back = connected(client);
    await proxy.command({ action: 'cut' });
    await back;
    client.close();
    assert.ok(attempts[0]! >= 1500, `reconnected after ${attempts[0]} ms`);
  } finally {
    await proxy.close();
    await slow.stop('SIGKILL');
  }
});

test('a throttled stream waits out Retry-After and does not fall back to polls', async () => {
  // One stream per user every 3 s: the reconnect after a cut is answered 429 with Retry-After.
  const strict = await startServer({ args: ['--stream-rate-user', '1/3s'] });
  const proxy: ProxyProcess = await startProxyProcess(strict.url);
  try {
    const client = tracked({ baseUrl: proxy.url, ...fast });
    const states: string[] = [];
    client.onConnectionChange((s) => states.push(`${s.state}/${s.transport}`));
    await client.login('alice', 'alice-demo-1');
    const up = connected(client);
    await client.connect();
    await up;
    const cutAt = Date.now();
    await proxy.command({ action: 'cut' });
    await new Promise((r) => setTimeout(r, 200));
    await connected(client);
    const backAfter = Date.now() - cutAt;
    client.close();
    assert.ok(backAfter >= 1000, `back after ${backAfter} ms`);
    assert.ok(!states.some((s) => s.endsWith('/poll')), states.join(' '));
  } finally {
    await proxy.close();
    await strict.stop('SIGKILL');
  }
});

test("transport 'sse' never falls back, even when streams are refused", async () => {
  const proxy = await startProxyProcess(server.url);
  try {
    await proxy.command({ mode: 'refuse' });
    const client = tracked({ baseUrl: proxy.url, transport: 'sse', ...fast });
    const states: string[] = [];
    client.onConnectionChange((s) => states.push(`${s.state}/${s.transport}`));
    await client.connect();
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(!states.some((s) => s.endsWith('/poll')), states.join(' '));
    assert.equal(client.connectionState.state, 'connecting');
    await proxy.command({ mode: 'pass' });
    await connected(client);
    client.close();
  } finally {
    await proxy.close();
  }
});

test('a call that gets no answer rejects with a network_error CyberHubError', async () => {
  const client = tracked({ baseUrl: 'http://127.0.0.1:9' });
  await assert.rejects(client.cases(), (error: unknown) => {
    assert.ok(error instanceof CyberHubError);
    assert.equal(error.status, 0);
    assert.equal(error.code, 'network_error');
    return true;
  });
});
