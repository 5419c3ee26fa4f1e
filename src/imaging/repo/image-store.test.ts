import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { backupImage } from '../backup.js';
import { collectGarbage } from './gc.js';
import { ImageStore } from './image-store.js';
import { acquireLock } from './locks.js';

/** A store with 64 KiB chunks and a disk-image path in a fresh temporary directory, removed afterwards. */
async function withStore(fn: (store: ImageStore, disk: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-store-'));
  try {
    await fn(await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 }), join(dir, 'disk.img'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('images made within one second are listed, and chosen as parent, by completion time, not by id', () =>
  withStore(async (store, disk) => {
    // One clock second for all of them; each image completes a few milliseconds after the one before.
    let t = Date.parse('2026-11-25T12:00:00.000Z');
    const now = () => (t += 3);
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      writeFileSync(disk, Buffer.alloc(256 * 1024, i + 1));
      made.push((await backupImage({ store, source: disk, now, incremental: true })).id);
    }
    assert.ok(made.every((id) => id.startsWith('20261125T120000Z-')), 'same second: the ids alone cannot order them');
    assert.deepEqual((await store.listImages()).images.map((m) => m.id), made);
    const parents = await Promise.all(made.map(async (id) => (await store.readManifest(id)).parent));
    assert.deepEqual(parents, [null, made[0], made[1], made[2]], 'each backup is made against the one just before');
  }));

test('an index or fingerprints file longer than its manifest certifies is refused after reading one byte past the certified size', () =>
  withStore(async (store, disk) => {
    writeFileSync(disk, Buffer.alloc(256 * 1024, 7));
    const manifest = await backupImage({ store, source: disk });
    for (const name of ['index', 'fingerprints']) {
      const path = join(store.imageDir(manifest.id), name);
      const good = readFileSync(path);
      // A sparse gigabyte after the certified bytes: reading it whole would take a gigabyte of memory.
      truncateSync(path, 1 << 30);
      const read = name === 'index' ? store.readIndex(manifest) : store.readFingerprints(manifest);
      await assert.rejects(read, (err: Error & { kind?: string }) => err.kind === 'integrity' && new RegExp(`${name} of image ${manifest.id} .*not match the manifest \\(more than ${good.length} bytes\\)`).test(err.message));
      writeFileSync(path, good);
    }
    assert.equal((await store.readIndex(manifest)).chunkCount, 4);
    assert.equal((await store.readFingerprints(manifest))?.length, 4 * 16);
  }));

test('a manifest file grown past any manifest size is refused as damaged, not read whole; the other images stay listed', () =>
  withStore(async (store, disk) => {
    writeFileSync(disk, Buffer.alloc(128 * 1024, 3));
    const a = await backupImage({ store, source: disk });
    const b = await backupImage({ store, source: disk });
    truncateSync(join(store.imageDir(a.id), 'manifest.json'), 1 << 30);
    await assert.rejects(store.readManifest(a.id), (err: Error & { kind?: string }) => err.kind === 'integrity' && /larger than any manifest/.test(err.message));
    const { images, damaged } = await store.listImages();
    assert.deepEqual(images.map((m) => m.id), [b.id]);
    assert.deepEqual(damaged.map((d) => d.id), [a.id]);
  }));

test('a held image: gc and removeImage refuse naming the holder; several readers share it; gc holds readers off; release lets both work', () =>
  withStore(async (store, disk) => {
    writeFileSync(disk, Buffer.alloc(256 * 1024, 7));
    const { id } = await backupImage({ store, source: disk });
    const restore = store.holdImage(id, 'restore');
    const verify = store.holdImage(id, 'verify'); // shared: a second reader of the same image is welcome
    await assert.rejects(collectGarbage(store), new RegExp(`a (restore|verify) is running \\(image ${id}, pid ${process.pid}\\): run gc after it finishes`));
    await assert.rejects(store.removeImage(id), new RegExp(`image ${id} cannot be removed: a (restore|verify) is running`));
    restore.release();
    await assert.rejects(store.removeImage(id), new RegExp(`image ${id} cannot be removed: a verify is running`), 'the other reader still holds it');
    verify.release();
    assert.equal((await collectGarbage(store, { dryRun: true })).chunksRemoved, 0);

    assert.throws(() => store.holdImage('../../etc', 'restore'), /invalid image id/);
    const gc = acquireLock(store.root, 'gc', 'gc');
    try {
      assert.throws(() => store.holdImage(id, 'export'), /store gc is running \(pid \d+\): start the export after it finishes/);
    } finally {
      gc.release();
    }
    await store.removeImage(id);
    assert.ok((await collectGarbage(store)).chunksRemoved > 0, 'with the image gone and no holder, gc sweeps its chunks');
    assert.deepEqual(readdirSync(join(store.root, 'locks')), []);
  }));
