/**
 * Typed access to the shared, plain-JavaScript test harness in `conformance/` (the server helper and
 * the proxy), which the Rust runner and the browser tests use too.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The repository root (this file runs from sdk-ts/build/test/support/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A running test server (see conformance/harness/server.mjs). */
export interface TestServer {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(signal?: NodeJS.Signals): Promise<void>;
  health(): Promise<{ clients: number; sse_clients: number; poll_clients: number; last_event_id: number }>;
  log(): string;
}

interface ServerModule {
  startServer(options?: { args?: string[]; port?: number; dir?: string; webDir?: string }): Promise<TestServer>;
  DEMO_TOPUP_SECRET: string;
  DEMO_USERS: Record<string, { username: string; password: string }>;
}

const serverModule = (await import(join(REPO_ROOT, 'conformance/harness/server.mjs'))) as ServerModule;

/** Starts `cyberhub serve --demo` on a free loopback port with a fresh database. */
export const startServer = serverModule.startServer;
/** The demo webhook secret. */
export const DEMO_TOPUP_SECRET = serverModule.DEMO_TOPUP_SECRET;
/** The demo logins. */
export const DEMO_USERS = serverModule.DEMO_USERS;

/** The proxy, run as a child process through its documented interface (stdout line + control URL). */
export interface ProxyProcess {
  url: string;
  controlUrl: string;
  command(body: { mode?: string; buffer_kb?: number; action?: string }): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Starts `node conformance/proxy.mjs --upstream <upstream>` and reads its address line. */
export async function startProxyProcess(upstream: string): Promise<ProxyProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'conformance/proxy.mjs'), '--upstream', upstream], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
  });
  const { proxy, control } = JSON.parse(first) as { proxy: string; control: string };
  return {
    url: proxy,
    controlUrl: control,
    async command(body) {
      const res = await fetch(control, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`proxy control: ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
