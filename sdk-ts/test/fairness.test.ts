/**
 * `verifyOpening` with WebCrypto: the fixed vectors of `conformance/fairness.json` (computed
 * independently, and checked by the server's and the Rust SDK's implementation too), and real
 * openings of the real server verified from their revealed seeds, a tampered one refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createClient, pick, roll, seedHash, verifyOpening, type Opening } from '../src/index.js';
import { REPO_ROOT, startServer, type TestServer } from './support/harness.js';

interface Vector {
  server_seed: string;
  server_seed_hash: string;
  client_seed: string;
  nonce: number;
  roll: number;
  items: { id: number; weight: number }[];
  item_id: number;
}

let server: TestServer;
before(async () => {
  server = await startServer({ args: ['--drop-reveal-ms', '0'] });
});
after(async () => {
  await server.stop('SIGKILL');
});

test('the scheme gives the conformance vectors', async () => {
  const doc = JSON.parse(readFileSync(`${REPO_ROOT}/conformance/fairness.json`, 'utf8')) as { vectors: Vector[] };
  assert.ok(doc.vectors.length >= 5);
  for (const v of doc.vectors) {
    assert.equal(await seedHash(v.server_seed), v.server_seed_hash);
    const r = await roll(v.server_seed, v.client_seed, v.nonce);
    assert.equal(r, v.roll, `roll of ${v.client_seed}:${v.nonce}`);
    assert.equal(pick(r, v.items), v.item_id);
    const opening: Opening = {
      id: 1, case_id: 1, case_name: '', price: 0, opened_at: 0, won_item_id: v.item_id,
      fair: { server_seed_hash: v.server_seed_hash, client_seed: v.client_seed, nonce: v.nonce },
      items: v.items.map((i) => ({ ...i, name: '', rarity: 'common', value: 0 })),
      server_seed: null,
    };
    assert.equal((await verifyOpening(opening, v.server_seed)).valid, true);
  }
});

test('openings of the real server verify from their revealed seeds, and a tampered one does not', async () => {
  const alice = createClient({ baseUrl: server.url });
  await alice.login('alice', 'alice-demo-1');
  const pair = await alice.fairness();
  for (let nonce = 0; nonce < 6; nonce++) {
    const opened = await alice.openCase(1);
    assert.equal(opened.fair.nonce, nonce);
    assert.equal(opened.fair.server_seed_hash, pair.server_seed_hash);
  }
  assert.equal((await alice.openings())[0]!.server_seed, null, 'not checkable before the reveal');
  const rotation = await alice.rotateSeeds();
  assert.equal(rotation.revealed.last_nonce, 5);
  const openings = await alice.openings({ limit: 10 });
  assert.equal(openings.length, 6);
  for (const opening of openings) {
    const check = await verifyOpening(opening, opening.server_seed!);
    assert.equal(check.valid, true, JSON.stringify(check));
  }
  const first = openings[0]!;
  const other = first.items.find((i) => i.id !== first.won_item_id)!.id;
  assert.equal((await verifyOpening({ ...first, won_item_id: other }, first.server_seed!)).valid, false);
  const wrongSeed = await verifyOpening(first, rotation.next.server_seed_hash);
  assert.equal(wrongSeed.hash_matches, false);
  const own = await alice.setClientSeed('desk 7');
  assert.equal(own.next.client_seed, 'desk 7');
  alice.close();
});
