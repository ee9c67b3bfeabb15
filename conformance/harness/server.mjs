// The one place that starts the real CyberHub server for the TypeScript tests (SDK unit tests, the
// conformance runner, the Chromium tests, the figures). Plain JavaScript without dependencies, so
// every package can import it and `node` alone can run it.
//
// Each server gets a fresh temporary directory with its own SQLite file and a free loopback port;
// `stop()`/`start()`/`restart()` keep both, so a restart resumes the same database on the same
// address, as a deploy does.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is conformance/harness/server.mjs). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The server binary: $CYBERHUB_BIN, else the debug build of this checkout. */
export const CYBERHUB_BIN = process.env.CYBERHUB_BIN || join(REPO_ROOT, 'target', 'debug', 'cyberhub');

/** The top-up webhook secret that `--demo` configures. */
export const DEMO_TOPUP_SECRET = 'demo-topup-secret';

/** The demo accounts `--demo` creates. */
export const DEMO_USERS = {
  admin: { username: 'admin', password: 'admin-demo-1' },
  alice: { username: 'alice', password: 'alice-demo-1' },
  bob: { username: 'bob', password: 'bob-demo-1' },
};

// Flags every test server gets: short reconnect advice and no shutdown spread, so reconnects after a
// restart take well under a second; a short grace so a SIGTERM does not wait for open streams.
// Drops reach the feed at once: the reveal delay has tests of its own (and the page's roulette).
const TEST_FLAGS = ['--retry-ms', '200', '--shutdown-retry-spread-ms', '0', '--shutdown-grace-secs', '1', '--drop-reveal-ms', '0'];

// The abuse limits, turned off: every test connects from 127.0.0.1 and logs in, streams and writes
// far more often than a member would. Only the flags the binary knows are passed, so the harness
// works with older and newer builds alike.
const RELAXED_LIMITS = [
  '--login-rate-ip', '--login-rate-user', '--stream-rate-ip', '--stream-rate-user',
  '--poll-rate-ip', '--poll-rate-user', '--write-rate-user',
];
let knownFlags = null;
function relaxedLimits() {
  if (knownFlags === null) {
    try {
      knownFlags = execFileSync(CYBERHUB_BIN, ['serve', '--help'], { encoding: 'utf8' });
    } catch {
      knownFlags = '';
    }
  }
  return RELAXED_LIMITS.filter((flag) => knownFlags.includes(`${flag} `)).flatMap((flag) => [flag, 'off']);
}

/** The test defaults whose flag `args` does not set itself (clap refuses a flag given twice). */
function defaultsNotIn(args) {
  const defaults = [...TEST_FLAGS, ...relaxedLimits()];
  const out = [];
  for (let i = 0; i < defaults.length; i += 2) {
    if (!args.includes(defaults[i])) out.push(defaults[i], defaults[i + 1]);
  }
  return out;
}

/** A free loopback port (the OS picks one; nothing else binds it in the instant before we use it). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

async function waitForHealth(url, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`cyberhub exited with ${child.exitCode} before answering /health`);
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return res.json();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`cyberhub did not answer ${url}/health within ${deadlineMs} ms`);
}

/**
 * Starts `cyberhub serve --demo` on a free loopback port with a fresh database.
 * @param {{ args?: string[], port?: number, dir?: string, webDir?: string }} [options]
 *   `args`: extra flags (e.g. `['--heartbeat-secs', '1']`); `webDir`: directory served at `/`.
 */
export async function startServer(options = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cyberhub-test-'));
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(dir, 'server.log');
  const args = [
    'serve', '--demo', '--demo-activity', 'off',
    '--listen', `127.0.0.1:${port}`,
    '--database-url', `sqlite://${join(dir, 'cyberhub.db')}`,
    ...defaultsNotIn(options.args ?? []),
    ...(options.webDir ? ['--web-dir', options.webDir] : []),
    ...(options.args ?? []),
  ];
  let child = null;

  const server = {
    url,
    port,
    dir,
    logPath,
    /** Starts the process (again) and waits until `/health` answers. */
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('server already running');
      const log = openSync(logPath, 'a');
      child = spawn(CYBERHUB_BIN, args, { stdio: ['ignore', log, log], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
      closeSync(log);
      const exited = new Promise((r) => child.once('exit', r));
      child.exited = exited;
      try {
        await waitForHealth(url, child, 20_000);
      } catch (error) {
        throw new Error(`${error.message}\n--- ${logPath}\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
      }
    },
    /** Stops the process with `signal` (SIGTERM: graceful; SIGKILL: like a crash) and waits for it. */
    async stop(signal = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = child.exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    /** Stops and starts again on the same port and database. */
    async restart(signal = 'SIGTERM') {
      await server.stop(signal);
      await server.start();
    },
    /** `GET /health`. */
    async health() {
      return (await fetch(`${url}/health`)).json();
    },
    /** The server's log so far (for failure messages). */
    log() {
      return readFileSync(logPath, 'utf8');
    },
  };
  await server.start();
  return server;
}
