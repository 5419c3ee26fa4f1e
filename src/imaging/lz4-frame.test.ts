import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { decodeFrame, encodeFrame, lz4Codec } from './lz4-frame.js';

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

/** The content of testdata/npm-lz4-frame.lz4: 4 MiB of text, then 20000 pseudo-random bytes. */
function fixtureContent(): Buffer {
  const text = Buffer.from('Lifeboat frame written by the lz4 npm codec, before the liblz4 addon. '.repeat(70000)).subarray(0, 4 << 20);
  let seed = 2026;
  const noise = Buffer.alloc(20000);
  for (let i = 0; i < noise.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    noise[i] = seed >>> 24;
  }
  return Buffer.concat([text, noise]);
}

test('a frame written by the former codec (the lz4 npm package) still decodes: images made before restore', () => {
  const frame = readFileSync(new URL('./testdata/npm-lz4-frame.lz4', import.meta.url));
  const raw = fixtureContent();
  const out = decodeFrame(frame, raw.length, 'fixture');
  assert.equal(createHash('sha256').update(out).digest('hex'), 'cdabfeb320d0b34d4a4245942a2503b18d4f1407e9dbd394df8dc5e7ffc97d56');
  assert.ok(out.equals(raw));
  // Two blocks: a compressed one, then one stored as is (random bytes do not shrink).
  assert.equal(frame.readUInt32LE(15 + 4 + frame.readUInt32LE(15)) >>> 31, 1);
  // The same liblz4 algorithm at the same level: our encoder writes the same bytes.
  assert.ok(encodeFrame(raw).equals(frame));
});

test('the block codec: bounded by both arrays, 0 when the output does not fit, a negative number for damage', () => {
  const lz4 = lz4Codec();
  const raw = Buffer.from('block '.repeat(5000));
  const room = Buffer.alloc(raw.length + 64, 0xaa);
  const n = lz4.compress(raw, room.subarray(0, raw.length));
  assert.ok(n > 0 && n < raw.length / 10, `compressed to ${n}`);
  assert.equal(room[raw.length], 0xaa, 'nothing written past dst');
  assert.equal(lz4.compress(raw, Buffer.alloc(n - 1)), 0, 'one byte short: does not fit');
  assert.equal(lz4.compress(raw, Buffer.alloc(0)), 0);
  const block = room.subarray(0, n);
  const out = Buffer.alloc(raw.length + 16, 0xbb);
  assert.equal(lz4.decompress(block, out.subarray(0, raw.length)), raw.length);
  assert.ok(out.subarray(0, raw.length).equals(raw));
  assert.equal(out[raw.length], 0xbb);
  assert.ok(lz4.decompress(block, out.subarray(0, raw.length - 1)) < 0, 'output one byte too small');
  assert.ok(lz4.decompress(block.subarray(0, n - 1), out) < 0, 'truncated block');
  assert.ok(lz4.decompress(Buffer.alloc(0), out) < 0, 'empty input');
  // An offset view (a Buffer from the pool, a subarray) is read and written at its own offset.
  const big = Buffer.alloc(n + 10);
  block.copy(big, 10);
  assert.equal(lz4.decompress(big.subarray(10), out), raw.length);
  for (const bad of [[], [raw], [raw, 'x'], ['x', out], [new Uint16Array(4), out], [raw, new Float64Array(4)]] as unknown[][]) {
    assert.throws(() => (lz4.compress as (...a: unknown[]) => number)(...bad), TypeError);
    assert.throws(() => (lz4.decompress as (...a: unknown[]) => number)(...bad), TypeError);
  }
});

test('fuzz: the block decoder on random and mutated input never writes past its output array', () => {
  const lz4 = lz4Codec();
  let seed = 99;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const raw = Buffer.concat([Buffer.from('fuzz the lz4 block decoder '.repeat(400)), randomBytes(500)]);
  const block = Buffer.alloc(raw.length);
  const good = block.subarray(0, lz4.compress(raw, block));
  const arena = Buffer.alloc(raw.length + 4096);
  const guard = Buffer.alloc(arena.length, 0x5c);
  for (let round = 0; round < 5000; round++) {
    const input = round % 2 === 0 ? Buffer.from(good) : randomBytes(1 + Math.floor(rand() * 2000));
    const flips = 1 + Math.floor(rand() * 6);
    for (let f = 0; f < flips && round % 2 === 0; f++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
    const size = Math.floor(rand() * (raw.length + 1));
    arena.fill(0x5c);
    const n = lz4.decompress(input, arena.subarray(0, size));
    assert.ok(Number.isInteger(n) && n <= size, `round ${round}: ${n} > ${size}`);
    assert.ok(arena.subarray(size).equals(guard.subarray(size)), `round ${round}: written past byte ${size}`);
  }
});
