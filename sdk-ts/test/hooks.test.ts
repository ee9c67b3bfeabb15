/**
 * Every event of the protocol has a hook: the event names are read from the generated `ServerEvent`
 * type, so a new server event fails this test until the SDK gets its hook. (The `satisfies` in
 * src/hooks.ts makes the same check at compile time.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, HOOK_OF_EVENT } from '../src/index.js';
import { REPO_ROOT } from './support/harness.js';

const generated = join(REPO_ROOT, 'sdk-ts', 'src', 'generated');

function protocolEventNames(): string[] {
  const source = readFileSync(join(generated, 'ServerEvent.ts'), 'utf8');
  const names = [...source.matchAll(/"event":\s*"([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(names.length >= 10, `found only ${names.length} events in ServerEvent.ts`);
  return names;
}

test('every protocol event has a hook method on the client', () => {
  const client = createClient({ baseUrl: 'http://127.0.0.1:1' });
  const hookOf: Record<string, string> = { ...HOOK_OF_EVENT, ready: 'onConnectionChange' };
  for (const name of protocolEventNames()) {
    const method = hookOf[name];
    assert.ok(method, `protocol event "${name}" has no hook in src/hooks.ts`);
    assert.equal(typeof (client as unknown as Record<string, unknown>)[method], 'function', `client.${method} is missing`);
  }
  for (const extra of ['onEvent', 'onConnectionChange']) {
    assert.equal(typeof (client as unknown as Record<string, unknown>)[extra], 'function');
  }
});

test('the hook table names no event the protocol does not have', () => {
  const names = new Set(protocolEventNames());
  for (const event of Object.keys(HOOK_OF_EVENT)) assert.ok(names.has(event), `hook for unknown event ${event}`);
});

test('every generated wire type is re-exported by the package', () => {
  const wire = readFileSync(join(REPO_ROOT, 'sdk-ts', 'src', 'wire.ts'), 'utf8');
  for (const file of readdirSync(generated).filter((f) => f.endsWith('.ts'))) {
    const name = file.replace(/\.ts$/, '');
    assert.match(wire, new RegExp(`export type \\{ ${name} \\}`), `src/wire.ts does not re-export ${name}`);
  }
});

test('every hook is exercised by some conformance scenario', () => {
  const dir = join(REPO_ROOT, 'conformance', 'scenarios');
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  for (const method of Object.values(HOOK_OF_EVENT)) {
    const snake = method.slice(2).replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());
    assert.match(text, new RegExp(`"hook": "${snake}"`), `no scenario expects ${snake}`);
  }
});
