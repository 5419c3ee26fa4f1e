import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { decodeFrame, encodeFrame } from './lz4-frame.js';

const lz4cli = (args: string[], input: Buffer): Buffer => {
  const r = spawnSync('lz4', args, { input, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`lz4 ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
};

const samples: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([7])],
  ['text', Buffer.from('lifeboat '.repeat(10000))],
  ['random 1 MiB (stored raw)', randomBytes(1 << 20)],
  ['zeros 4 MiB', Buffer.alloc(4 << 20)],
  ['mixed 4 MiB', Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20, 0x41), randomBytes(2 << 20)])],
  ['5 MiB, two blocks', Buffer.concat([Buffer.alloc(3 << 20, 1), randomBytes(2 << 20)])],
];

test('frames round-trip through our decoder', () => {
  for (const [name, raw] of samples) assert.ok(decodeFrame(encodeFrame(raw), raw.length).equals(raw), name);
});

test('the lz4 command line tool decodes our frames', () => {
  for (const [name, raw] of samples) assert.ok(lz4cli(['-d', '-c'], encodeFrame(raw)).equals(raw), name);
});

test('we decode what the lz4 command line tool writes (with its checksums and content size)', () => {
  for (const [name, raw] of samples) {
    for (const flags of [['-1'], ['-9', '--content-size'], ['-1', '-BX'], ['-1', '--no-frame-crc']]) {
      const frame = lz4cli([...flags, '-c'], raw);
      assert.ok(decodeFrame(frame, raw.length).equals(raw), `${name} ${flags.join(' ')}`);
    }
  }
});

test('incompressible data costs only the frame overhead', () => {
  const raw = randomBytes(4 << 20);
  assert.ok(encodeFrame(raw).length <= raw.length + 32);
});

test('a damaged frame is an integrity error, never a crash or an over-read', () => {
  const raw = Buffer.concat([Buffer.from('abc'.repeat(5000)), randomBytes(5000)]);
  const frame = encodeFrame(raw);
  const isIntegrity = (err: unknown) => err instanceof LifeboatError && err.kind === 'integrity';
  // Every truncation.
  for (let cut = 0; cut < frame.length; cut += Math.max(1, Math.floor(frame.length / 300))) {
    assert.throws(() => decodeFrame(frame.subarray(0, cut), raw.length), isIntegrity, `truncated at ${cut}`);
  }
  // Wrong expected size, trailing garbage, bad magic.
  assert.throws(() => decodeFrame(frame, raw.length + 1), isIntegrity);
  assert.throws(() => decodeFrame(frame, raw.length - 1), isIntegrity);
  assert.throws(() => decodeFrame(Buffer.concat([frame, Buffer.from([1])]), raw.length), isIntegrity);
  const badMagic = Buffer.from(frame);
  badMagic[0] = 0;
  assert.throws(() => decodeFrame(badMagic, raw.length), isIntegrity);
});

test('fuzz: random byte flips in frames either decode to the right length or raise an integrity error', () => {
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const raw = Buffer.concat([Buffer.from('lifeboat chunk '.repeat(3000)), randomBytes(3000)]);
  const frame = encodeFrame(raw);
  for (let round = 0; round < 3000; round++) {
    const bad = Buffer.from(frame);
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips; f++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
    try {
      const out = decodeFrame(bad, raw.length);
      assert.equal(out.length, raw.length);
    } catch (err) {
      assert.ok(err instanceof LifeboatError && err.kind === 'integrity', `round ${round}: ${(err as Error).message}`);
    }
  }
});

test('decoding into a caller buffer never writes past the expected size', () => {
  const raw = Buffer.alloc(100000, 9);
  const out = Buffer.alloc(200000, 0xee);
  decodeFrame(encodeFrame(raw), raw.length, 'frame', out);
  assert.equal(out[raw.length], 0xee);
});
