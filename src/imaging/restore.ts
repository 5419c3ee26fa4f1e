// Restore: certify the image first (manifest authentic, index intact, passphrase,
// every chunk present, target big enough and of the same sector size), and only then
// write: workers read each chunk, LZ4-decode it, check its SHA-256 and write it at its
// offset. Success is claimed only after fsync and, with `verify`, a read-back.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { open, rm } from 'node:fs/promises';
import { describeSystemError, integrityError, userError } from '../errors.js';
import type { ChunkTask, ChunkWorkerData } from './chunk-worker.js';
import { describeDisk, formatBytes, mountsOf } from './disk.js';
import { type EventSink, type Operation, ProgressMeter, emptyCounters } from './progress.js';
import { chunkExists } from './repo/dir-chunk-store.js';
import { type ImageIndex, chunkLength, digestAt } from './repo/index-file.js';
import { type Manifest, checkPassphrase } from './repo/manifest.js';
import type { Store } from './repo/store.js';
import { runBounded } from './task-runner.js';
import { WorkerPool, siblingModule } from './worker-pool.js';

export interface Certified {
  manifest: Manifest;
  index: ImageIndex;
}

/** Everything a restore must know before it may write a byte; throws the first problem found. */
export async function certifyImage(store: Store, imageId: string, passphrase?: string): Promise<Certified> {
  const manifest = await store.readManifest(imageId);
  const index = await store.readIndex(manifest);
  if (manifest.passphrase) {
    if (passphrase === undefined) throw userError(`image ${imageId} is protected by a restore passphrase: give it with --passphrase-file or LIFEBOAT_PASSPHRASE`);
    if (!checkPassphrase(manifest.passphrase, passphrase)) throw userError(`wrong restore passphrase for image ${imageId}: nothing was written`);
  }
  const missing: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < index.chunkCount; i++) {
    const d = digestAt(index, i);
    if (!d) continue;
    const hex = d.toString('hex');
    if (seen.has(hex)) continue;
    seen.add(hex);
    if (!chunkExists(store.root, hex)) missing.push(`chunk ${i} (${hex}) at disk bytes ${i * index.chunkSize}+${chunkLength(index, i)}`);
  }
  if (missing.length > 0) {
    throw integrityError(`image ${imageId} cannot be restored: ${missing.length} chunk(s) missing from the store: ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? '; …' : ''}`);
  }
  return { manifest, index };
}

export interface RestoreOptions {
  store: Store;
  imageId: string;
  /** Block device or file; a missing file is created at the image's size. */
  target: string;
  passphrase?: string;
  /** Read the target back and compare every chunk's SHA-256. */
  verify?: boolean;
  /** 'export' insists on a new file. */
  operation?: Extract<Operation, 'restore' | 'export'>;
  onEvent?: EventSink;
  signal?: AbortSignal;
  workers?: number;
  now?: () => number;
  /** Called after certification and target checks, before the first write (the CLI asks here). */
  confirm?: (info: { manifest: Manifest; targetSize: number; fresh: boolean }) => Promise<boolean>;
}

export interface RestoreReport {
  imageId: string;
  target: string;
  bytesWritten: number;
  bytesTotal: number;
  verified: boolean;
  durationMs: number;
}

export async function restoreImage(opts: RestoreOptions): Promise<RestoreReport> {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const operation = opts.operation ?? 'restore';
  const { store } = opts;
  const { manifest, index } = await certifyImage(store, opts.imageId, opts.passphrase);

  // Target checks: all before the first write.
  const exists = existsSync(opts.target);
  if (operation === 'export' && exists) throw userError(`${opts.target} already exists: export writes a new file; choose another name or remove it`);
  let fresh = !exists;
  let targetSize = manifest.diskSize;
  if (exists) {
    const t = describeDisk(opts.target);
    if (t.kind === 'block') {
      const mounts = mountsOf(opts.target);
      if (mounts.length > 0) throw userError(`${opts.target} is mounted at ${mounts.join(', ')}: unmount it before restoring onto it`);
    }
    if (t.kind === 'file' && t.size === 0) fresh = true;
    else {
      targetSize = t.size;
      if (t.logicalSectorSize !== manifest.source.logicalSectorSize) {
        throw userError(`${opts.target} has ${t.logicalSectorSize}-byte sectors but image ${manifest.id} was taken from a disk with ${manifest.source.logicalSectorSize}-byte sectors: choose a disk with ${manifest.source.logicalSectorSize}-byte sectors`);
      }
      if (t.size < manifest.diskSize) {
        throw userError(`${opts.target} is ${formatBytes(t.size)} (${t.size} bytes); image ${manifest.id} needs ${formatBytes(manifest.diskSize)} (${manifest.diskSize} bytes): choose a larger disk`);
      }
    }
  }
  if (opts.confirm && !(await opts.confirm({ manifest, targetSize, fresh }))) throw userError(`restore onto ${opts.target} was not confirmed; nothing was written`);

  const fh = await open(opts.target, fresh ? 'w' : 'r+', 0o640).catch((err) => {
    throw describeSystemError(err, `restore target ${opts.target}`);
  });
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const workerData: ChunkWorkerData = { storeRoot: store.root, chunkSize: index.chunkSize, targetPath: opts.target };
  const pool = new WorkerPool(siblingModule(import.meta.url, 'chunk-worker'), workers, workerData);
  try {
    if (fresh) await fh.truncate(manifest.diskSize).catch((err) => {
      throw describeSystemError(err, `sizing ${opts.target} to ${manifest.diskSize} bytes`);
    });
    opts.onEvent?.({ type: 'start', operation, imageId: manifest.id, source: store.root, target: opts.target, bytesTotal: manifest.diskSize });
    const counters = emptyCounters(manifest.diskSize, index.chunkCount);
    const meter = new ProgressMeter(operation, manifest.id, startedAt);
    const chunkIds = Array.from({ length: index.chunkCount }, (_, i) => i);
    let bytesWritten = 0;
    await runBounded<number, { i: number }>(
      pool,
      chunkIds.filter((i) => !fresh || digestAt(index, i) !== null),
      workers * 2,
      (i): ChunkTask => ({ type: 'restore', i, length: chunkLength(index, i), offset: i * index.chunkSize, digest: digestAt(index, i)?.toString('hex') ?? null }),
      (_r, i) => {
        const length = chunkLength(index, i);
        bytesWritten += length;
        counters.bytesDone += length;
        counters.chunksDone++;
        if (digestAt(index, i) === null) counters.bytesZero += length;
        const ev = meter.sample(counters, now());
        if (ev) opts.onEvent?.(ev);
      },
      opts.signal,
      `restore onto ${opts.target} was cancelled: the target is incomplete; restore again before using it`,
    );
    counters.bytesDone = manifest.diskSize;
    counters.chunksDone = index.chunkCount;
    await fh.sync().catch((err) => {
      throw describeSystemError(err, `flushing ${opts.target}`);
    });
    const last = meter.sample(counters, now(), true);
    if (last) opts.onEvent?.(last);
    if (opts.verify) await readBack(pool, index, opts.target, workers, opts.signal);
    return { imageId: manifest.id, target: opts.target, bytesWritten, bytesTotal: manifest.diskSize, verified: opts.verify === true, durationMs: now() - startedAt };
  } catch (err) {
    // A file this restore created holds no one's data yet: do not leave a half-written disk behind.
    if (!exists) await rm(opts.target, { force: true }).catch(() => {});
    throw err;
  } finally {
    await pool.close();
    await fh.close().catch(() => {});
  }
}

/** Reads the target back and compares every chunk with the index; throws naming the first bad ones. */
async function readBack(pool: WorkerPool, index: ImageIndex, target: string, workers: number, signal?: AbortSignal): Promise<void> {
  const bad: string[] = [];
  await runBounded<number, { i: number; ok: boolean; actual: string }>(
    pool,
    Array.from({ length: index.chunkCount }, (_, i) => i),
    workers * 2,
    (i): ChunkTask => ({ type: 'readback', i, length: chunkLength(index, i), offset: i * index.chunkSize, digest: digestAt(index, i)?.toString('hex') ?? null }),
    (r) => {
      if (!r.ok) bad.push(`chunk ${r.i} at byte ${r.i * index.chunkSize}`);
    },
    signal,
  );
  if (bad.length > 0) throw integrityError(`read-back of ${target} differs from the image in ${bad.length} chunk(s): ${bad.slice(0, 5).join(', ')}: the disk may be failing`);
}
