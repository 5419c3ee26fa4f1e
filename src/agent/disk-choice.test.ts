import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDisk } from './disk-choice.js';
import type { DiskInfo } from './inventory.js';

const disk = (name: string, serial: string | null, extra: Partial<DiskInfo> = {}): DiskInfo => ({ name, sizeBytes: 64 * 2 ** 30, model: 'QEMU', serial, wwid: null, logicalSectorSize: 512, physicalSectorSize: 512, transport: 'virtio', removable: false, rotational: false, ...extra });
const disks = [disk('sda', 'S-1'), disk('nvme0n1', 'N-2'), disk('sdb', null, { removable: true, transport: 'usb' })];

test('by serial first, then by name; the only fixed disk when the job names none (the USB boot stick does not count)', () => {
  assert.equal(chooseDisk(disks, { serial: 'N-2', name: 'sda' }).name, 'nvme0n1');
  assert.equal(chooseDisk(disks, { serial: null, name: 'sdb' }).name, 'sdb');
  assert.equal(chooseDisk([disks[0]!, disks[2]!], { serial: null, name: null }).name, 'sda');
  assert.equal(chooseDisk([disks[2]!], { serial: null, name: null }).name, 'sdb');
});

test('never a guess: an unknown serial or name, several disks, duplicate serials or no disk are refused with the list', () => {
  assert.throws(() => chooseDisk(disks, { serial: 'X-9', name: 'sda' }), /serial X-9, and this machine has none: its disks are sda 64\.0 GiB QEMU serial S-1; nvme0n1 .*serial N-2; sdb .*\(removable\)/);
  assert.throws(() => chooseDisk(disks, { serial: null, name: 'sdz' }), /disk sdz, and this machine has none/);
  assert.throws(() => chooseDisk(disks, { serial: null, name: null }), /names no disk and this machine has 2: sda .*; nvme0n1 .*choose one in the job/);
  assert.throws(() => chooseDisk([disk('sda', 'D'), disk('sdb', 'D')], { serial: 'D', name: null }), /2 disks report serial D .*refusing to guess/);
  assert.throws(() => chooseDisk([disk('sda', null, { sizeBytes: 0 })], { serial: null, name: null }), /no disk the boot OS can see/);
});
