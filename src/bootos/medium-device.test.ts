import test from 'node:test';
import assert from 'node:assert/strict';
import type { Inspected } from '../devices/index.js';
import { mediumTargetRefusal, overwriteQuestion } from './medium-device.js';

const disk = (over: Partial<Inspected> = {}): Inspected => ({
  path: '/dev/sdc',
  resolved: '/dev/sdc',
  type: 'block',
  identity: { kind: 'block', dev: '8:32' },
  canonical: '/dev/sdc',
  claimed: false,
  danglingSymlink: false,
  kind: 'disk',
  name: 'sdc',
  parent: null,
  loop: null,
  above: [],
  holders: [],
  below: [],
  mounts: [],
  swaps: [],
  ...over,
});

test('a boot medium goes onto a whole disk nothing uses, never the appliance own disk', () => {
  const none = new Map<string, string[]>();
  assert.equal(mediumTargetRefusal(disk(), none), null);
  assert.match(mediumTargetRefusal(disk({ type: 'file', kind: 'file' }), none) ?? '', /not a block device/);
  assert.match(mediumTargetRefusal(disk({ path: '/dev/sdc1', kind: 'partition', name: 'sdc1', parent: 'sdc' }), none) ?? '', /partition sdc1 of disk sdc, not a whole disk: .*\/dev\/sdc/);
  assert.match(mediumTargetRefusal(disk({ kind: 'dm', name: 'dm-0' }), none) ?? '', /device-mapper/);
  assert.match(mediumTargetRefusal(disk({ kind: 'loop', name: 'loop3', loop: { backingFile: '/x.img', offset: 1048576, sizeLimit: 0, backing: null, backingIsPartition: false } }), none) ?? '', /over part of \/x\.img/);
  assert.match(mediumTargetRefusal(disk(), new Map([['sdc', ['/ (the root filesystem)']]])) ?? '', /appliance's own disk \(sdc holds \/ \(the root filesystem\)\)/);
  assert.match(mediumTargetRefusal(disk({ above: ['sdc2'] }), new Map([['sdc2', ['the image store']]])) ?? '', /sdc2 holds the image store/);
  assert.match(mediumTargetRefusal(disk({ mounts: [{ mountPoint: '/media/usb', writable: true, device: 'sdc1' }] }), none) ?? '', /mounted at \/media\/usb .*before writing a boot medium onto it/);
  assert.match(mediumTargetRefusal(disk({ swaps: ['/dev/sdc2'] }), none) ?? '', /active swap/);
  assert.match(mediumTargetRefusal(disk({ claimed: true }), none) ?? '', /busy/);
});

test('the question names model, serial, size and every partition that is lost', () => {
  const q = overwriteQuestion({ path: '/dev/sdc', model: 'SanDisk Ultra', serial: '4C530001', sizeBytes: 16 * 2 ** 30, partitions: [{ path: '/dev/sdc1', sizeBytes: 16 * 2 ** 30, fsType: 'vfat', label: 'PHOTOS' }] }, 60 << 20);
  assert.match(q, /onto \/dev\/sdc: SanDisk Ultra, serial 4C530001, 16\.0 GiB\./);
  assert.match(q, /\/dev\/sdc1 {2}16\.0 GiB {2}vfat {2}"PHOTOS"/);
  assert.match(overwriteQuestion({ path: '/dev/sdd', model: null, serial: null, sizeBytes: 1 << 30, partitions: [] }, 1), /unknown model, serial unknown[\s\S]*no partitions found/);
});
