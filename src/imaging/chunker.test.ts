import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Chunker, nextStreamChunk } from './chunker.js';

function chunksOf(input: Buffer, pieces: number[], chunkSize: number): string[] {
  const c = new Chunker(chunkSize);
  const out: string[] = [];
  const target = Buffer.alloc(chunkSize);
  let pos = 0;
  for (const n of pieces) {
    c.push(input.subarray(pos, pos + n));
    pos += n;
    for (let len = c.take(target); len > 0; len = c.take(target)) out.push(target.toString('hex', 0, len));
  }
  c.push(input.subarray(pos));
  c.end();
  for (let len = c.take(target); len > 0; len = c.take(target)) out.push(target.toString('hex', 0, len));
  assert.ok(c.done);
  return out;
}

test('the chunks are the same fed one byte at a time, in random pieces, or all at once', () => {
  const input = randomBytes(10007);
  const whole = chunksOf(input, [input.length], 1024);
  assert.equal(whole.length, 10);
  assert.equal(whole[9]?.length, (10007 - 9 * 1024) * 2, 'the last chunk is the remainder');
  assert.deepEqual(chunksOf(input, Array(input.length).fill(1), 1024), whole);
  let seed = 7;
  const pieces: number[] = [];
  for (let left = input.length; left > 0; ) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const n = Math.min(left, 1 + (seed % 3000));
    pieces.push(n);
    left -= n;
  }
  assert.deepEqual(chunksOf(input, pieces, 1024), whole);
  assert.equal(whole.join(''), input.toString('hex'));
});

test('an exact multiple of the chunk size ends without an empty chunk; empty input gives none', () => {
  assert.equal(chunksOf(Buffer.alloc(4096, 1), [4096], 1024).length, 4);
  assert.deepEqual(chunksOf(Buffer.alloc(0), [], 1024), []);
});

test('nextStreamChunk reads a stream into chunks', async () => {
  const input = randomBytes(5000);
  const stream = Readable.from([input.subarray(0, 1), input.subarray(1, 3000), input.subarray(3000)]);
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const c = new Chunker(2048);
  const target = Buffer.alloc(2048);
  const got: Buffer[] = [];
  for (let n = await nextStreamChunk(c, it, target); n > 0; n = await nextStreamChunk(c, it, target)) got.push(Buffer.from(target.subarray(0, n)));
  assert.deepEqual(got.map((b) => b.length), [2048, 2048, 904]);
  assert.ok(Buffer.concat(got).equals(input));
});
