import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backupImage } from '../imaging/backup.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { imageFactsFromManifest, openManagementStore } from '../db/index.js';
import { pruneSchedule } from './schedule-actions.js';

test('prune: keep-last per source, only images the schedule made, and the database follows the store even when a removal fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-prune-'));
  const db = await openManagementStore(null);
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
    const disk = join(dir, 'disk.img');
    const schedule = await db.schedules.add({ name: 'dock', target: { devices: [disk] }, calendar: 'daily', retention: { keepLast: 1 } });
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(disk, Buffer.alloc(128 * 1024, i + 1));
      const m = await backupImage({ store, source: disk });
      made.push(m.id);
      await db.images.reconcile((await store.listImages()).images.map(imageFactsFromManifest));
      if (i === 0) continue; // the first one is a manual backup: no schedule job made it
      const job = await db.jobs.create({ type: 'backup', devicePath: disk, scheduleId: schedule.id, requestedBy: 'timer' });
      await db.jobs.transition(job.id, 'start');
      await db.jobs.transition(job.id, 'succeed', { imageId: m.id, stats: {} });
    }
    // The second removal fails (a read-only store, a permission): the first stays removed and recorded.
    const realRemove = store.removeImage.bind(store);
    let calls = 0;
    store.removeImage = async (id: string) => {
      if (++calls === 2) throw new Error('EACCES: permission denied');
      return realRemove(id);
    };
    await assert.rejects(pruneSchedule({ db, images: store }, schedule, 'timer'), /EACCES/);
    const afterFailure = (await db.images.list()).map((i) => i.id);
    assert.equal(afterFailure.length, 3, 'one of the two removed, and the database knows it');
    assert.ok(afterFailure.includes(made[0] as string), 'the manual backup is never pruned');
    assert.ok(afterFailure.includes(made[3] as string), 'the newest is kept');
    assert.ok((await db.events.list()).some((e) => e.action === 'schedule.prune'));

    store.removeImage = realRemove;
    const report = await pruneSchedule({ db, images: store }, schedule, 'timer');
    assert.equal(report.removed.length, 1);
    assert.deepEqual(report.kept, [made[3]]);
    assert.deepEqual((await db.images.list()).map((i) => i.id).sort(), [made[0], made[3]].sort());
    assert.ok('chunksRemoved' in report.gc && report.gc.chunksRemoved >= 1, 'gc freed the pruned images\' chunks');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prune keeps an image a restore is reading (saying why), removes the others, and leaves gc to later', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-prune-held-'));
  const db = await openManagementStore(null);
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
    const disk = join(dir, 'disk.img');
    const schedule = await db.schedules.add({ name: 'dock', target: { devices: [disk] }, calendar: 'daily', retention: { keepLast: 1 } });
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      writeFileSync(disk, Buffer.alloc(128 * 1024, i + 1));
      const m = await backupImage({ store, source: disk });
      made.push(m.id);
      await db.images.reconcile((await store.listImages()).images.map(imageFactsFromManifest));
      const job = await db.jobs.create({ type: 'backup', devicePath: disk, scheduleId: schedule.id, requestedBy: 'timer' });
      await db.jobs.transition(job.id, 'start');
      await db.jobs.transition(job.id, 'succeed', { imageId: m.id, stats: {} });
    }
    const hold = store.holdImage(made[0] as string, 'restore');
    try {
      const report = await pruneSchedule({ db, images: store }, schedule, 'timer');
      assert.deepEqual(report.removed, [made[1]]);
      const kept = report.decisions.find((d) => d.id === made[0]);
      assert.equal(kept?.action, 'keep');
      assert.match(kept?.reasons[0] ?? '', new RegExp(`^in use: image ${made[0]} cannot be removed: a restore is running`));
      assert.ok('skipped' in report.gc && /a restore is running/.test(report.gc.skipped), 'gc waits for the restore');
      assert.deepEqual((await db.images.list()).map((i) => i.id).sort(), [made[0], made[2]].sort());
    } finally {
      hold.release();
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
