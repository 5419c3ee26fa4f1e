import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { type BackupFacts, backupManifest } from './backup-manifest.js';
import { FINGERPRINTS_ALG } from './repo/formats.js';
import { signManifest, verifyManifest } from './repo/manifest.js';

const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function facts(): BackupFacts {
  return {
    id: '20261125T181200Z-3fa9c2d1',
    label: 'nightly',
    host: 'appliance',
    startedAt: Date.parse('2026-11-25T18:12:00.250Z'),
    finishedAt: Date.parse('2026-11-25T18:12:03.750Z'),
    source: { path: '-', kind: 'stream', size: 0, logicalSectorSize: 512, physicalSectorSize: 512 },
    imageBytes: 3 * 65536 + 10,
    chunkSize: 65536,
    chunkCount: 4,
    parentId: null,
    indexBytes: randomBytes(64 + 4 * 32),
    fingerprintsBytes: randomBytes(32 + 4 * 16),
    fingerprintSalt: '00112233445566778899aabbccddeeff',
    contentSha256: 'ab'.repeat(32),
    stats: { bytesRead: 1, bytesZero: 2, bytesReused: 3, bytesNew: 4, bytesHashed: 5, chunksZero: 1, chunksUnused: 0, chunksReused: 1, chunksNew: 2, storedBytesNew: 2, compressionRatio: 2, durationMs: 3500 },
    layout: null,
    passphrase: null,
  };
}

test('the manifest is a function of the backup’s facts: sizes from what was imaged, digests of the files as written', () => {
  const f = facts();
  const m = backupManifest(f);
  assert.equal(m.createdAt, '2026-11-25T18:12:00.250Z');
  assert.equal(m.completedAt, '2026-11-25T18:12:03.750Z');
  assert.equal(m.diskSize, f.imageBytes);
  assert.equal(m.source.size, f.imageBytes, 'a stream’s size is what it gave');
  assert.equal(m.source.path, '-');
  assert.deepEqual(m.index, { sha256: hex(f.indexBytes), bytes: f.indexBytes.length });
  assert.deepEqual(m.fingerprints, { alg: FINGERPRINTS_ALG, salt: f.fingerprintSalt, sha256: hex(f.fingerprintsBytes), bytes: f.fingerprintsBytes.length });
  assert.deepEqual(m.content, { alg: 'sha256-of-chunk-sha256', sha256: f.contentSha256 });
  assert.equal(m.parent, null);
  assert.deepEqual(m.stats, f.stats);
  assert.deepEqual(backupManifest(f), m, 'the same facts, the same manifest');
  assert.notDeepEqual(backupManifest({ ...f, indexBytes: Buffer.concat([f.indexBytes, Buffer.alloc(1)]) }).index, m.index);
  const key = randomBytes(32);
  verifyManifest(signManifest(m, key), key, 'built manifest');
});
