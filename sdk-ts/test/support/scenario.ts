/**
 * The TypeScript runner of the language-neutral conformance scenarios (conformance/README.md has the
 * format; the Rust SDK runs the same files). It drives real clients of this SDK against the real
 * server, through the test proxy where a scenario says so, records every hook call, and matches the
 * recordings against the scenario's expectations.
 * @module
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, CyberHubError, HOOK_OF_EVENT, type ConnectionState, type CyberHubClient, type TransportMode } from '../../src/index.js';
import { DEMO_TOPUP_SECRET, DEMO_USERS, REPO_ROOT, startProxyProcess, startServer, type ProxyProcess, type TestServer } from './harness.js';

/** One scenario file. */
export interface Scenario {
  name: string;
  description?: string;
  transports?: TransportMode[];
  server_args?: string[];
  clients: Record<string, ClientSpec>;
  steps: Step[];
}

interface ClientSpec {
  user: string | null;
  via?: 'direct' | 'proxy';
  transport?: TransportMode;
  options?: { ready_timeout_ms?: number; sse_retry_ms?: number; watchdog_heartbeats?: number; poll_timeout_secs?: number; last_event_id?: number };
}

type Step = Record<string, unknown>;

interface HookCall {
  hook: string;
  data: unknown;
  meta: { id: number; resync: boolean };
}

interface Recorder {
  client: CyberHubClient;
  calls: HookCall[];
  callsSeen: number;
  events: { id: number; event: string }[];
  connections: ConnectionState[];
  connectionsSeen: number;
  violations: string[];
}

/** The protocol hooks by their language-neutral names (`balance_updated`, ...). */
export const HOOK_NAMES: Record<string, keyof CyberHubClient> = Object.fromEntries(
  Object.values(HOOK_OF_EVENT).map((method) => [snake(method.slice(2)), method]),
);

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());
}
function camel(snakeName: string): string {
  return snakeName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every scenario file under conformance/scenarios/, sorted by name. */
export function loadScenarios(): Scenario[] {
  const dir = join(REPO_ROOT, 'conformance', 'scenarios');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Scenario);
}

/** The transport a run of `mode` should end up on when nothing is in the way. */
function unobstructed(mode: TransportMode): 'sse' | 'poll' {
  return mode === 'poll' ? 'poll' : 'sse';
}

/** Substitutes `$name` strings (whole values) and `${name}` inside strings. */
function substitute(value: unknown, vars: Map<string, unknown>): unknown {
  if (typeof value === 'string') {
    if (/^\$[\w.]+$/.test(value)) {
      const key = value.slice(1);
      if (!vars.has(key)) throw new Error(`unknown variable ${value}`);
      return vars.get(key);
    }
    return value.replace(/\$\{([\w.]+)\}/g, (_, key: string) => {
      if (!vars.has(key)) throw new Error(`unknown variable \${${key}}`);
      return String(vars.get(key));
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, vars)]));
  }
  return value;
}

/** Subset match: objects by the expected keys, arrays element-wise with equal length, scalars equal. */
export function matches(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e));
  }
  if (!actual || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v));
}

function pick(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

async function until(what: () => string | null, withinMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const problem = what();
    if (problem === null) return;
    if (Date.now() > deadline) throw new Error(`${problem} (waited ${withinMs} ms)\n${describe()}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Runs one scenario with one transport mode; rejects with a readable message on the first mismatch. */
export async function runScenario(scenario: Scenario, mode: TransportMode): Promise<void> {
  const server: TestServer = await startServer({ args: scenario.server_args ?? [] });
  const needsProxy = Object.values(scenario.clients).some((c) => c.via === 'proxy');
  const proxy: ProxyProcess | null = needsProxy ? await startProxyProcess(server.url) : null;
  const vars = new Map<string, unknown>([['transport', unobstructed(mode)]]);
  const marks = new Map<string, number>();
  const recorders = new Map<string, Recorder>();
  try {
    for (const [name, spec] of Object.entries(scenario.clients)) {
      const recorder = await createRecorder(spec, mode, spec.via === 'proxy' ? proxy!.url : server.url);
      recorders.set(name, recorder);
      if (spec.user) {
        const me = await recorder.client.me();
        vars.set(`${name}.user_id`, me.id);
      }
    }
    for (const [index, raw] of scenario.steps.entries()) {
      if (Array.isArray(raw.only) && !raw.only.includes(mode)) continue;
      const step = substitute(raw, vars) as Step;
      const started = Date.now();
      if (typeof step.mark === 'string') marks.set(step.mark, started);
      try {
        await runStep(step, { server, proxy, recorders, vars, marks, started });
      } catch (error) {
        throw new Error(`step ${index + 1} ${JSON.stringify(raw)}: ${(error as Error).message}`);
      }
      if (process.env.CONFORMANCE_TRACE) console.error(`  ${Date.now() - started} ms  step ${index + 1} ${JSON.stringify(raw).slice(0, 100)}`);
      for (const [name, r] of recorders) if (r.violations.length) throw new Error(`client ${name}: ${r.violations.join('; ')}`);
    }
    // Nothing left over: no event a scenario did not expect, no late duplicate.
    await new Promise((r) => setTimeout(r, 300));
    for (const [name, r] of recorders) {
      if (r.violations.length) throw new Error(`client ${name}: ${r.violations.join('; ')}`);
      if (r.calls.length > r.callsSeen) {
        throw new Error(`client ${name} got unexpected hook calls: ${JSON.stringify(r.calls.slice(r.callsSeen))}`);
      }
    }
  } finally {
    for (const r of recorders.values()) r.client.close();
    await proxy?.close();
    await server.stop('SIGKILL');
  }
}

async function createRecorder(spec: ClientSpec, mode: TransportMode, baseUrl: string): Promise<Recorder> {
  const o = spec.options ?? {};
  const client = createClient({
    baseUrl,
    transport: spec.transport ?? mode,
    lastEventId: o.last_event_id ?? null,
    readyTimeoutMs: o.ready_timeout_ms,
    sseRetryMs: o.sse_retry_ms ?? 1000,
    watchdogHeartbeats: o.watchdog_heartbeats,
    pollTimeoutSecs: o.poll_timeout_secs ?? 5,
    backoff: { baseMs: 200, capMs: 2000 },
  });
  const r: Recorder = { client, calls: [], callsSeen: 0, events: [], connections: [], connectionsSeen: 0, violations: [] };
  let floor = -1; // ids must rise; a sync_required moves the floor to where the server goes on
  for (const [name, method] of Object.entries(HOOK_NAMES)) {
    (client[method] as (h: (data: unknown, meta: { id: number; resync?: unknown }) => void) => void)((data, meta) => {
      const resync = meta.resync !== undefined;
      r.calls.push({ hook: name, data, meta: { id: meta.id, resync } });
      if (name === 'sync_required') floor = (data as { last_event_id: number }).last_event_id;
      else if (!resync) {
        if (meta.id <= floor) r.violations.push(`${name} id ${meta.id} not above ${floor} (repeat or out of order)`);
        floor = meta.id;
      }
    });
  }
  client.onEvent((event, meta) => r.events.push({ id: meta.id, event: event.event }));
  client.onConnectionChange((state) => r.connections.push(state));
  if (spec.user) {
    const login = DEMO_USERS[spec.user];
    if (!login) throw new Error(`unknown demo user ${spec.user}`);
    await client.login(login.username, login.password);
  }
  return r;
}

interface Context {
  server: TestServer;
  proxy: ProxyProcess | null;
  recorders: Map<string, Recorder>;
  vars: Map<string, unknown>;
  marks: Map<string, number>;
  started: number;
}

function recorderOf(ctx: Context, name: unknown): Recorder {
  const r = ctx.recorders.get(String(name));
  if (!r) throw new Error(`unknown client ${String(name)}`);
  return r;
}

function remaining(ctx: Context, step: Step, fallbackMs: number): number {
  const within = typeof step.within_ms === 'number' ? step.within_ms : fallbackMs;
  const from = typeof step.since === 'string' ? ctx.marks.get(step.since) : ctx.started;
  if (from === undefined) throw new Error(`unknown mark ${String(step.since)}`);
  return Math.max(0, from + within - Date.now());
}

async function runStep(step: Step, ctx: Context): Promise<void> {
  if ('connect' in step) {
    await recorderOf(ctx, step.connect).client.connect();
  } else if ('close' in step) {
    recorderOf(ctx, step.close).client.close();
  } else if ('call' in step) {
    await callStep(step, ctx);
  } else if ('topup' in step) {
    const body = JSON.stringify(step.topup);
    const signature = createHmac('sha256', DEMO_TOPUP_SECRET).update(body).digest('hex');
    const res = await fetch(`${ctx.server.url}/v1/webhooks/topup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cyberhub-signature': `sha256=${signature}` },
      body,
    });
    if (!res.ok) throw new Error(`topup answered ${res.status}: ${await res.text()}`);
  } else if ('revoke' in step) {
    // The session ends elsewhere (another device logs out): the client is not told.
    const token = recorderOf(ctx, step.revoke).client.token;
    if (!token) throw new Error(`client ${String(step.revoke)} has no session to revoke`);
    const res = await fetch(`${ctx.server.url}/v1/auth/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 204) throw new Error(`logout answered ${res.status}`);
  } else if ('expect_token' in step) {
    const r = recorderOf(ctx, step.expect_token);
    const want = step.present !== false;
    const deadline = Date.now() + remaining(ctx, step, 5000);
    while ((r.client.token !== null) !== want) {
      if (Date.now() > deadline) throw new Error(`client ${String(step.expect_token)} token present: ${!want}, expected ${want}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  } else if ('expect' in step) {
    await expectHooks(step, ctx);
  } else if ('expect_connection' in step) {
    await expectConnection(step, ctx);
  } else if ('expect_quiet' in step) {
    const r = recorderOf(ctx, step.expect_quiet);
    await new Promise((res) => setTimeout(res, typeof step.ms === 'number' ? step.ms : 500));
    if (r.calls.length > r.callsSeen) throw new Error(`unexpected hook calls: ${JSON.stringify(r.calls.slice(r.callsSeen))}`);
  } else if ('server' in step) {
    const signal = (step.signal as NodeJS.Signals | undefined) ?? 'SIGTERM';
    if (step.server === 'stop') await ctx.server.stop(signal);
    else if (step.server === 'start') await ctx.server.start();
    else if (step.server === 'restart') await ctx.server.restart(signal);
    else throw new Error(`unknown server action ${String(step.server)}`);
  } else if ('proxy' in step) {
    if (!ctx.proxy) throw new Error('no client uses the proxy');
    const body = step.proxy === 'cut' ? { action: 'cut' } : { mode: String(step.proxy), buffer_kb: step.buffer_kb as number | undefined };
    await ctx.proxy.command(body);
  } else if ('sleep_ms' in step) {
    await new Promise((r) => setTimeout(r, Number(step.sleep_ms)));
  } else if (!('mark' in step)) {
    throw new Error('unknown step');
  }
}

async function callStep(step: Step, ctx: Context): Promise<void> {
  const r = recorderOf(ctx, step.call);
  const path = String(step.method).split('.');
  let target: unknown = r.client;
  for (const part of path.slice(0, -1)) target = (target as Record<string, unknown>)[part];
  const fn = (target as Record<string, unknown>)[camel(path[path.length - 1]!)];
  if (typeof fn !== 'function') throw new Error(`no SDK call ${String(step.method)}`);
  let result: unknown;
  try {
    result = await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, (step.args as unknown[]) ?? []);
  } catch (error) {
    if (!step.error) throw new Error(`call failed: ${String(error)}`);
    if (!(error instanceof CyberHubError)) throw new Error(`rejected with ${String(error)}, not a CyberHubError`);
    const got = { status: error.status, code: error.code };
    if (!matches(got, step.error)) throw new Error(`expected error ${JSON.stringify(step.error)}, got ${JSON.stringify(got)}`);
    return;
  }
  if (step.error) throw new Error(`expected error ${JSON.stringify(step.error)}, call succeeded: ${JSON.stringify(result)}`);
  if (step.result !== undefined && !matches(result, step.result)) {
    throw new Error(`result ${JSON.stringify(result)} does not match ${JSON.stringify(step.result)}`);
  }
  for (const [name, path] of Object.entries((step.save as Record<string, string>) ?? {})) {
    const value = pick(result, path);
    if (value === undefined) throw new Error(`result has no ${path}: ${JSON.stringify(result)}`);
    ctx.vars.set(name, value);
  }
}

async function expectHooks(step: Step, ctx: Context): Promise<void> {
  const r = recorderOf(ctx, step.expect);
  const expected = step.hooks as { hook: string; data?: unknown; resync?: boolean }[];
  for (const e of expected) if (!(e.hook in HOOK_NAMES)) throw new Error(`unknown hook ${e.hook}`);
  const start = r.callsSeen;
  const describe = () => `recorded since the last expectation: ${JSON.stringify(r.calls.slice(start))}`;
  await until(() => (r.calls.length - start >= expected.length ? null : `expected ${expected.length} hook calls, got ${r.calls.length - start}`), remaining(ctx, step, 5000), describe);
  expected.forEach((e, i) => {
    const got = r.calls[start + i]!;
    const ok = got.hook === e.hook && (e.data === undefined || matches(got.data, e.data)) && (e.resync === undefined || got.meta.resync === e.resync);
    if (!ok) throw new Error(`hook call ${i + 1}: expected ${JSON.stringify(e)}, got ${JSON.stringify(got)}\n${describe()}`);
  });
  r.callsSeen = start + expected.length;
  // onEvent mirrors every wire event the other hooks got, in the same order.
  const wire = r.calls.filter((c) => !c.meta.resync);
  const mirrored = wire.every((c, i) => r.events[i]?.id === c.meta.id && snake(HOOK_OF_EVENT[r.events[i]!.event as keyof typeof HOOK_OF_EVENT].slice(2)) === c.hook);
  if (!mirrored || r.events.length !== wire.length) {
    throw new Error(`onEvent does not mirror the hooks: events ${JSON.stringify(r.events)} vs ${JSON.stringify(wire.map((c) => [c.meta.id, c.hook]))}`);
  }
}

async function expectConnection(step: Step, ctx: Context): Promise<void> {
  const r = recorderOf(ctx, step.expect_connection);
  const want = { state: step.state, ...(step.transport === undefined ? {} : { transport: step.transport }) };
  let found = -1;
  await until(
    () => {
      found = r.connections.findIndex((c, i) => i >= r.connectionsSeen && matches(c, want));
      return found >= 0 ? null : `no connection change to ${JSON.stringify(want)}`;
    },
    remaining(ctx, step, 5000),
    () => `connection changes since the last expectation: ${JSON.stringify(r.connections.slice(r.connectionsSeen))}`,
  );
  r.connectionsSeen = found + 1;
}
