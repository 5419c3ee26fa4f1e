import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backupImage } from '../imaging/backup.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { type ManagementStore, type Schedule, imageFactsFromManifest, openManagementStore } from '../db/index.js';
import { pruneSchedule } from './schedule-actions.js';

/**
 * A store, a database and schedule "dock" of one docked disk (keep-last 1), with `count`
 * backups of that disk; all but the first `manual` ones recorded as the schedule's jobs.
 * Runs `fn`, then closes and removes everything.
 */
async function withScheduledImages(count: number, manual: number, fn: (f: { db: ManagementStore; store: ImageStore; schedule: Schedule; made: string[] }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-prune-'));
  const db = await openManagementStore(null);
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
    const disk = join(dir, 'disk.img');
    const schedule = await db.schedules.add({ name: 'dock', target: { devices: [disk] }, calendar: 'daily', retention: { keepLast: 1 } });
    const made: string[] = [];
    for (let i = 0; i < count; i++) {
      writeFileSync(disk, Buffer.alloc(128 * 1024, i + 1));
      const m = await backupImage({ store, source: disk });
      made.push(m.id);
      await db.images.reconcile((await store.listImages()).images.map(imageFactsFromManifest));
      if (i < manual) continue; // a manual backup: no schedule job made it
      const job = await db.jobs.create({ type: 'backup', devicePath: disk, scheduleId: schedule.id, requestedBy: 'timer' });
      await db.jobs.transition(job.id, 'start');
      await db.jobs.transition(job.id, 'succeed', { imageId: m.id, stats: {} });
    }
    await fn({ db, store, schedule, made });
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('prune: keep-last per source, only images the schedule made, and the database follows the store even when a removal fails', () =>
  withScheduledImages(4, 1, async ({ db, store, schedule, made }) => {
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
  }));

test('prune keeps an image a restore is reading (saying why), removes the others, and leaves gc to later', () =>
  withScheduledImages(3, 0, async ({ db, store, schedule, made }) => {
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
  }));
