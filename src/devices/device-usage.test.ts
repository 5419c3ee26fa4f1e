import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BlockNode, Identity, KernelView, MountEntry } from './kernel-view.js';
import { systemDevices, usageOf } from './device-usage.js';
import type { Inspected } from './kernel-read.js';
import { daemonRefusal, inUseRefusal } from './device-policy.js';

const node = (name: string, dev: string, more: Partial<BlockNode> = {}): BlockNode => ({ name, dev, parent: null, holders: [], slaves: [], loop: null, ...more });
const mount = (dev: string, mountPoint: string, writable = true, sourceDev: string | null = null): MountEntry & { sourceDev: string | null } => ({ dev, mountPoint, source: '/dev/x', fsType: 'ext4', writable, sourceDev });
const file = (dev: string, ino: number): Identity => ({ kind: 'file', dev, ino: BigInt(ino) });
const block = (dev: string): Identity => ({ kind: 'block', dev });

/**
 * vda (254:0) → vda1 (254:1) mounted at /, vda2 (254:2) swap
 * sdb (8:16) → sdb1 (8:17) → dm-0 (253:0, LVM) mounted at /srv
 * sdc (8:32): nothing; loop0 (7:0) over file (254:1, ino 12) mounted at /mnt/img (btrfs, anonymous 0:50)
 * loop1 (7:1) over sdc with an offset; loop2 (7:2) over loop1
 */
function view(): KernelView {
  return {
    blocks: [
      node('vda', '254:0'),
      node('vda1', '254:1', { parent: 'vda' }),
      node('vda2', '254:2', { parent: 'vda' }),
      node('sdb', '8:16'),
      node('sdb1', '8:17', { parent: 'sdb', holders: ['dm-0'] }),
      node('dm-0', '253:0', { slaves: ['sdb1'] }),
      node('sdc', '8:32'),
      node('loop0', '7:0', { loop: { backingFile: '/var/img/a.img', offset: 0, sizeLimit: 0 } }),
      node('loop1', '7:1', { loop: { backingFile: '/dev/sdc', offset: 1048576, sizeLimit: 0 } }),
      node('loop2', '7:2', { loop: { backingFile: '/dev/loop1', offset: 0, sizeLimit: 0 } }),
      node('loop3', '7:3', { loop: { backingFile: '/dev/vda1', offset: 0, sizeLimit: 0 } }),
    ],
    mounts: [mount('254:1', '/'), mount('253:0', '/srv'), mount('0:50', '/mnt/img', true, '7:0'), mount('7:2', '/mnt/deep', false)],
    swaps: [{ path: '/dev/vda2', type: 'partition', id: block('254:2') }],
    loopBacking: new Map<string, Identity>([
      ['loop0', file('254:1', 12)],
      ['loop1', block('8:32')],
      ['loop2', block('7:1')],
      ['loop3', block('254:1')],
    ]),
  };
}

test('a disk is in use through its partitions, their holders and what is mounted from them', () => {
  const sdb = usageOf(block('8:16'), view());
  assert.equal(sdb.kind, 'disk');
  assert.deepEqual(sdb.above, ['sdb1', 'dm-0']);
  assert.deepEqual(sdb.holders, ['dm-0']);
  assert.deepEqual(sdb.mounts, [{ mountPoint: '/srv', writable: true, device: 'dm-0' }]);
  const vda = usageOf(block('254:0'), view());
  assert.deepEqual(vda.mounts.map((m) => m.mountPoint), ['/']);
  assert.deepEqual(vda.swaps, ['/dev/vda2']);
  assert.ok(vda.above.includes('loop3'), 'a loop device over a partition is built on the disk');
});

test('a partition knows its disk; a dm device its slaves, down to the disk', () => {
  const p = usageOf(block('8:17'), view());
  assert.equal(p.kind, 'partition');
  assert.equal(p.parent, 'sdb');
  const dm = usageOf(block('253:0'), view());
  assert.equal(dm.kind, 'dm');
  assert.deepEqual(dm.below, ['sdb1', 'sdb']);
});

test('loop devices over loop devices over a disk: the mount at the top is found from the disk', () => {
  const sdc = usageOf(block('8:32'), view());
  assert.deepEqual(sdc.above, ['loop1', 'loop2']);
  assert.deepEqual(sdc.holders, [], 'loop devices are not holders');
  assert.deepEqual(sdc.mounts, [{ mountPoint: '/mnt/deep', writable: false, device: 'loop2' }]);
  const l1 = usageOf(block('7:1'), view());
  assert.equal(l1.kind, 'loop');
  assert.deepEqual(l1.loop, { backingFile: '/dev/sdc', offset: 1048576, sizeLimit: 0, backing: 'sdc', backingIsPartition: false });
  assert.equal(usageOf(block('7:3'), view()).loop?.backingIsPartition, true);
});

test('a file is in use when a loop device over it is mounted, matched by st_dev + st_ino (an anonymous-device mount by its source)', () => {
  const f = usageOf(file('254:1', 12), view());
  assert.equal(f.kind, 'file');
  assert.deepEqual(f.above, ['loop0']);
  assert.deepEqual(f.mounts, [{ mountPoint: '/mnt/img', writable: true, device: 'loop0' }]);
  assert.deepEqual(usageOf(file('254:1', 13), view()).mounts, [], 'another inode on the same filesystem');
});

test('an active swap file is found by identity', () => {
  const v = view();
  v.swaps.push({ path: '/swapfile', type: 'file', id: file('254:1', 99) });
  assert.deepEqual(usageOf(file('254:1', 99), v).swaps, ['/swapfile']);
});

test('cycles and unknown names in sysfs do not hang or throw', () => {
  const v: KernelView = { blocks: [node('a', '1:1', { holders: ['b', 'ghost'] }), node('b', '1:2', { holders: ['a'], slaves: ['a', 'nope'] })], mounts: [mount('1:2', '/x')], swaps: [], loopBacking: new Map() };
  assert.deepEqual(usageOf(block('1:1'), v).mounts.map((m) => m.mountPoint), ['/x']);
  assert.deepEqual(usageOf(block('9:9'), v).kind, 'block');
});

test('system devices: the disks under /, swap and the store, through partitions, dm and a loop over a file', () => {
  const v = view();
  const sys = systemDevices(v, [
    { role: '/', dev: '254:1' },
    { role: 'swap', dev: '254:2' },
    { role: 'the store', dev: '253:0' },
    { role: 'the data directory', dev: '0:50' },
  ]);
  assert.deepEqual([...sys.keys()].sort(), ['dm-0', 'loop0', 'sdb', 'sdb1', 'vda', 'vda1', 'vda2']);
  assert.deepEqual(sys.get('vda'), ['/', 'swap', 'the data directory']);
});

function inspected(id: Identity, v: KernelView, more: Partial<Inspected> = {}): Inspected {
  return { ...usageOf(id, v), path: '/dev/x', resolved: '/dev/x', type: id.kind, identity: id, canonical: '/dev/x', claimed: false, danglingSymlink: false, ...more };
}

test('policy: local commands refuse only what is in use; the daemon also partitions, dm, partial loops and the system disk', () => {
  const v = view();
  const ctx = { dockedDir: '/var/lib/lifeboat/docked', system: systemDevices(v, [{ role: '/', dev: '254:1' }]) };
  assert.match(inUseRefusal('restore', inspected(block('8:16'), v)) ?? '', /is mounted at \/srv \(through dm-0, built on it\): unmount it/);
  assert.match(inUseRefusal('backup', inspected(block('8:16'), v)) ?? '', /mounted read-write at \/srv .*would be torn/);
  assert.equal(inUseRefusal('backup', inspected(block('8:32'), v)), null, 'mounted read-only above: a backup may read it');
  assert.match(inUseRefusal('restore', inspected(block('8:32'), v)) ?? '', /mounted at \/mnt\/deep \(through loop2/);
  assert.match(inUseRefusal('restore', inspected(file('254:1', 12), v, { type: 'file' })) ?? '', /mounted at \/mnt\/img .*backing file of loop0/);
  const heldOnly: KernelView = { ...v, mounts: [] };
  assert.match(inUseRefusal('restore', inspected(block('8:16'), heldOnly)) ?? '', /held by dm-0/);
  assert.match(inUseRefusal('restore', inspected(block('8:32'), heldOnly, { claimed: true })) ?? '', /the kernel has it claimed/);
  assert.equal(inUseRefusal('restore', inspected(block('8:32'), heldOnly)), null);

  assert.match(daemonRefusal('backup', inspected(block('254:0'), v), ctx) ?? '', /system disk \(vda holds \/\)/);
  assert.match(daemonRefusal('restore', inspected(block('8:17'), heldOnly), ctx) ?? '', /partition sdb1 of disk sdb, not a whole disk: give the disk \(\/dev\/sdb\)/);
  assert.match(daemonRefusal('restore', inspected(block('253:0'), heldOnly), ctx) ?? '', /device-mapper device/);
  assert.match(daemonRefusal('restore', inspected(block('7:1'), heldOnly), ctx) ?? '', /loop device over part of \/dev\/sdc \(offset 1048576/);
  assert.match(daemonRefusal('restore', inspected(block('7:3'), heldOnly), ctx) ?? '', /over part of \/dev\/vda1: a partition/);
  assert.equal(daemonRefusal('restore', inspected(block('8:32'), heldOnly), ctx), null);
  const f = (resolved: string, type: Inspected['type'], more: Partial<Inspected> = {}) => inspected(file('254:1', 50), heldOnly, { path: resolved, resolved, type, ...more });
  assert.equal(daemonRefusal('restore', f('/var/lib/lifeboat/docked/a.img', 'file'), ctx), null);
  assert.equal(daemonRefusal('restore', f('/var/lib/lifeboat/docked/new.img', 'missing'), ctx), null);
  assert.match(daemonRefusal('backup', f('/var/lib/lifeboat/docked/new.img', 'missing'), ctx) ?? '', /does not exist/);
  assert.match(daemonRefusal('backup', f('/etc/passwd', 'file'), ctx) ?? '', /\/etc\/passwd is a file outside \/var\/lib\/lifeboat\/docked: a job's device is a whole disk/);
  assert.match(daemonRefusal('restore', f('/var/lib/lifeboat/docked-evil/a.img', 'file'), ctx) ?? '', /outside/, 'a sibling with the same prefix is outside');
  assert.match(daemonRefusal('restore', f('/var/lib/lifeboat/docked/l', 'missing', { danglingSymlink: true }), ctx) ?? '', /symlink to nothing/);
  assert.match(daemonRefusal('restore', f('/dev/sdz-typo', 'missing'), ctx) ?? '', /\/dev\/sdz-typo does not exist: a job's device/);
});

test('fuzz: random block graphs (cycles, dangling names, shared numbers) never throw or hang', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  const names = ['a', 'b', 'c', 'd', 'loop0', 'dm-0', 'md0', 'ghost'];
  for (let round = 0; round < 2000; round++) {
    const blocks = names.slice(0, 1 + rand(names.length - 1)).map((name) =>
      node(name, `${rand(3)}:${rand(4)}`, {
        parent: rand(4) === 0 ? (names[rand(names.length)] as string) : null,
        holders: Array.from({ length: rand(3) }, () => names[rand(names.length)] as string),
        slaves: Array.from({ length: rand(3) }, () => names[rand(names.length)] as string),
        loop: rand(3) === 0 ? { backingFile: '/x', offset: rand(2), sizeLimit: 0 } : null,
      }),
    );
    const v: KernelView = {
      blocks,
      mounts: [mount(`${rand(3)}:${rand(4)}`, '/m', rand(2) === 0, rand(2) ? `${rand(3)}:${rand(4)}` : null)],
      swaps: [{ path: '/s', type: 'partition', id: block(`${rand(3)}:${rand(4)}`) }],
      loopBacking: new Map<string, Identity>([[names[rand(names.length)] as string, rand(2) ? block(`${rand(3)}:${rand(4)}`) : file('0:1', rand(3))]]),
    };
    const u = usageOf(rand(3) ? block(`${rand(3)}:${rand(4)}`) : file('0:1', rand(3)), v);
    assert.ok(u.above.length <= blocks.length && u.below.length <= blocks.length);
    const sys = systemDevices(v, [{ role: 'r', dev: `${rand(3)}:${rand(4)}` }]);
    assert.ok(sys.size <= blocks.length);
    const d = inspected(block(`${rand(3)}:${rand(4)}`), v);
    daemonRefusal(rand(2) ? 'backup' : 'restore', d, { dockedDir: '/docked', system: sys });
  }
});
