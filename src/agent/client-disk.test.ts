import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { type Filesystem, chooseFilesystem, disksBesideDestination, findFilesystems } from './client-disk.js';
import type { DiskInfo } from './inventory.js';

const fs = (device: string, disk: string, type: Filesystem['volume']['type'], label: string | null, uuid: string | null, readOnly = false): Filesystem => ({ device, disk, readOnly, volume: { type, label, uuid } });

const refused = (f: () => unknown, why: RegExp) =>
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof LifeboatError && e.kind === 'user', String(e));
    assert.match(e.message, why);
    return true;
  });

test('the filesystem named by label or UUID, on another disk than the one backed up', () => {
  const found = [fs('vda1', 'vda', 'ext4', 'root', 'aaaaaaaa-0000-0000-0000-000000000001'), fs('vdb', 'vdb', 'ext4', 'LBUSB', '0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d'), fs('sdc1', 'sdc', 'vfat', 'STICK', '1A2B-3C4D')];
  assert.equal(chooseFilesystem(found, { kind: 'client-disk', label: 'LBUSB' }, 'vda').device, 'vdb');
  assert.equal(chooseFilesystem(found, { kind: 'client-disk', uuid: '1a2b-3c4d' }, 'vda').device, 'sdc1');
  assert.equal(chooseFilesystem(found, { kind: 'client-disk', uuid: '0B5A9C1E-7E8F-4B6A-9D3C-2F1E0A9B8C7D' }, 'vda').device, 'vdb');
});

test('refusals say what is wrong and what to do', () => {
  const found = [fs('vda1', 'vda', 'ext4', 'LBUSB', null), fs('vda2', 'vda', 'vfat', 'EFI', '1111-2222')];
  refused(() => chooseFilesystem(found, { kind: 'client-disk', label: 'NOPE' }, 'vda'), /no filesystem with LABEL=NOPE.*vda1 \(ext4 "LBUSB"\).*attach the disk/);
  refused(() => chooseFilesystem([], { kind: 'client-disk', label: 'NOPE' }, 'vda'), /filesystems seen: none/);
  refused(() => chooseFilesystem(found, { kind: 'client-disk', label: 'LBUSB' }, 'vda'), /vda1, on disk vda, the disk being backed up.*attach a separate disk/);
  const twice = [fs('sdb1', 'sdb', 'ext4', 'BK', 'u1'), fs('sdc1', 'sdc', 'ext4', 'BK', 'u2')];
  refused(() => chooseFilesystem(twice, { kind: 'client-disk', label: 'BK' }, 'vda'), /2 filesystems have LABEL=BK \(sdb1, sdc1\).*UUID/);
  refused(() => chooseFilesystem([fs('sdb1', 'sdb', 'ext4', 'BK', null, true)], { kind: 'client-disk', label: 'BK' }, 'vda'), /read-only device/);
  refused(() => chooseFilesystem([fs('sdb1', 'sdb', 'ntfs', null, '0E69C7BF22FBFCB5')], { kind: 'client-disk', uuid: '0e69c7bf22fbfcb5' }, 'vda'), /ntfs, which the boot OS cannot write/);
  // the same label on the source disk and elsewhere: the other one
  assert.equal(chooseFilesystem([...found, fs('vdb', 'vdb', 'ext4', 'LBUSB', null)], { kind: 'client-disk', label: 'LBUSB' }, 'vda').device, 'vdb');
});

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-clientdisk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function disk(name: string): DiskInfo {
  return { name, sizeBytes: 64 << 20, model: null, serial: null, wwid: null, logicalSectorSize: 512, physicalSectorSize: 512, transport: 'virtio', removable: false, rotational: false } as DiskInfo;
}

test('findFilesystems: partitions from sysfs (whole disk when none), their heads read from the device nodes, read-only flags', () => {
  const root = join(dir, 'root');
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  const mk = (name: string, args: string[]) => {
    const p = join(dev, name);
    writeFileSync(p, '');
    truncateSync(p, 16 << 20);
    if (args.length) execFileSync(args[0] as string, [...args.slice(1), p], { stdio: 'ignore' });
  };
  // vda: two partitions (ext4 "root", nothing); vdb: a whole-disk ext4 "LBUSB"; sdc: read-only, one FAT partition
  mk('vda', []);
  mk('vda1', ['mkfs.ext4', '-q', '-F', '-L', 'root']);
  mk('vda2', []);
  mk('vdb', ['mkfs.ext4', '-q', '-F', '-L', 'LBUSB']);
  mk('sdc', []);
  mk('sdc1', ['mkfs.vfat', '-n', 'STICK']);
  const sys = (p: string, text: string) => {
    mkdirSync(join(root, 'sys/block', p, '..'), { recursive: true });
    writeFileSync(join(root, 'sys/block', p), text);
  };
  sys('vda/ro', '0\n');
  sys('vda/vda1/partition', '1\n');
  sys('vda/vda2/partition', '2\n');
  sys('vda/queue/rotational', '0\n'); // not a partition
  sys('vdb/ro', '0\n');
  sys('sdc/ro', '1\n');
  sys('sdc/sdc1/partition', '1\n');
  const found = findFilesystems([disk('vda'), disk('vdb'), disk('sdc')], { root, devicePath: (n) => join(dev, n) });
  assert.deepEqual(
    found.map((f) => [f.device, f.disk, f.volume.type, f.volume.label, f.readOnly]),
    [
      ['vda1', 'vda', 'ext4', 'root', false],
      ['vdb', 'vdb', 'ext4', 'LBUSB', false],
      ['sdc1', 'sdc', 'vfat', 'STICK', true],
    ],
  );
  assert.equal(chooseFilesystem(found, { kind: 'client-disk', label: 'LBUSB' }, 'vda').device, 'vdb');
  refused(() => chooseFilesystem(found, { kind: 'client-disk', label: 'STICK' }, 'vda'), /read-only/);
});

test('a backup naming no disk leaves out the disk holding the destination; none holding it: the clear error', () => {
  const root = join(dir, 'root2');
  const dev = join(dir, 'dev2');
  mkdirSync(dev, { recursive: true });
  for (const [name, args] of [['vda', []], ['vdb', ['mkfs.ext4', '-q', '-F', '-L', 'LBUSB']]] as const) {
    const p = join(dev, name);
    writeFileSync(p, '');
    truncateSync(p, 16 << 20);
    if (args.length) execFileSync(args[0], [...args.slice(1), p], { stdio: 'ignore' });
  }
  const o = { root, devicePath: (n: string) => join(dev, n) };
  assert.deepEqual(disksBesideDestination([disk('vda'), disk('vdb')], { kind: 'client-disk', label: 'LBUSB' }, o).map((d) => d.name), ['vda']);
  assert.deepEqual(disksBesideDestination([disk('vdb')], { kind: 'client-disk', label: 'LBUSB' }, o).map((d) => d.name), ['vdb'], 'the only disk: kept (the choice then refuses it)');
  refused(() => disksBesideDestination([disk('vda'), disk('vdb')], { kind: 'client-disk', label: 'NOPE' }, o), /no filesystem with LABEL=NOPE.*vdb \(ext4 "LBUSB"\)/);
});
