// Garbage collection, mark and sweep: mark every chunk a committed image's index
// names, sweep the rest, and clear what dead writers left in the store. It holds the store's
// exclusive gc lock, so no backup runs meanwhile; an image whose index cannot be read
// stops gc before anything is removed (its chunks cannot be told apart from garbage).
import { integrityError } from '../../errors.js';
import { digestAt } from './index-file.js';
import { acquireLock } from './locks.js';
import type { ImageStore } from './image-store.js';

export interface GcReport {
  images: number;
  chunksKept: number;
  chunksRemoved: number;
  bytesRemoved: number;
  tempFilesRemoved: number;
  dryRun: boolean;
}

export async function collectGarbage(store: ImageStore, opts: { dryRun?: boolean } = {}): Promise<GcReport> {
  const lock = acquireLock(store.root, 'gc', 'gc');
  try {
    const marked = new Set<string>();
    const ids = await store.imageIds();
    for (const id of ids) {
      let index;
      try {
        index = await store.readIndex(await store.readManifest(id));
      } catch (err) {
        throw integrityError(`gc stopped before removing anything: image ${id} cannot be read (${(err as Error).message}); remove that image with \`lifeboat image rm ${id}\` or repair it first`);
      }
      for (let i = 0; i < index.chunkCount; i++) {
        const d = digestAt(index, i);
        if (d) marked.add(d.toString('hex'));
      }
    }
    const report: GcReport = { images: ids.length, chunksKept: 0, chunksRemoved: 0, bytesRemoved: 0, tempFilesRemoved: 0, dryRun: opts.dryRun === true };
    for await (const chunk of store.chunks.list()) {
      if (marked.has(chunk.digest)) {
        report.chunksKept++;
        continue;
      }
      report.chunksRemoved++;
      report.bytesRemoved += chunk.bytes;
      if (!opts.dryRun) await store.chunks.remove(chunk.digest);
    }
    // What crashed writers left: staged chunks of dead sessions, image staging directories.
    report.tempFilesRemoved = (await store.chunks.sweep({ dryRun: report.dryRun })) + (await store.sweepTemp({ dryRun: report.dryRun }));
    return report;
  } finally {
    lock.release();
  }
}

/**
 * Clears what dead writers left (a killed backup's staged chunks and staging directory)
 * without touching named chunks: what the daemon runs at start and before a backup. Under
 * the gc lock, so a running backup's files are never touched; while one runs (the lock is
 * refused) it does nothing and returns null.
 */
export async function sweepTemp(store: ImageStore): Promise<number | null> {
  let lock;
  try {
    lock = acquireLock(store.root, 'gc', 'temp sweep');
  } catch (err) {
    if ((err as { kind?: string }).kind === 'conflict') return null;
    throw err;
  }
  try {
    return (await store.chunks.sweep({ dryRun: false })) + (await store.sweepTemp({ dryRun: false }));
  } finally {
    lock.release();
  }
}
