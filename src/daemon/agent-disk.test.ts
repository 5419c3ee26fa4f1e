import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiskIdentity } from '../api/agent-wire.js';
import type { Job } from '../db/index.js';
import { jobSpecOf } from './agent-hello.js';
import { diskMismatch, parentOf } from './agent-disk.js';
import { targetProblem } from './agent-restore.js';

const disk: DiskIdentity = { name: 'sda', sizeBytes: 1 << 30, logicalSectorSize: 512, physicalSectorSize: 4096, model: 'M', serial: 'S1' };
const job = (over: Partial<Job>): Job => ({ id: 'aaaaaaaaaaaa', type: 'backup', state: 'waiting-for-boot', createdAt: '', updatedAt: '', requestedBy: 'op', ...over });

test('diskMismatch: a job for a serial or a path takes only that disk; a job for the machine takes what the agent chose', () => {
  assert.equal(diskMismatch(job({}), disk, 'desk'), null);
  assert.equal(diskMismatch(job({ diskSerial: 'S1' }), disk, 'desk'), null);
  assert.match(diskMismatch(job({ diskSerial: 'S2' }), disk, 'desk') ?? '', /for disk S2 of desk; the agent chose sda \(serial S1\)/);
  assert.match(diskMismatch(job({ diskSerial: 'S2' }), { ...disk, serial: null }, 'desk') ?? '', /serial unknown/);
  assert.equal(diskMismatch(job({ devicePath: '/dev/sda' }), disk, 'desk'), null);
  assert.match(diskMismatch(job({ devicePath: '/dev/sdb' }), disk, 'desk') ?? '', /for \/dev\/sdb of desk; the agent chose \/dev\/sda/);
});

test('parentOf: the newest image of the same machine and disk serial, with this chunk size', () => {
  const r = (id: string, over: Record<string, unknown> = {}) => ({ id, machineId: 'm1', diskSerial: 'S1', sourcePath: '/dev/sda', diskSize: 1 << 30, chunkSize: 4 << 20, ...over });
  const o = { machineId: 'm1', disk, chunkSize: 4 << 20 };
  assert.equal(parentOf([r('new'), r('old')], o), 'new');
  assert.equal(parentOf([r('other-machine', { machineId: 'm2' }), r('mine')], o), 'mine', 'the same serial on another machine is not this lineage');
  assert.equal(parentOf([r('other-disk', { diskSerial: 'S9' }), r('other-size', { chunkSize: 1 << 20 })], o), null);
  const noSerial = { ...o, disk: { ...disk, serial: null } };
  assert.equal(parentOf([r('serial'), r('path', { diskSerial: undefined })], noSerial), 'path', 'without a serial: same path and size');
  assert.equal(parentOf([r('resized', { diskSerial: undefined, diskSize: 1 })], noSerial), null);
});

test('jobSpecOf: the hello answer\'s job, with defaults (reboot; a restore checks every chunk first on a disk holding partitions)', () => {
  assert.deepEqual(jobSpecOf(job({ label: 'x', diskSerial: 'S1', devicePath: '/dev/sda' })), { id: 'aaaaaaaaaaaa', type: 'backup', disk: { serial: 'S1', name: 'sda' }, label: 'x', end: 'reboot' });
  assert.deepEqual(jobSpecOf(job({ type: 'restore', imageId: '20261203T000000Z-0000abcd', options: { end: 'poweroff', growLast: true, verify: true } })), {
    id: 'aaaaaaaaaaaa',
    type: 'restore',
    imageId: '20261203T000000Z-0000abcd',
    disk: { serial: null, name: null },
    verify: true,
    verifyFirst: 'if-partitioned',
    growLast: true,
    end: 'poweroff',
  });
  for (const verifyFirst of [false, true]) {
    assert.equal((jobSpecOf(job({ type: 'restore', imageId: '20261203T000000Z-0000abcd', options: { verifyFirst } })) as { verifyFirst: unknown }).verifyFirst, verifyFirst, 'the operator\'s choice goes to the agent as it is');
  }
  assert.equal(jobSpecOf(job({ type: 'verify', imageId: '20261203T000000Z-0000abcd' })), null);
});

test('targetProblem: too small a disk, another sector size', () => {
  const m = { id: 'img', diskSize: 1 << 30, layout: null, source: { path: '/dev/sda', kind: 'block' as const, size: 1 << 30, logicalSectorSize: 512, physicalSectorSize: 4096 } };
  assert.equal(targetProblem(m, disk), null);
  assert.match(targetProblem(m, { ...disk, sizeBytes: (1 << 30) - 512 }) ?? '', /needs at least .* choose a larger disk/);
  assert.match(targetProblem(m, { ...disk, logicalSectorSize: 4096 }) ?? '', /4096-byte sectors; image img was made from a disk with 512-byte sectors/);
});
