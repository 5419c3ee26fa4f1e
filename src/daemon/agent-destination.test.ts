import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredBody } from '../api/agent-wire.js';
import { LifeboatError } from '../errors.js';
import { destinationStart, storedImageFacts, storedLocation } from './agent-destination.js';

const disk = { name: 'vda', sizeBytes: 256 << 20, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: 'LAB-A' };
const body: StoredBody = {
  imageId: '20261203T100000Z-0a1b2c3d',
  parentId: '20261202T100000Z-0a1b2c3e',
  createdAt: '2026-12-03T10:00:00Z',
  completedAt: '2026-12-03T10:01:00.5Z',
  source: { kind: 'block', size: 256 << 20, logicalSectorSize: 512, physicalSectorSize: 512, model: null, serial: 'LAB-A', name: 'vda' },
  imageBytes: 256 << 20,
  chunkSize: 1 << 20,
  chunkCount: 256,
  contentSha256: 'b'.repeat(64),
  manifestSha256: 'c'.repeat(64),
  stats: { bytesNew: 7 << 20, storedBytesNew: 3 << 20, bytesReused: 1.5, compressionRatio: 2.3 },
  layout: null,
};

test('the start answer of a client disk carries label or uuid only; a share is resolved (unknown: a clear error)', () => {
  assert.deepEqual(destinationStart({ kind: 'client-disk', label: 'LBUSB' }, { host: 'a', label: null, resolveShare: null }), { type: 'backup', destination: { kind: 'client-disk', label: 'LBUSB' }, host: 'a', label: null });
  assert.deepEqual(destinationStart({ kind: 'client-disk', uuid: '1a2b-3c4d' }, { host: 'a', label: 'x', resolveShare: null }).destination, { kind: 'client-disk', uuid: '1a2b-3c4d' });
  assert.throws(() => destinationStart({ kind: 'share', name: 'nas' }, { host: 'a', label: null, resolveShare: null }), /no share named nas/);
  const share = { kind: 'share' as const, name: 'nas', type: 'smb' as const, unc: '//10.0.0.2/b', username: 'u', password: 'p' };
  assert.deepEqual(destinationStart({ kind: 'share', name: 'nas' }, { host: 'a', label: null, resolveShare: () => share }).destination, share);
});

test('the record of a stored image: the job\'s disk, the machine as host, times normalised, no passphrase', () => {
  const f = storedImageFacts(body, { disk, host: 'desk-a', label: 'usb' });
  assert.equal(f.id, body.imageId);
  assert.equal(f.host, 'desk-a');
  assert.equal(f.label, 'usb');
  assert.equal(f.sourcePath, '/dev/vda');
  assert.equal(f.diskSerial, 'LAB-A');
  assert.equal(f.parent, body.parentId);
  assert.equal(f.completedAt, '2026-12-03T10:01:00.500Z');
  assert.equal(f.bytesNew, 7 << 20);
  assert.equal(f.minTargetBytes, 256 << 20);
  assert.equal(f.hasPassphrase, false);
  assert.equal(storedLocation({ kind: 'client-disk', label: 'LBUSB' }), 'client-disk LABEL=LBUSB');
  assert.equal(storedLocation({ kind: 'share', name: 'nas' }), 'share nas');
});

test('a report about another disk than the job started on is refused', () => {
  for (const source of [{ ...body.source, name: 'vdb' }, { ...body.source, serial: 'OTHER' }, { ...body.source, size: 1 << 20 }]) {
    assert.throws(() => storedImageFacts({ ...body, source }, { disk, host: 'a', label: null }), (e: unknown) => e instanceof LifeboatError && e.kind === 'integrity' && /the job started on vda/.test(e.message));
  }
});
