/**
 * The exactly-once rule of the dispatcher on its own: ids at or below the last one are dropped,
 * `sync:required` moves the cursor (down, too) and its refetched state goes before held-back events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatcher, type HookEvents } from '../src/dispatcher.js';
import { createEmitter } from '../src/emitter.js';
import type { ResyncSnapshot } from '../src/types.js';

function setup(load: () => Promise<ResyncSnapshot> = async () => ({ reason: 'expired' })) {
  const emitter = createEmitter<HookEvents>();
  const seen: string[] = [];
  emitter.on('announcement', (data, meta) => seen.push(`${meta.id}:${data.text}${meta.resync ? ':resync' : ''}`));
  emitter.on('balance:updated', (data, meta) => seen.push(`${meta.id}:balance=${data.balance}${meta.resync ? ':resync' : ''}`));
  emitter.on('sync:required', (data, meta) => seen.push(`${meta.id}:sync->${data.last_event_id}`));
  const dispatcher = createDispatcher(emitter, load, null);
  return { dispatcher, seen };
}
const say = (id: number, text = `a${id}`) => ({ id, event: 'announcement', data: { text } });

test('repeats and older ids are dropped, in any interleaving of two sources', () => {
  const { dispatcher, seen } = setup();
  dispatcher.startAt(4);
  for (const id of [3, 4, 5, 6, 5, 6, 7, 6, 8]) dispatcher.deliver(say(id));
  assert.deepEqual(seen, ['5:a5', '6:a6', '7:a7', '8:a8']);
  assert.equal(dispatcher.delivered, 8);
  assert.equal(dispatcher.received, 8);
});

test('unknown events are skipped without breaking the stream', () => {
  const { dispatcher, seen } = setup();
  dispatcher.startAt(0);
  dispatcher.deliver({ id: 1, event: 'future:event', data: {} });
  dispatcher.deliver(say(2));
  assert.deepEqual(seen, ['2:a2']);
});

test('sync:required moves the cursor where the server goes on, even below ours', async () => {
  let release!: (s: ResyncSnapshot) => void;
  const { dispatcher, seen } = setup(() => new Promise((r) => (release = r)));
  dispatcher.startAt(100);
  dispatcher.deliver({ id: 20, event: 'sync:required', data: { reason: 'ahead', last_event_id: 20 } });
  dispatcher.deliver({ id: 20, event: 'sync:required', data: { reason: 'ahead', last_event_id: 20 } }); // repeat
  dispatcher.deliver(say(21)); // held back until the refetch is fired
  assert.deepEqual(seen, ['20:sync->20']);
  assert.equal(dispatcher.received, 21);
  assert.equal(dispatcher.delivered, 20);
  release({ reason: 'ahead', me: { id: 2, username: 'alice', role: 'user', balance: 777 } });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(seen, ['20:sync->20', '20:balance=777:resync', '21:a21']);
  assert.equal(dispatcher.delivered, 21);
});

test('rewind forgets held events so the next connection fetches them again', () => {
  const { dispatcher } = setup(() => new Promise(() => undefined));
  dispatcher.startAt(10);
  dispatcher.deliver({ id: 12, event: 'sync:required', data: { reason: 'expired', last_event_id: 12 } });
  dispatcher.deliver(say(13));
  assert.equal(dispatcher.received, 13);
  dispatcher.rewind();
  assert.equal(dispatcher.received, 12);
});
