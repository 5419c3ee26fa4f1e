import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { LifeboatError } from '../../errors.js';
import { type UnsignedManifest, checkPassphrase, makeImageId, makePassphraseVerifier, signManifest, verifyManifest } from './manifest.js';

const key = randomBytes(32);
const unsigned: UnsignedManifest = {
  format: 'lifeboat-manifest',
  version: 1,
  id: makeImageId(new Date('2026-11-25T18:12:00.123Z')),
  label: 'test',
  host: 'h',
  createdAt: '2026-11-25T18:12:00.123Z',
  completedAt: '2026-11-25T18:13:00.000Z',
  source: { path: '/dev/sda', kind: 'block', size: 8 << 20, logicalSectorSize: 512, physicalSectorSize: 4096, serial: 'S1' },
  diskSize: 8 << 20,
  chunkSize: 4 << 20,
  chunkCount: 2,
  parent: null,
  index: { sha256: 'a'.repeat(64), bytes: 128 },
  content: { alg: 'sha256-of-chunk-sha256', sha256: 'b'.repeat(64) },
  stats: { bytesRead: 1, bytesZero: 0, bytesReused: 0, bytesNew: 1, chunksZero: 0, chunksUnused: 0, chunksReused: 0, chunksNew: 1, storedBytesNew: 1, compressionRatio: 1, durationMs: 5 },
  layout: null,
  passphrase: null,
};
const integrity = (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity';

test('image ids carry the UTC time and randomness', () => {
  assert.match(unsigned.id, /^20261125T181200Z-[0-9a-f]{8}$/);
});

test('a signed manifest verifies with its key, and survives a JSON round trip', () => {
  const m = signManifest(unsigned, key);
  verifyManifest(m, key, 'image');
  verifyManifest(JSON.parse(JSON.stringify(m, null, 2)), key, 'image');
});

test('any edit, another key, or a stripped passphrase fails certification', () => {
  const m = signManifest({ ...unsigned, passphrase: makePassphraseVerifier('pw') }, key);
  assert.throws(() => verifyManifest({ ...m, label: 'edited' }, key, 'image'), integrity);
  assert.throws(() => verifyManifest({ ...m, stats: { ...m.stats, bytesNew: 2 } }, key, 'image'), integrity);
  assert.throws(() => verifyManifest({ ...m, passphrase: null }, key, 'image'), integrity);
  assert.throws(() => verifyManifest(m, randomBytes(32), 'image'), integrity);
  assert.throws(() => verifyManifest({ ...m, certification: { ...m.certification, mac: '00' } }, key, 'image'), integrity);
});

test('passphrase verifier: right one passes, wrong one fails, nothing of it is stored in clear', () => {
  const v = makePassphraseVerifier('correct horse');
  assert.ok(checkPassphrase(v, 'correct horse'));
  assert.ok(!checkPassphrase(v, 'correct horsf'));
  assert.ok(!JSON.stringify(v).includes('correct'));
  assert.ok(v.N >= 1 << 15, 'a slow hash');
});
