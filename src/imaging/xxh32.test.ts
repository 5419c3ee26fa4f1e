import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xxh32 } from './xxh32.js';

// Reference values from the xxHash reference implementation (the lz4 package's native addon).
const vectors: Array<[string, number, number]> = [
  ['', 0, 0x02cc5d05],
  ['', 1, 0x0b2cb792],
  ['a', 0, 0x550d7456],
  ['abc', 0, 0x32d153ff],
  ['abc', 1, 0xaa3da8ff],
  ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
  ['x'.repeat(100), 0, 0x4bd30d3a],
  ['x'.repeat(100), 1, 0x92f34d28],
];

test('xxh32 matches the reference implementation', () => {
  for (const [text, seed, expected] of vectors) assert.equal(xxh32(Buffer.from(text), seed), expected, `xxh32(${JSON.stringify(text.slice(0, 12))}, ${seed})`);
});

test('xxh32 of a view equals xxh32 of a copy', () => {
  const big = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3));
  const view = big.subarray(5, 77);
  assert.equal(xxh32(view), xxh32(Buffer.from(view)));
});
