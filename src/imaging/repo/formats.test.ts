// Golden bytes: these pin the on-disk formats. If one fails, a format changed in place:
// give the new layout a new version number instead.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { encodeFrame } from '../lz4-frame.js';
import { IMAGE_ID, chunkRelativePath, isValidChunkSize } from './formats.js';
import { decodeIndex, decodeIndexHeader, digestAt, encodeIndex, encodeIndexHeader, isUnused } from './index-file.js';
import { canonicalJson } from './manifest.js';

test('index header golden bytes', () => {
  const header = encodeIndexHeader({ chunkSize: 4 << 20, diskSize: 10 * 1024 * 1024 + 512, chunkCount: 3 });
  assert.equal(
    header.toString('hex'),
    '4c424f4154494458' + // "LBOATIDX"
      '01000000' + // version 1
      '00004000' + // chunk size 4 MiB
      '0002a00000000000' + // disk size 10 MiB + 512
      '0300000000000000' + // 3 chunks
      '00'.repeat(32),
  );
});

test('index round trip and zero-chunk marking', () => {
  const d1 = createHash('sha256').update('one').digest();
  const index = { chunkSize: 1 << 20, diskSize: 3 << 20, chunkCount: 3, digests: Buffer.concat([d1, Buffer.alloc(32), d1]) };
  const back = decodeIndex(encodeIndex(index));
  assert.deepEqual({ ...back, digests: back.digests.toString('hex') }, { ...index, digests: index.digests.toString('hex') });
  assert.ok(digestAt(back, 0)?.equals(d1));
  assert.equal(digestAt(back, 1), null);
});

test('unused chunks carry their own marker: zeros in the image, skippable on restore', () => {
  const d1 = createHash('sha256').update('one').digest();
  const index = decodeIndex(encodeIndex({ chunkSize: 1 << 20, diskSize: 3 << 20, chunkCount: 3, digests: Buffer.concat([d1, Buffer.alloc(32), Buffer.alloc(32, 0xff)]) }));
  assert.deepEqual([0, 1, 2].map((i) => [digestAt(index, i) === null, isUnused(index, i)]), [[false, false], [true, false], [true, true]]);
});

test('index decoding refuses damage with an integrity error', () => {
  const good = encodeIndex({ chunkSize: 1 << 20, diskSize: (2 << 20) + 1, chunkCount: 3, digests: Buffer.alloc(96, 1) });
  const isIntegrity = (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity';
  assert.throws(() => decodeIndex(good.subarray(0, good.length - 1)), isIntegrity, 'truncated');
  assert.throws(() => decodeIndex(Buffer.concat([good, Buffer.alloc(32)])), isIntegrity, 'padded');
  assert.throws(() => decodeIndex(good.subarray(0, 40)), isIntegrity, 'no header');
  for (const [offset, value] of [[0, 0x4d], [8, 2], [12, 0x03], [24, 9], [40, 1]] as const) {
    const bad = Buffer.from(good);
    bad[offset] = value;
    assert.throws(() => decodeIndexHeader(bad, bad.length), isIntegrity, `byte ${offset}`);
  }
});

test('chunk frame golden bytes: a standard LZ4 frame with content size and no checksums', () => {
  // magic 04224d18 · FLG 68 · BD 70 · content size · header checksum · blocks · end mark 00000000
  assert.equal(
    encodeFrame(Buffer.from('a'.repeat(40))).toString('hex'),
    '04224d18' + '68' + '70' + '2800000000000000' + 'c8' + '0b000000' + '1f6101000f5061616161' + '61' + '00000000',
  );
  // A block that does not shrink is stored raw: size word with the high bit set.
  assert.equal(encodeFrame(Buffer.from('xyz')).toString('hex'), '04224d18' + '68' + '70' + '0300000000000000' + 'cc' + '03000080' + '78797a' + '00000000');
});

test('chunk paths, ids and chunk sizes', () => {
  const d = 'ab'.repeat(32);
  assert.equal(chunkRelativePath(d), `chunks/abab/${d}`);
  assert.ok(IMAGE_ID.test('20261125T181200Z-3fa9c2d1'));
  for (const bad of ['../../etc', '20261125T181200Z-3fa9c2d1/..', '', '20261125T181200Z-3FA9C2D1']) assert.ok(!IMAGE_ID.test(bad), bad);
  assert.ok(isValidChunkSize(4 << 20) && isValidChunkSize(64 << 10));
  assert.ok(!isValidChunkSize(3 << 20) && !isValidChunkSize(8 << 20) && !isValidChunkSize(0));
});

test('canonical JSON sorts keys at every level and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
});
