import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { crc32 } from './crc32.js';

const vectors: Array<[string, Buffer, number]> = [
  ['empty', Buffer.alloc(0), 0x00000000],
  ['"a"', Buffer.from('a'), 0xe8b7be43],
  ['"123456789" (the catalogue check value)', Buffer.from('123456789'), 0xcbf43926],
  ['quick brown fox', Buffer.from('The quick brown fox jumps over the lazy dog'), 0x414fa339],
  ['32 zero bytes', Buffer.alloc(32), 0x190a55ad],
  ['32 0xFF bytes', Buffer.alloc(32, 0xff), 0xff6cab0b],
];

for (const [name, data, expected] of vectors) {
  test(`crc32 of ${name}`, () => {
    assert.equal(crc32(data), expected);
  });
}

/** Deterministic xorshift32, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test('crc32 agrees with zlib on random buffers', { skip: typeof zlib.crc32 !== 'function' && 'zlib.crc32 needs Node ≥ 20.15' }, () => {
  const next = prng(0xc0ffee);
  for (let i = 0; i < 200; i++) {
    const data = Buffer.alloc(next() % 5000);
    for (let j = 0; j < data.length; j++) data[j] = next() & 0xff;
    assert.equal(crc32(data), zlib.crc32(data), `buffer ${i} of ${data.length} bytes`);
  }
});

test('crc32 gives the same result however its input is split', () => {
  const data = Buffer.from('EFI PART: a GPT header is CRC-checked over its own header-size bytes');
  const whole = crc32(data);
  for (let cut = 0; cut <= data.length; cut++) {
    assert.equal(crc32(data.subarray(cut), crc32(data.subarray(0, cut))), whole, `cut at ${cut}`);
  }
  let running = 0;
  for (const byte of data) running = crc32(Uint8Array.of(byte), running);
  assert.equal(running, whole);
});

test('crc32 returns an unsigned 32-bit value and accepts a Uint8Array', () => {
  const value = crc32(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assert.equal(value, 0xffffffff);
  assert.ok(value >= 0);
});
