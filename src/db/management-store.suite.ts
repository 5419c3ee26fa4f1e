// The shared test suite every ManagementStore must pass (STYLE 3): in memory and on
// disk. Where the harness can reopen the store, every test ends by closing it, opening
// it again and checking that every collection reads back the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import { imageFactsFromManifest } from './images.js';
import { JOB_LOG_CAP } from './jobs.js';
import type { ImageFacts, ManagementStore, OpenOptions } from './index.js';

export interface Harness {
  store: ManagementStore;
  /** Closes the store and opens the same database again, or undefined where that means nothing (memory). */
  reopen?: () => Promise<ManagementStore>;
  cleanup: () => Promise<void>;
}

/** A clock that moves 1 ms per reading (so creation order is time order) and on request. */
export class TestClock {
  t = Date.parse('2026-11-25T18:00:00.000Z');
  now = () => new Date(this.t++);
  advance(ms: number): void {
    this.t += ms;
  }
}

const kind = (k: string, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof LifeboatError, `expected a LifeboatError, got ${String(e)}`);
  assert.equal(e.kind, k, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

export async function snapshot(store: ManagementStore): Promise<unknown> {
  const machines = await store.machines.list();
  const disks = [];
  for (const m of machines) disks.push(await store.disks.listByMachine(m.id));
  return {
    machines,
    disks,
    images: await store.images.list(),
    jobs: await store.jobs.list({ limit: 100_000 }),
    schedules: await store.schedules.list(),
    settings: await store.settings.get(),
    events: await store.events.list({ limit: 100_000 }),
  };
}

export function facts(id: string, over: Partial<ImageFacts> = {}): ImageFacts {
  return {
    id,
    label: null,
    host: 'lifeboat',
    createdAt: `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}.000Z`,
    completedAt: '2026-11-25T18:30:00.000Z',
    diskSize: 256 << 20,
    chunkSize: 1 << 20,
    chunkCount: 256,
    bytesNew: 100 << 20,
    storedBytesNew: 40 << 20,
    parent: null,
    sourcePath: '/dev/sdb',
    sourceKind: 'block',
    diskSerial: 'S1',
    hasPassphrase: false,
    ...over,
  };
}

const IMG1 = '20261125T180000Z-00000001';
const IMG2 = '20261125T190000Z-00000002';
const IMG3 = '20261125T200000Z-00000003';

export function managementStoreSuite(name: string, make: (options: OpenOptions) => Promise<Harness>): void {
  const withStore = (title: string, fn: (store: ManagementStore, clock: TestClock) => Promise<ManagementStore | void>, options: OpenOptions = {}) =>
    test(`${name}: ${title}`, async () => {
      const clock = new TestClock();
      const h = await make({ now: clock.now, ...options });
      try {
        const store = (await fn(h.store, clock)) ?? h.store;
        if (h.reopen) {
          const before = await snapshot(store);
          const again = await h.reopen();
          assert.deepEqual(await snapshot(again), before, 'the same after close and reopen');
          await again.close();
        } else await store.close();
      } finally {
        await h.cleanup();
      }
    });

  const pc = (store: ManagementStore, n: number, over: Record<string, unknown> = {}) =>
    store.machines.add({ name: `pc-${n}`, macs: [`52:54:00:00:00:0${n}`], ...over });

  // ---------------------------------------------------------------- machines
  withStore('machines: add, get by name, id and MAC, list by name and group', async (store) => {
    const b = await store.machines.add({ name: 'pc-b', macs: ['52-54-00-AA-BB-01', '525400aabb02'], vendor: 'Dell', group: 'lab', notes: 'line one\nline two' });
    const a = await store.machines.add({ name: 'pc-a', macs: ['52:54:00:aa:bb:03'], systemUuid: '4C4C4544-0042-3510-8052-B4C04F564433' });
    assert.deepEqual(b.macs, ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02']);
    assert.equal(a.systemUuid, '4c4c4544-0042-3510-8052-b4c04f564433');
    assert.match(b.id, /^[0-9a-f]{12}$/);
    assert.equal(b.createdAt, b.updatedAt);
    assert.deepEqual(await store.machines.getByName('pc-b'), b);
    assert.deepEqual(await store.machines.getById(b.id), b);
    assert.deepEqual(await store.machines.findByMac('52:54:00:AA:BB:02'), b);
    assert.deepEqual(await store.machines.getByMac('5254.00aa.bb03'), a);
    assert.equal(await store.machines.findByMac('52:54:00:99:99:99'), null);
    assert.equal(await store.machines.findByName('nope'), null);
    assert.deepEqual((await store.machines.list()).map((m) => m.name), ['pc-a', 'pc-b']);
    assert.deepEqual((await store.machines.list({ group: 'lab' })).map((m) => m.name), ['pc-b']);
  });

  withStore('machines: bad input and duplicates are refused with the value and the holder named', async (store) => {
    await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'] });
    await assert.rejects(store.machines.add({ name: 'PC 2', macs: ['52:54:00:00:00:02'] }), kind('user', /machine name "PC 2" is invalid.*"pc-2"/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00'] }), kind('user', /MAC address "52:54:00:00:00" is invalid/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: [] }), kind('user', /at least one MAC/));
    await assert.rejects(store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:02'] }), kind('conflict', /machine named "pc-1" already exists \(MAC 52:54:00:00:00:01\)/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:09', '52-54-00-00-00-01'] }), kind('conflict', /MAC address 52:54:00:00:00:01 already belongs to machine "pc-1"/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:02'], colour: 'red' } as never), kind('user', /unknown field\(s\) colour/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:02'], systemUuid: 'nope' }), kind('user', /system UUID "nope" is invalid/));
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:02'], inventory: { firmware: 'coreboot' } as never }), kind('user', /firmware must be "bios" or "uefi"/));
    await assert.rejects(store.machines.add({ name: { $ne: null }, macs: ['52:54:00:00:00:02'] } as never), kind('user', /must be a string/));
    await assert.rejects(store.machines.getByName('pc-9'), kind('not-found', /no machine named "pc-9"/));
    await assert.rejects(store.machines.getByMac('52:54:00:00:00:09'), kind('not-found', /no machine has MAC address 52:54:00:00:00:09/));
    await assert.rejects(store.machines.findByMac('nonsense'), kind('user'));
    assert.equal((await store.machines.list()).length, 1, 'nothing half-added');
  });

  withStore('machines: edit renames, changes MACs, sets and clears fields, records inventory', async (store, clock) => {
    await pc(store, 1, { vendor: 'Dell', notes: 'old' });
    await pc(store, 2);
    await store.schedules.add({ name: 'nightly', target: { machines: ['pc-1', 'pc-2'] }, calendar: 'daily' });
    clock.advance(1000);
    const e = await store.machines.edit('pc-1', {
      name: 'desk-1',
      addMacs: ['52:54:00:00:00:11'],
      removeMacs: ['52:54:00:00:00:01'],
      vendor: null,
      notes: 'new',
      inventory: { cpu: { model: 'Xeon', cores: 8 }, memoryBytes: 34359738368, firmware: 'uefi', nics: [{ name: 'eno1', mac: '52:54:00:00:00:11', speedMbps: 1000 }] },
    });
    assert.equal(e.name, 'desk-1');
    assert.deepEqual(e.macs, ['52:54:00:00:00:11']);
    assert.equal(e.vendor, undefined);
    assert.equal(e.notes, 'new');
    assert.equal(e.inventory?.cpu?.cores, 8);
    assert.ok(e.updatedAt > e.createdAt);
    assert.deepEqual(await store.machines.getByName('desk-1'), e);
    assert.equal(await store.machines.findByName('pc-1'), null);
    assert.equal(await store.machines.findByMac('52:54:00:00:00:01'), null, 'removed MAC is free again');
    assert.deepEqual((await store.schedules.get('nightly')).target, { machines: ['desk-1', 'pc-2'] }, 'schedules follow the rename');
    const replaced = await store.machines.edit('desk-1', { macs: ['52:54:00:00:00:21', '52:54:00:00:00:22'] });
    assert.deepEqual(replaced.macs, ['52:54:00:00:00:21', '52:54:00:00:00:22']);
    const seen = await store.machines.markSeen(e.id, '2026-11-26T08:00:00Z');
    assert.equal(seen.lastSeen, '2026-11-26T08:00:00.000Z');
  });

  withStore('machines: boot settings, discovery status and boot stages', async (store, clock) => {
    const found = await store.machines.add({ name: 'new-525400000031', macs: ['52:54:00:00:00:31'], systemUuid: '6A0E1C2B-3D4F-4A5B-8C6D-7E8F90A1B2C3', status: 'discovered' });
    assert.equal(found.status, 'discovered');
    assert.deepEqual(await store.machines.findBySystemUuid('6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3'), found);
    assert.equal(await store.machines.findBySystemUuid('00000000-0000-4000-8000-000000000000'), null);
    await assert.rejects(store.machines.findBySystemUuid('nope'), kind('user'));
    clock.advance(1000);
    const staged = await store.machines.recordBootStage(found.id, { stage: 'script', at: '2026-12-03T10:00:00Z', detail: 'boot OS (inventory)' });
    assert.deepEqual(staged.bootStage, { stage: 'script', at: '2026-12-03T10:00:00.000Z', detail: 'boot OS (inventory)' });
    assert.equal(staged.lastSeen, '2026-12-03T10:00:00.000Z');
    const approved = await store.machines.edit('new-525400000031', { name: 'desk-9', status: null, bootLoader: 'ipxe', localBoot: 'sanboot' });
    assert.equal(approved.status, undefined);
    assert.equal(approved.bootLoader, 'ipxe');
    assert.equal(approved.localBoot, 'sanboot');
    assert.equal(approved.bootStage?.stage, 'script', 'the boot stage stays through a rename');
    await assert.rejects(store.machines.edit('desk-9', { bootLoader: 'grub' as never }), kind('user', /boot loader must be one of auto, ipxe, ipxe-full, signed/));
    await assert.rejects(store.machines.edit('desk-9', { status: 'approved' as never }), kind('user', /status must be one of discovered, ignored/));
    await assert.rejects(store.machines.recordBootStage(found.id, { stage: 'bios' as never, at: '2026-12-03T10:00:00Z' }), kind('user', /bootStage.stage must be one of/));
    return store;
  });

  withStore('machines: a fixed address is a host address, one machine\'s only; none clears it', async (store) => {
    const a = await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:41'], fixedAddress: '10.1.0.20' });
    assert.equal(a.fixedAddress, '10.1.0.20');
    await assert.rejects(store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:42'], fixedAddress: '10.1.0.20' }), kind('conflict', /fixed address 10\.1\.0\.20 already belongs to machine "pc-1"/));
    assert.equal(await store.machines.findByName('pc-2'), null, 'the refused machine was not added');
    const b = await store.machines.add({ name: 'pc-2', macs: ['52:54:00:00:00:42'] });
    await assert.rejects(store.machines.edit('pc-2', { fixedAddress: '10.1.0.20' }), kind('conflict', /belongs to machine "pc-1"/));
    for (const bad of ['10.1.0', '10.1.0.256', '10.1.0.020', '0.0.0.0', '127.0.0.1', '224.0.0.1', '255.255.255.255', '169.254.1.1', ' 10.1.0.5', 5]) {
      await assert.rejects(store.machines.edit('pc-2', { fixedAddress: bad as never }), kind('user', /fixed address .* (is not an IPv4 address|is not a host address)/), String(bad));
    }
    assert.deepEqual(await store.machines.getByName('pc-2'), b);
    assert.equal((await store.machines.edit('pc-1', { fixedAddress: '10.1.0.20', notes: 'x' })).fixedAddress, '10.1.0.20', 'a machine keeps its own address through an edit');
    assert.equal((await store.machines.edit('pc-1', { fixedAddress: null })).fixedAddress, undefined);
    assert.equal((await store.machines.edit('pc-2', { fixedAddress: '10.1.0.20' })).fixedAddress, '10.1.0.20', 'free again once cleared');
    await store.machines.edit('pc-1', { fixedAddress: '10.1.0.21' });
    assert.deepEqual((await store.machines.fixedAddresses()).sort(), ['10.1.0.20', '10.1.0.21']);
  });

  withStore('machines: edits that would break a rule are refused and change nothing', async (store) => {
    await pc(store, 1);
    await pc(store, 2);
    const before = await store.machines.getByName('pc-1');
    await assert.rejects(store.machines.edit('pc-1', { name: 'pc-2' }), kind('conflict', /"pc-2" already exists/));
    await assert.rejects(store.machines.edit('pc-1', { addMacs: ['52:54:00:00:00:02'] }), kind('conflict', /already belongs to machine "pc-2"/));
    await assert.rejects(store.machines.edit('pc-1', { removeMacs: ['52:54:00:00:00:01'] }), kind('user', /no MAC address left/));
    await assert.rejects(store.machines.edit('pc-1', { removeMacs: ['52:54:00:00:00:07'] }), kind('not-found', /has no MAC address 52:54:00:00:00:07/));
    await assert.rejects(store.machines.edit('pc-1', { macs: ['zz'] }), kind('user', /"zz" is invalid/));
    await assert.rejects(store.machines.edit('pc-9', { notes: 'x' }), kind('not-found', /no machine named "pc-9"/));
    await assert.rejects(store.machines.edit('pc-1', { notes: 'bell\u0007' }), kind('user', /control character/));
    assert.deepEqual(await store.machines.getByName('pc-1'), before);
  });

  withStore('machines: remove takes the disks along; refused while busy or scheduled', async (store) => {
    const m1 = await pc(store, 1);
    await pc(store, 2);
    await store.disks.upsert(m1.id, { devicePath: '/dev/sda', serial: 'S1', size: 1e9, logicalSectorSize: 512, physicalSectorSize: 4096 });
    const job = await store.jobs.create({ type: 'backup', machineId: m1.id, requestedBy: 'alice' });
    await assert.rejects(store.machines.remove('pc-1'), kind('conflict', new RegExp(`active backup job ${job.id} \\(queued\\)`)));
    await store.jobs.transition(job.id, 'cancel');
    await store.schedules.add({ name: 'weekly', target: { machines: ['pc-1'] }, calendar: 'weekly' });
    await assert.rejects(store.machines.remove('pc-1'), kind('conflict', /named by schedule\(s\) weekly/));
    await store.schedules.remove('weekly');
    assert.equal((await store.machines.remove('pc-1')).id, m1.id);
    assert.deepEqual(await store.disks.listByMachine(m1.id), []);
    assert.deepEqual((await store.machines.list()).map((m) => m.name), ['pc-2']);
    await assert.rejects(store.machines.remove('pc-1'), kind('not-found'));
    await store.machines.add({ name: 'pc-1', macs: ['52:54:00:00:00:01'] }); // name and MAC are free again
  });

  // ---------------------------------------------------------------- disks
  withStore('disks: upsert finds a disk again by serial, else by path, and keeps what a report lacks', async (store) => {
    const m = await pc(store, 1);
    const report = { devicePath: '/dev/sda', model: 'Samsung SSD', serial: 'S3Z9', size: 500107862016, logicalSectorSize: 512, physicalSectorSize: 4096 };
    const first = await store.disks.upsert(m.id, { ...report, partitions: { table: 'gpt', entries: [{ number: 1, start: 1048576, size: 536870912, type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', filesystem: 'vfat' }] } });
    assert.equal(first.created, true);
    assert.equal(first.disk.partitions.entries[0]?.filesystem, 'vfat');
    const moved = await store.disks.upsert(m.id, { ...report, devicePath: '/dev/sdb', seenAt: '2026-11-26T00:00:00Z' });
    assert.equal(moved.created, false);
    assert.equal(moved.disk.id, first.disk.id);
    assert.equal(moved.disk.devicePath, '/dev/sdb');
    assert.equal(moved.disk.lastSeen, '2026-11-26T00:00:00.000Z');
    const noSerial = await store.disks.upsert(m.id, { devicePath: '/dev/sdb', size: 500107862016, logicalSectorSize: 512, physicalSectorSize: 4096 });
    assert.equal(noSerial.disk.id, first.disk.id, 'matched by path');
    assert.equal(noSerial.disk.serial, 'S3Z9', 'a report without a serial keeps the known one');
    const other = await store.disks.upsert(m.id, { devicePath: '/dev/nvme0n1', serial: 'NV1', size: 1e12, logicalSectorSize: 4096, physicalSectorSize: 4096 });
    assert.equal(other.created, true);
    assert.deepEqual((await store.disks.listByMachine(m.id)).map((d) => d.devicePath), ['/dev/nvme0n1', '/dev/sdb']);
    assert.equal((await store.disks.find(m.id, 'NV1'))?.id, other.disk.id);
    assert.equal((await store.disks.find(m.id, '/dev/sdb'))?.id, first.disk.id);
    assert.equal(await store.disks.find(m.id, '/dev/sdz'), null);
    assert.deepEqual(await store.disks.get(other.disk.id), other.disk);
    await store.disks.remove(other.disk.id);
    await assert.rejects(store.disks.get(other.disk.id), kind('not-found'));
  });

  withStore('disks: bad reports and unknown machines are refused', async (store) => {
    const m = await pc(store, 1);
    const ok = { devicePath: '/dev/sda', size: 1e9, logicalSectorSize: 512, physicalSectorSize: 512 };
    await assert.rejects(store.disks.upsert('000000000000', ok), kind('not-found', /no machine with id 000000000000/));
    await assert.rejects(store.disks.upsert(m.id, { ...ok, logicalSectorSize: 520 }), kind('user', /not a power of two/));
    await assert.rejects(store.disks.upsert(m.id, { ...ok, logicalSectorSize: 4096 }), kind('user', /physical sector size 512 is smaller than the logical 4096/));
    await assert.rejects(store.disks.upsert(m.id, { ...ok, devicePath: 'sda' }), kind('user', /not absolute/));
    await assert.rejects(store.disks.upsert(m.id, { ...ok, size: 0 }), kind('user', /size must be a whole number/));
    await assert.rejects(store.disks.upsert(m.id, { ...ok, partitions: { table: 'zfs', entries: [] } as never }), kind('user', /partitions.table/));
    assert.deepEqual(await store.disks.listByMachine(m.id), []);
  });

  // ---------------------------------------------------------------- images
  withStore('images: record, get, list newest first, protect, assign, remove', async (store) => {
    const m = await pc(store, 1);
    await store.images.record(facts(IMG1));
    const two = await store.images.record(facts(IMG2, { parent: IMG1, label: 'before upgrade' }), { machineId: m.id });
    assert.equal(two.protected, false);
    assert.equal(two.machineId, m.id);
    assert.deepEqual((await store.images.list()).map((i) => i.id), [IMG2, IMG1]);
    assert.deepEqual((await store.images.list({ machineId: m.id })).map((i) => i.id), [IMG2]);
    assert.deepEqual((await store.images.list({ diskSerial: 'S1' })).length, 2);
    assert.equal((await store.images.setProtected(IMG1, true)).protected, true);
    assert.equal((await store.images.setMachine(IMG1, m.id)).machineId, m.id);
    assert.equal((await store.images.setMachine(IMG1, null)).machineId, undefined);
    const again = await store.images.record(facts(IMG1, { label: 'renamed' }));
    assert.equal(again.protected, true, 'recording the facts again keeps what only the database knows');
    await assert.rejects(store.images.setMachine(IMG1, '000000000000'), kind('not-found'));
    await assert.rejects(store.images.get('nope'), kind('user', /image id "nope" is invalid/));
    await assert.rejects(store.images.get(IMG3), kind('not-found', /no image 20261125T200000Z-00000003/));
    await assert.rejects(store.images.record({ ...facts(IMG3), diskSize: -1 }), kind('user', /diskSize/));
    assert.equal((await store.images.remove(IMG2)).id, IMG2);
    assert.deepEqual((await store.images.list()).map((i) => i.id), [IMG1]);
  });

  withStore('images: one kept elsewhere (a client disk, a share) survives reconcile until the store holds it', async (store) => {
    const m = await pc(store, 1);
    await store.images.reconcile([facts(IMG1)]);
    const away = await store.images.record(facts(IMG2), { machineId: m.id, location: 'client-disk LABEL=LBUSB' });
    assert.equal(away.location, 'client-disk LABEL=LBUSB');
    await store.images.record(facts(IMG3), { location: 'share nas' });
    assert.deepEqual(await store.images.reconcile([facts(IMG1)]), { added: [], updated: [], removed: [], skipped: [] }, 'not in the store, yet not removed');
    assert.equal((await store.images.get(IMG3)).location, 'share nas');
    // imported: the store holds it now; its location is the appliance, its machine kept
    const r = await store.images.reconcile([facts(IMG1), facts(IMG2)]);
    assert.deepEqual(r.updated, [IMG2]);
    const two = await store.images.get(IMG2);
    assert.equal(two.location, undefined);
    assert.equal(two.machineId, m.id);
    assert.equal((await store.images.record(facts(IMG3), { location: null })).location, undefined, 'null clears it');
    assert.equal((await store.images.record(facts(IMG3))).location, undefined);
    for (const bad of ['appliance', 'client-disk LABEL=a b', 'share ../x', 'client-disk', 7]) await assert.rejects(store.images.record(facts(IMG3), { location: bad as string }), kind('user', /image location/), String(bad));
  });

  withStore('images: reconcile adds, updates and removes to match the store, keeping ownership', async (store) => {
    const m = await pc(store, 1);
    assert.deepEqual(await store.images.reconcile([facts(IMG1), facts(IMG2)]), { added: [IMG1, IMG2], updated: [], removed: [], skipped: [] });
    await store.images.setProtected(IMG2, true);
    await store.images.setMachine(IMG2, m.id);
    assert.deepEqual(await store.images.reconcile([facts(IMG1), facts(IMG2)]), { added: [], updated: [], removed: [], skipped: [] }, 'nothing changed');
    const result = await store.images.reconcile([facts(IMG2, { label: 'relabelled', storedBytesNew: 1 }), facts(IMG3)]);
    assert.deepEqual(result, { added: [IMG3], updated: [IMG2], removed: [IMG1], skipped: [] });
    const two = await store.images.get(IMG2);
    assert.equal(two.label, 'relabelled');
    assert.equal(two.protected, true);
    assert.equal(two.machineId, m.id);
    assert.deepEqual((await store.images.list()).map((i) => i.id), [IMG3, IMG2]);
    assert.deepEqual(await store.images.reconcile([]), { added: [], updated: [], removed: [IMG3, IMG2].sort(), skipped: [] });
    await assert.rejects(store.images.reconcile([facts(IMG1), facts(IMG1)]), kind('bug', /given image .* twice/));
    // One image the database refuses is skipped and reported; the others are still mirrored.
    const partial = await store.images.reconcile([{ ...facts(IMG1), id: '../etc' }, facts(IMG2, { label: 'a\nb' }), facts(IMG1)]);
    assert.deepEqual(partial.added, [IMG1]);
    assert.deepEqual(partial.skipped.map((s) => s.id), ['../etc', IMG2]);
    assert.match(partial.skipped[0]?.error ?? '', /image id .* is invalid/);
    assert.match(partial.skipped[1]?.error ?? '', /label contains a line break/);
    assert.deepEqual((await store.images.list()).map((i) => i.id), [IMG1]);
  });

  test(`${name}: images: facts come from a manifest`, () => {
    const manifest = {
      id: IMG1,
      label: 'x',
      host: 'h',
      createdAt: '2026-11-25T18:00:00.000Z',
      completedAt: '2026-11-25T18:10:00.000Z',
      source: { path: '/dev/sda', kind: 'block', size: 100, logicalSectorSize: 512, physicalSectorSize: 512, serial: 'SER', model: 'M' },
      diskSize: 100,
      chunkSize: 65536,
      chunkCount: 1,
      parent: null,
      stats: { bytesNew: 50, storedBytesNew: 20 },
      passphrase: null,
    } as unknown as Manifest;
    assert.deepEqual(imageFactsFromManifest(manifest), {
      id: IMG1,
      label: 'x',
      host: 'h',
      createdAt: '2026-11-25T18:00:00.000Z',
      completedAt: '2026-11-25T18:10:00.000Z',
      diskSize: 100,
      minTargetBytes: 100, // no partition table: the whole disk
      chunkSize: 65536,
      chunkCount: 1,
      bytesNew: 50,
      storedBytesNew: 20,
      parent: null,
      sourcePath: '/dev/sda',
      sourceKind: 'block',
      diskModel: 'M',
      diskSerial: 'SER',
      hasPassphrase: false,
    });
  });

  // ---------------------------------------------------------------- jobs
  withStore('jobs: every state change is kept with its time; log lines are kept, bounded, oldest dropped and counted', async (store) => {
    const job = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'alice' });
    await store.jobs.transition(job.id, 'start');
    await store.jobs.appendLog(job.id, { level: 'warning', message: 'partition 2 imaged raw' });
    await assert.rejects(store.jobs.appendLog(job.id, { level: 'loud' as never, message: 'x' }), kind('user', /log level must be/));
    await assert.rejects(store.jobs.appendLog('000000000000', { level: 'info', message: 'x' }), kind('not-found'));
    const cancelled = await store.jobs.transition(job.id, 'cancel', { progress: { bytesDone: 40, bytesTotal: 100 } });
    assert.deepEqual(cancelled.history?.map((h) => h.state), ['queued', 'running', 'cancelled']);
    assert.ok(cancelled.history?.every((h, i, all) => i === 0 || h.at > (all[i - 1]?.at ?? '')));
    assert.equal(cancelled.progress?.bytesDone, 40, 'a cancelled job keeps the progress it reached');
    assert.deepEqual(cancelled.log?.map((l) => [l.level, l.message]), [['warning', 'partition 2 imaged raw']]);
    for (let i = 0; i < JOB_LOG_CAP + 5; i++) await store.jobs.appendLog(job.id, { level: 'info', message: `line ${i}` });
    const after = await store.jobs.get(job.id);
    assert.equal(after.log?.length, JOB_LOG_CAP);
    assert.equal(after.logDropped, 6);
    assert.equal(after.log?.at(-1)?.message, `line ${JOB_LOG_CAP + 4}`);
  });

  withStore('jobs: list --since gives the jobs created at or after a time, newest first', async (store) => {
    const a = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'alice' });
    const b = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdc', requestedBy: 'alice' });
    const c = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdd', requestedBy: 'alice' });
    assert.deepEqual((await store.jobs.list({ since: b.createdAt })).map((j) => j.id), [c.id, b.id]);
    assert.deepEqual((await store.jobs.list({ limit: 1 })).map((j) => j.id), [c.id]);
    assert.equal((await store.jobs.list({})).at(-1)?.id, a.id);
    await assert.rejects(store.jobs.list({ since: 'yesterday' }), kind('user'));
  });

  withStore('jobs: a job goes queued → waiting → running → done with its times, stats and image', async (store) => {
    const m = await pc(store, 1);
    const job = await store.jobs.create({ type: 'backup', machineId: m.id, diskSerial: 'S1', requestedBy: 'alice' });
    assert.equal(job.state, 'queued');
    assert.equal((await store.jobs.transition(job.id, 'wait-for-boot')).state, 'waiting-for-boot');
    const running = await store.jobs.transition(job.id, 'start');
    assert.equal(running.state, 'running');
    assert.ok(running.startedAt);
    await store.images.record(facts(IMG1));
    const done = await store.jobs.transition(job.id, 'succeed', { stats: { bytesRead: 10, storedBytesNew: 4 }, imageId: IMG1 });
    assert.equal(done.state, 'done');
    assert.ok(done.finishedAt && done.startedAt && done.finishedAt > done.startedAt);
    assert.deepEqual(done.stats, { bytesRead: 10, storedBytesNew: 4 });
    assert.equal(done.imageId, IMG1);
    assert.deepEqual(await store.jobs.get(job.id), done);
    await assert.rejects(store.jobs.transition(job.id, 'cancel'), kind('conflict', /already ended \(done\): nothing to cancel/));
    await assert.rejects(store.jobs.transition(job.id, 'start'), kind('conflict'));
  });

  withStore('jobs: refused transitions, a failure needs its reason, unknown jobs', async (store) => {
    const job = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'timer' });
    await assert.rejects(store.jobs.transition(job.id, 'succeed'), kind('conflict', /queued cannot succeed/));
    await store.jobs.transition(job.id, 'start');
    await assert.rejects(store.jobs.transition(job.id, 'wait-for-boot'), kind('conflict', /running cannot wait-for-boot/));
    await assert.rejects(store.jobs.transition(job.id, 'fail'), kind('user', /needs an error message/));
    const failed = await store.jobs.transition(job.id, 'fail', { error: '/dev/sdb: no space left on device' });
    assert.equal(failed.error, '/dev/sdb: no space left on device');
    await assert.rejects(store.jobs.transition('000000000000', 'start'), kind('not-found', /no job 000000000000/));
    await assert.rejects(store.jobs.transition(job.id, 'explode' as never), kind('user', /job event must be one of/));
  });

  withStore('jobs: one active job per disk, machine disk by serial or path, whole machine', async (store) => {
    const m1 = await pc(store, 1);
    const m2 = await pc(store, 2);
    await store.disks.upsert(m1.id, { devicePath: '/dev/sda', serial: 'S1', size: 1e9, logicalSectorSize: 512, physicalSectorSize: 512 });
    await store.images.record(facts(IMG1));

    const local = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'alice' });
    await assert.rejects(
      store.jobs.create({ type: 'restore', devicePath: '/dev/sdb', imageId: IMG1, requestedBy: 'bob' }),
      kind('conflict', new RegExp(`device /dev/sdb is busy: backup job ${local.id} \\(queued\\).*lifeboat jobs cancel ${local.id}`)),
    );
    await store.jobs.create({ type: 'backup', devicePath: '/dev/sdc', requestedBy: 'alice' }); // another device is free
    await store.jobs.create({ type: 'backup', machineId: m2.id, devicePath: '/dev/sdb', requestedBy: 'alice' }); // a machine's /dev/sdb is another disk

    const bySerial = await store.jobs.create({ type: 'backup', machineId: m1.id, diskSerial: 'S1', requestedBy: 'alice' });
    assert.equal(bySerial.devicePath, '/dev/sda', 'the known disk fills in its path');
    await assert.rejects(store.jobs.create({ type: 'backup', machineId: m1.id, devicePath: '/dev/sda', requestedBy: 'bob' }), kind('conflict', /disk S1 of machine pc-1 is busy/));
    await assert.rejects(store.jobs.create({ type: 'inventory', machineId: m1.id, requestedBy: 'bob' }), kind('conflict', /machine pc-1 is busy/));
    await store.jobs.create({ type: 'backup', machineId: m1.id, devicePath: '/dev/sdz', requestedBy: 'bob' }); // another disk of pc-1
    await store.jobs.create({ type: 'verify', imageId: IMG1, requestedBy: 'bob' });
    await store.jobs.create({ type: 'verify', imageId: IMG1, requestedBy: 'bob' }); // verifies hold no disk

    await store.jobs.transition(local.id, 'start');
    await store.jobs.transition(local.id, 'succeed');
    await store.jobs.create({ type: 'restore', devicePath: '/dev/sdb', imageId: IMG1, requestedBy: 'bob' }); // free once done
    assert.equal((await store.jobs.active()).length, 7);
  });

  withStore('jobs: bad job requests are refused', async (store) => {
    const m = await pc(store, 1);
    await assert.rejects(store.jobs.create({ type: 'restore', devicePath: '/dev/sdb', requestedBy: 'a' }), kind('user', /restore job needs an image/));
    await assert.rejects(store.jobs.create({ type: 'backup', requestedBy: 'a' }), kind('user', /needs a machine or a device path/));
    await assert.rejects(store.jobs.create({ type: 'verify', imageId: IMG1, machineId: m.id, requestedBy: 'a' }), kind('user', /give no machine or device/));
    await assert.rejects(store.jobs.create({ type: 'inventory', machineId: m.id, devicePath: '/dev/sda', requestedBy: 'a' }), kind('user', /names a machine and nothing else/));
    await assert.rejects(store.jobs.create({ type: 'format' as never, devicePath: '/dev/sdb', requestedBy: 'a' }), kind('user', /job type must be one of/));
    await assert.rejects(store.jobs.create({ type: 'backup', machineId: '000000000000', requestedBy: 'a' }), kind('not-found', /no machine with id/));
    await assert.rejects(store.jobs.create({ type: 'verify', imageId: IMG1, requestedBy: 'a' }), kind('not-found', /no image/));
    await assert.rejects(store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: '' }), kind('user', /requested by/));
    await assert.rejects(store.jobs.create({ type: 'backup', diskSerial: 'S1', requestedBy: 'a' }), kind('user', /must name its machine/));
    assert.deepEqual(await store.jobs.list(), []);
  });

  withStore('jobs: checkpoints are written at most every 10 s, and only while running', async (store, clock) => {
    const job = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'a' });
    await assert.rejects(store.jobs.checkpoint(job.id, { bytesDone: 0, bytesTotal: 100 }), kind('conflict', /is queued, not running/));
    await store.jobs.transition(job.id, 'start');
    assert.equal(await store.jobs.checkpoint(job.id, { bytesDone: 10, bytesTotal: 100 }), true);
    clock.advance(5_000);
    assert.equal(await store.jobs.checkpoint(job.id, { bytesDone: 20, bytesTotal: 100 }), false);
    assert.equal((await store.jobs.get(job.id)).progress?.bytesDone, 10);
    clock.advance(5_000);
    assert.equal(await store.jobs.checkpoint(job.id, { bytesDone: 30, bytesTotal: 100 }), true);
    assert.equal((await store.jobs.get(job.id)).progress?.bytesDone, 30);
    await assert.rejects(store.jobs.checkpoint(job.id, { bytesDone: 101, bytesTotal: 100 }), kind('user'));
  });

  withStore('jobs: markInterrupted ends queued, waiting and running jobs and leaves the rest', async (store) => {
    const m = await pc(store, 1);
    const queued = await store.jobs.create({ type: 'backup', devicePath: '/dev/sda', requestedBy: 'a' });
    const waiting = await store.jobs.create({ type: 'inventory', machineId: m.id, requestedBy: 'timer' });
    await store.jobs.transition(waiting.id, 'wait-for-boot');
    const running = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'a' });
    await store.jobs.transition(running.id, 'start');
    const done = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdc', requestedBy: 'a' });
    await store.jobs.transition(done.id, 'start');
    await store.jobs.transition(done.id, 'succeed');

    const changed = await store.jobs.markInterrupted();
    assert.deepEqual(changed.map((j) => j.id), [queued.id, waiting.id, running.id]);
    assert.equal((await store.jobs.get(running.id)).state, 'interrupted');
    assert.match((await store.jobs.get(running.id)).error ?? '', /daemon stopped while the job was running/);
    assert.match((await store.jobs.get(waiting.id)).error ?? '', /was waiting-for-boot/);
    // A queued job would hold its disk forever: nothing picks queued jobs up after a restart.
    assert.equal((await store.jobs.get(queued.id)).state, 'interrupted');
    assert.match((await store.jobs.get(queued.id)).error ?? '', /stopped before the job started/);
    assert.equal((await store.jobs.get(done.id)).state, 'done');
    assert.deepEqual(await store.jobs.markInterrupted(), []);
    await store.jobs.create({ type: 'backup', devicePath: '/dev/sdb', requestedBy: 'a' }); // the disk is free again
    await store.jobs.create({ type: 'backup', devicePath: '/dev/sda', requestedBy: 'a' }); // and so is the queued one's
  });

  withStore('jobs: list filters and orders; old ended jobs can be removed', async (store, clock) => {
    const m = await pc(store, 1);
    const a = await store.jobs.create({ type: 'backup', devicePath: '/dev/sda', requestedBy: 'a' });
    const b = await store.jobs.create({ type: 'inventory', machineId: m.id, requestedBy: 'a' });
    const c = await store.jobs.create({ type: 'backup', devicePath: '/dev/sdc', requestedBy: 'a' });
    await store.jobs.transition(a.id, 'cancel');
    assert.deepEqual((await store.jobs.list()).map((j) => j.id), [c.id, b.id, a.id]);
    assert.deepEqual((await store.jobs.list({ limit: 1 })).map((j) => j.id), [c.id]);
    assert.deepEqual((await store.jobs.list({ state: 'cancelled' })).map((j) => j.id), [a.id]);
    assert.deepEqual((await store.jobs.list({ state: ['queued'], machineId: m.id })).map((j) => j.id), [b.id]);
    assert.deepEqual((await store.jobs.active()).map((j) => j.id), [b.id, c.id]);
    await assert.rejects(store.jobs.list({ state: 'sleeping' as never }), kind('user', /job state must be one of/));
    clock.advance(60_000);
    assert.equal(await store.jobs.removeFinishedBefore(clock.now().toISOString()), 1);
    assert.deepEqual((await store.jobs.list()).map((j) => j.id), [c.id, b.id]);
  });

  // ---------------------------------------------------------------- schedules
  withStore('schedules: add, get, list, edit, mark a run, remove', async (store) => {
    await pc(store, 1);
    await pc(store, 2);
    const s = await store.schedules.add({ name: 'nightly', target: { machines: ['pc-1', 'pc-2', 'pc-1'] }, calendar: 'Mon..Fri *-*-* 22:00:00', retention: { keepLast: 3, daily: 7 } });
    assert.deepEqual(s.target, { machines: ['pc-1', 'pc-2'] });
    assert.equal(s.calendar, 'Mon..Fri *-*-* 22:00:00', 'stored as given');
    assert.equal(s.enabled, true);
    await store.schedules.add({ name: 'lab', target: { group: 'lab' }, calendar: 'weekly', enabled: false });
    assert.deepEqual((await store.schedules.list()).map((x) => x.name), ['lab', 'nightly']);
    const e = await store.schedules.edit('nightly', { name: 'evening', retention: { weekly: 4 }, enabled: false, target: { group: 'office' } });
    assert.deepEqual([e.name, e.retention, e.enabled, e.target], ['evening', { weekly: 4 }, false, { group: 'office' }]);
    assert.equal(await store.schedules.find('nightly'), null);
    assert.equal((await store.schedules.markRun('evening', '2026-11-25T22:00:00Z')).lastRunAt, '2026-11-25T22:00:00.000Z');
    assert.deepEqual(await store.schedules.get('evening'), { ...e, lastRunAt: '2026-11-25T22:00:00.000Z' });
    await store.schedules.remove('lab');
    await assert.rejects(store.schedules.get('lab'), kind('not-found', /no schedule named "lab"/));
  });

  withStore('schedules: duplicates, unknown machines and bad retention are refused', async (store) => {
    await pc(store, 1);
    await store.schedules.add({ name: 'nightly', target: { machines: ['pc-1'] }, calendar: 'daily' });
    await assert.rejects(store.schedules.add({ name: 'nightly', target: { machines: ['pc-1'] }, calendar: 'daily' }), kind('conflict', /schedule named "nightly" already exists/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { machines: ['pc-1', 'pc-7'] }, calendar: 'daily' }), kind('not-found', /no machine named "pc-7"/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { machines: [] }, calendar: 'daily' }), kind('user'));
    await assert.rejects(store.schedules.add({ name: 'other', target: { machines: ['pc-1'], group: 'lab' } as never, calendar: 'daily' }), kind('user', /machines, a group or devices: one of them/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { devices: ['relative/path'] }, calendar: 'daily' }), kind('user'));
    await assert.rejects(store.schedules.add({ name: 'other', target: { devices: [] }, calendar: 'daily' }), kind('user', /list of device paths/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { machines: ['pc-1'] }, calendar: 'daily\nUnit=reboot.target' }), kind('user', /line break/));
    const docked = await store.schedules.add({ name: 'docked', target: { devices: ['/dev/sdb', '/dev/sdb'] }, calendar: 'daily' });
    assert.deepEqual(docked.target, { devices: ['/dev/sdb'] }, 'devices are kept once each');
    await store.schedules.remove('docked');
    await assert.rejects(store.schedules.add({ name: 'other', target: { group: 'lab' }, calendar: '' }), kind('user', /calendar/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { group: 'lab' }, calendar: 'daily', retention: { daily: 0 } }), kind('user', /retention daily/));
    await assert.rejects(store.schedules.add({ name: 'other', target: { group: 'lab' }, calendar: 'daily', retention: { hourly: 2 } as never }), kind('user', /unknown field\(s\) hourly/));
    await store.schedules.add({ name: 'other', target: { group: 'lab' }, calendar: 'daily' });
    await assert.rejects(store.schedules.edit('other', { name: 'nightly' }), kind('conflict'));
    assert.deepEqual((await store.schedules.list()).map((s) => s.name), ['nightly', 'other']);
  });

  // ---------------------------------------------------------------- settings
  withStore('settings: defaults, patch, checks', async (store) => {
    assert.deepEqual(await store.settings.get(), { listenInterface: null, dhcpMode: 'off', dhcpRange: null, storePath: '/var/lib/lifeboat/store' });
    await assert.rejects(store.settings.patch({ dhcpMode: 'full' }), kind('user', /set a DHCP range too/));
    const s = await store.settings.patch({ dhcpMode: 'full', dhcpRange: { start: '192.168.1.100', end: '192.168.1.199' }, listenInterface: 'enp3s0' });
    assert.equal(s.dhcpMode, 'full');
    assert.deepEqual(await store.settings.get(), s);
    assert.equal((await store.settings.patch({ storePath: '/srv/lifeboat' })).dhcpMode, 'full', 'a patch keeps the other fields');
    await assert.rejects(store.settings.patch({ dhcpMode: 'on' as never }), kind('user', /off, proxy or full/));
    await assert.rejects(store.settings.patch({ dhcpRange: { start: '192.168.1.200', end: '192.168.1.100' } }), kind('user', /swap them/));
    await assert.rejects(store.settings.patch({ listenInterface: 'eth0; reboot' }), kind('user', /not a network interface name/));
    await assert.rejects(store.settings.patch({ storePath: 'relative' }), kind('user', /not absolute/));
    await assert.rejects(store.settings.patch({ colour: 'red' } as never), kind('user', /unknown field/));
    assert.equal((await store.settings.get()).storePath, '/srv/lifeboat');
  });

  // ---------------------------------------------------------------- events
  withStore(
    'events: recorded newest first, details kept whatever their keys, capped at the newest N',
    async (store) => {
      const first = await store.events.record({ actor: 'alice', action: 'machine.add', subject: 'machine pc-1', details: { 'mac.addr': '52:54:00:00:00:01', $weird: [1, { a: null }] } });
      assert.equal(first.seq, 1);
      assert.deepEqual(first.details, { 'mac.addr': '52:54:00:00:00:01', $weird: [1, { a: null }] });
      for (let i = 2; i <= 8; i++) await store.events.record({ actor: i % 2 ? 'timer' : 'bob', action: 'job.create', subject: `job ${i}` });
      assert.equal(store.events.cap, 5);
      assert.equal(await store.events.count(), 5);
      const all = await store.events.list();
      assert.deepEqual(all.map((e) => e.seq), [8, 7, 6, 5, 4]);
      assert.deepEqual((await store.events.list({ limit: 2, beforeSeq: 6 })).map((e) => e.seq), [5, 4]);
      assert.deepEqual((await store.events.list({ actor: 'timer' })).map((e) => e.seq), [7, 5]);
      assert.deepEqual((await store.events.list({ subject: 'job 6' })).map((e) => e.seq), [6]);
      await assert.rejects(store.events.record({ actor: '', action: 'x', subject: 'y' }), kind('user'));
      await assert.rejects(store.events.record({ actor: 'a', action: 'x', subject: 'y', details: { big: 'x'.repeat(20_000) } }), kind('user', /keep them under/));
    },
    { eventsCap: 5 },
  );

  // ---------------------------------------------------------------- lifecycle
  test(`${name}: a closed store refuses use as a bug`, async () => {
    const h = await make({});
    try {
      await h.store.close();
      await h.store.close(); // idempotent
      await assert.rejects(h.store.machines.list(), kind('bug', /after close/));
      await assert.rejects(h.store.settings.patch({ dhcpMode: 'proxy' }), kind('bug'));
    } finally {
      await h.cleanup();
    }
  });
}
