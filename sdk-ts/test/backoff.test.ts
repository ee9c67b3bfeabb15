/** Reconnect delays: full jitter over an exponential ceiling, on top of the server's `retry:` floor. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconnectDelay } from '../src/index.js';

const options = { baseMs: 1000, capMs: 30_000 };

test('the floor is always waited, the random share is below the ceiling', () => {
  assert.equal(reconnectDelay(0, 2000, options, () => 0), 2000);
  assert.equal(reconnectDelay(0, 2000, options, () => 0.999999), 2999);
  assert.equal(reconnectDelay(3, 0, options, () => 0.999999), 7999);
});

test('the ceiling doubles per attempt and stops at the cap', () => {
  const top = (attempt: number) => reconnectDelay(attempt, 0, options, () => 0.999999) + 1;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(top), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  assert.equal(top(1000), 30000);
});

test('delays are spread over the whole range (full jitter, not equal jitter)', () => {
  const samples = Array.from({ length: 2000 }, () => reconnectDelay(4, 0, options));
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  assert.ok(min < 1600, `min ${min}`);
  assert.ok(max > 14400 && max < 16000, `max ${max}`);
});
