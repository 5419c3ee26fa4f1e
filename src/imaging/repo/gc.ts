// Garbage collection, mark and sweep: mark every chunk a committed image's index
// names, sweep the rest, and clear temp files of dead processes. It holds the store's
// exclusive gc lock, so no backup runs meanwhile; an image whose index cannot be read
// stops gc before anything is removed (its chunks cannot be told apart from garbage).
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { integrityError } from '../../errors.js';
import { STORE_LAYOUT } from './formats.js';
import { digestAt } from './index-file.js';
import { acquireLock, processAlive } from './locks.js';
import type { Store } from './store.js';

export interface GcReport {
  images: number;
  chunksKept: number;
  chunksRemoved: number;
  bytesRemoved: number;
  tempFilesRemoved: number;
  dryRun: boolean;
}

export async function collectGarbage(store: Store, opts: { dryRun?: boolean } = {}): Promise<GcReport> {
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
    report.tempFilesRemoved = await cleanTemp(store, opts.dryRun === true);
    return report;
  } finally {
    lock.release();
  }
}

/**
 * Clears tmp/ of what dead writers left (a killed backup's staged chunks and staging
 * directory) without touching chunks: what the daemon runs at start and before a backup.
 * Under the gc lock, so a running backup's files are never touched; while one runs (the
 * lock is refused) it does nothing and returns null.
 */
export async function sweepTemp(store: Store): Promise<number | null> {
  let lock;
  try {
    lock = acquireLock(store.root, 'gc', 'temp sweep');
  } catch (err) {
    if ((err as { kind?: string }).kind === 'conflict') return null;
    throw err;
  }
  try {
    return await cleanTemp(store, false);
  } finally {
    lock.release();
  }
}

/** Removes temp files and staging directories whose writer (pid in the name) is gone. */
async function cleanTemp(store: Store, dryRun: boolean): Promise<number> {
  const dir = join(store.root, STORE_LAYOUT.tmp);
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = ownerPid(name);
    if (pid !== null && processAlive(pid)) continue;
    if (pid === null) {
      // Staging directories of backups: their lock is gone (gc holds the exclusive lock), so they are dead.
      const st = await stat(join(dir, name)).catch(() => null);
      if (!st) continue;
    }
    removed++;
    if (!dryRun) await rm(join(dir, name), { recursive: true, force: true });
  }
  return removed;
}

function ownerPid(name: string): number | null {
  const m = /^(\d+)-[0-9a-f]+(-[0-9a-f]{64})?\.chunk$/.exec(name) ?? /^removed-.*-(\d+)$/.exec(name) ?? /^\.[^.]+.*\.(\d+)-[0-9a-f]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : null;
}
