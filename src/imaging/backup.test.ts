import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { backupImage, backupTo } from './backup.js';
import { type BackupTarget, localTarget } from './backup-target.js';
import { ImageStore } from './repo/image-store.js';
import type { Manifest } from './repo/manifest.js';
import { verifyImage } from './verify.js';

/** Files this process holds open below `dir` (a deleted one still counts). */
function openBelow(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return []; // closed while listing
    }
  });
}

test('a backup that fails or is cancelled closes every file it opened and leaves no staging behind (the daemon runs many in one process)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-files-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.alloc(256 * 1024, 7));
    await backupImage({ store, source: disk });
    const cancelled = new AbortController();
    cancelled.abort();
    await assert.rejects(backupImage({ store, source: disk, signal: cancelled.signal }), /was cancelled; nothing was committed/);
    assert.deepEqual(openBelow(dir), []);
    assert.deepEqual(readdirSync(join(dir, 'store', 'tmp')), []);
    assert.equal((await store.listImages()).images.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('threads join as needed: one at the start, the rest once a chunk goes to the store; an unchanged disk never needs them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-backup-threads-'));
  try {
    const store = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, randomBytes(40 * 65536));
    const threads: number[] = [];
    const counted = (): BackupTarget<Manifest> => {
      const target = localTarget(store);
      return { ...target, commit: (f) => (threads.push(f.profile?.threads ?? -1), target.commit(f)) };
    };
    const first = await backupTo(counted(), { source: disk, workers: 3, workersAtStart: 1 });
    assert.equal(first.stats.chunksNew, 40);
    assert.equal((await verifyImage(store, first.id)).ok, true, 'every chunk staged by the threads that joined late is in the image');
    const second = await backupTo(counted(), { source: disk, workers: 3, workersAtStart: 1 });
    assert.equal(second.stats.chunksReused, 40);
    assert.deepEqual(threads, [3, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
