/**
 * Provably fair openings: checks an opening against its revealed server seed with WebCrypto (in
 * browsers and Node 20+), by the scheme the server draws with (`protocol/src/fairness.rs`): the
 * seed must hash (SHA-256 of its hex string) to the commitment published before the opening, and
 * `roll = int(hex HMAC-SHA256(key = seed, "{client_seed}:{nonce}")[0..13], 16) / 16^13` must draw
 * the item won: of the items ordered by id, the first whose cumulative weight exceeds
 * `floor(roll × total weight)`. The vectors of `conformance/fairness.json` hold it to the server's.
 * @module
 */
import type { Opening } from './generated/Opening.js';
import type { Verification } from './generated/Verification.js';

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The hex SHA-256 of a server seed's hex string: the commitment published before openings. */
export async function seedHash(serverSeed: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(serverSeed)));
}

/** The roll of the opening `nonce` under a pair, in `[0, 1)`. */
export async function roll(serverSeed: string, clientSeed: string, nonce: number): Promise<number> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(serverSeed), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = hex(await crypto.subtle.sign('HMAC', key, encoder.encode(`${clientSeed}:${nonce}`)));
  // 13 hex digits are 52 bits: exact in a double, and the division by 2^52 is exact too.
  return parseInt(mac.slice(0, 13), 16) / 2 ** 52;
}

/** The item id a roll draws from `{id, weight}` items; `null` when there is nothing to draw. */
export function pick(rollValue: number, items: ReadonlyArray<{ id: number; weight: number }>): number | null {
  const ordered = items.filter((i) => i.weight > 0).sort((a, b) => a.id - b.id);
  const total = ordered.reduce((sum, i) => sum + i.weight, 0);
  if (total <= 0) return null;
  const ticket = Math.floor(rollValue * total);
  let cumulative = 0;
  for (const item of ordered) {
    cumulative += item.weight;
    if (cumulative > ticket) return item.id;
  }
  return null;
}

/**
 * Whether an opening (from `client.openings()`) follows from its revealed server seed. Anyone can
 * run it: it needs the opening's published values and the seed, nothing of the server.
 */
export async function verifyOpening(opening: Opening, serverSeed: string): Promise<Verification> {
  const hashMatches = (await seedHash(serverSeed)) === opening.fair.server_seed_hash;
  const r = await roll(serverSeed, opening.fair.client_seed, opening.fair.nonce);
  const itemId = pick(r, opening.items);
  return { valid: hashMatches && itemId === opening.won_item_id, hash_matches: hashMatches, roll: r, item_id: itemId };
}
