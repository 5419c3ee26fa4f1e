import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DestinationStart } from '../api/agent-wire.js';
import { checkDestinationStart, describeDestination } from './destination-backup.js';

const good: DestinationStart = { type: 'backup', destination: { kind: 'client-disk', label: 'LBUSB' }, host: 'desk-a', label: null };
const share = { kind: 'share' as const, name: 'nas', type: 'smb' as const, unc: '//10.219.0.1/backups', username: 'lb', password: 's3cret' };

test('the start answer of a destination backup is checked before anything is mounted', () => {
  assert.equal(checkDestinationStart(good), good);
  assert.ok(checkDestinationStart({ ...good, destination: { kind: 'client-disk', uuid: '1A2B-3C4D' } }));
  assert.ok(checkDestinationStart({ ...good, destination: share, label: 'nightly' }));
  const bad: unknown[] = [
    null,
    { ...good, type: 'restore' },
    { ...good, destination: null },
    { ...good, destination: { kind: 'client-disk' } },
    { ...good, destination: { kind: 'client-disk', label: 'A', uuid: '1a2b-3c4d' } },
    { ...good, destination: { kind: 'client-disk', label: '../../etc' } },
    { ...good, destination: { kind: 'client-disk', label: 'A', extra: 1 } },
    { ...good, destination: { kind: 'nfs', name: 'x' } },
    { ...good, destination: { ...share, unc: 'host/share' } },
    { ...good, destination: { ...share, type: 'nfs' } },
    { ...good, host: '' },
    { ...good, host: 'a\nb' },
    { ...good, label: 'x\u0000' },
  ];
  for (const b of bad) assert.throws(() => checkDestinationStart(b as DestinationStart), /job\/start answer has .*same version/, JSON.stringify(b));
});

test('a destination in words never shows a share\'s password', () => {
  assert.equal(describeDestination({ kind: 'client-disk', label: 'LBUSB' }), 'client disk LABEL=LBUSB');
  assert.equal(describeDestination(share), 'share nas (//10.219.0.1/backups)');
  assert.doesNotMatch(describeDestination(share), /s3cret/);
});
