// Restore: certify the image first (manifest authentic, index intact, passphrase,
// every chunk present, target big enough and of the same sector size), and only then
// write: workers read each chunk, LZ4-decode it, check its SHA-256 and write it at its
// offset. With `verifyFirst` every chunk is read and checked before the first write, so
// a damaged chunk leaves the target unchanged. Success is claimed only after fsync and,
// with `verify`, a read-back. The image is held against gc and `image rm` throughout.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type FileHandle, rm } from 'node:fs/promises';
import { LifeboatError, describeSystemError, integrityError, userError } from '../errors.js';
import type { ChunkTask, ChunkTimes, ChunkWorkerData } from './chunk-worker.js';
import { describeDisk, fileReader } from './disk.js';
import { formatBytes } from '../format.js';
import { assertNotInUse, openChecked } from '../devices/device-check.js';
import { imageReader } from './image-reader.js';
import { readPartitionTable } from './layout/partition-table.js';
import { type Extent, LayoutProblem } from './layout/types.js';
import { type GrowOutcome, growFilesystem, planGrowth } from './grow.js';
import { checkChunksFirst, checkTargetGpt, readBack } from './restore-checks.js';
import { type Fixups, type ImageShape, type LayoutSummary, imageShape, planFixups } from './retarget.js';
import { type EventSink, type Operation, ProgressMeter, emptyCounters } from './progress.js';
import { type ChunkReader, type ChunkStoreRef, missingChunks } from './repo/chunk-store.js';
import { type ImageIndex, chunkLength, digestAt, isUnused } from './repo/index-file.js';
import { type Manifest, checkPassphrase } from './repo/manifest.js';
import type { ImageStore } from './repo/image-store.js';
import { runTasks } from './chunk-pipeline.js';
import { chunkWorkers } from './chunk-pool.js';

export interface Certified {
  manifest: Manifest;
  index: ImageIndex;
}

/** Everything a restore must know before it may write a byte; throws the first problem found. */
export async function certifyImage(store: ImageStore, imageId: string, passphrase?: string): Promise<Certified> {
  const manifest = await store.readManifest(imageId);
  const index = await store.readIndex(manifest);
  if (manifest.passphrase) {
    if (passphrase === undefined) throw userError(`image ${imageId} is protected by a restore passphrase: give it with --passphrase-file or LIFEBOAT_PASSPHRASE`);
    if (!checkPassphrase(manifest.passphrase, passphrase)) throw userError(`wrong restore passphrase for image ${imageId}: nothing was written`);
  }
  // Each distinct chunk once, where it is first used; asked of the store in batches.
  const firstUse = new Map<string, number>();
  for (let i = 0; i < index.chunkCount; i++) {
    const hex = digestAt(index, i)?.toString('hex');
    if (hex && !firstUse.has(hex)) firstUse.set(hex, i);
  }
  const missing = (await missingChunks(store.chunks, [...firstUse.keys()])).map((hex) => {
    const i = firstUse.get(hex) as number;
    return `chunk ${i} (${hex}) at disk bytes ${i * index.chunkSize}+${chunkLength(index, i)}`;
  });
  if (missing.length > 0) {
    throw integrityError(`image ${imageId} cannot be restored: ${missing.length} chunk(s) missing from the store: ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? '; …' : ''}`);
  }
  return { manifest, index };
}

/**
 * Where a restore reads the image from: the seam between the engine and the store. The
 * local image store certifies the image itself (localSource); the appliance certifies it
 * before it offers a restore job, and the agent reads its chunks over the agent API
 * (src/agent/remote-source.ts).
 */
export interface RestoreSource {
  /** Where the image is, for the start event. */
  readonly where: string;
  /** Frames, on the main thread (partition tables); `ref`: what worker threads open. */
  readonly chunks: ChunkReader & { readonly ref: ChunkStoreRef };
  /** The certified image, or the first problem found (nothing written yet). */
  certify(): Promise<Certified>;
}

export function localSource(store: ImageStore, imageId: string, passphrase?: string): RestoreSource {
  return { where: store.root, chunks: store.chunks, certify: () => certifyImage(store, imageId, passphrase) };
}

export interface TargetOptions {
  /** Block device or file; a missing file is created at the image's size. */
  target: string;
  /** Read the target back and compare every chunk's SHA-256. */
  verify?: boolean;
  /**
   * Read and check every chunk before the first write (a second pass over the store);
   * 'if-partitioned': only when the target is an existing disk holding partitions.
   */
  verifyFirst?: boolean | 'if-partitioned';
  /** Called once, just before the first byte is written to the target. */
  onFirstWrite?: () => void;
  /** 'export' insists on a new file. */
  operation?: Extract<Operation, 'restore' | 'export'>;
  onEvent?: EventSink;
  signal?: AbortSignal;
  workers?: number;
  now?: () => number;
  /** Called after certification and target checks, before the first write (the CLI asks here). */
  confirm?: (info: { manifest: Manifest; targetSize: number; fresh: boolean }) => Promise<boolean>;
  /** On a larger target, enlarge the last partition and its filesystem to the end of the disk. */
  growLast?: boolean;
  /** Called as each stage begins (the agent prints where a job's seconds went). */
  onStage?: (stage: RestoreStage) => void;
}

/** The stages of a restore, in order (some are skipped: check-first, verify, grow). */
export type RestoreStage = 'certify' | 'target' | 'workers' | 'check-first' | 'write' | 'flush' | 'verify' | 'grow';

export interface RestoreOptions extends TargetOptions {
  store: ImageStore;
  imageId: string;
  passphrase?: string;
}

export interface RestoreReport {
  imageId: string;
  target: string;
  bytesWritten: number;
  bytesTotal: number;
  /** Size of the target disk. */
  targetSize: number;
  /** The partition table was adapted to a target of another size. */
  adapted: boolean;
  /** What --grow-last did, or why it did not. */
  grow?: GrowOutcome;
  verified: boolean;
  /** Every chunk was checked before the first write. */
  checkedFirst: boolean;
  durationMs: number;
  /** Where the worker threads' time went while writing (summed over threads: more than the wall time when they overlap). */
  workerMs: ChunkTimes;
}

/** Restores (or exports) holding the image's chunks against gc and `image rm` throughout. */
export async function restoreImage(opts: RestoreOptions): Promise<RestoreReport> {
  const hold = opts.store.holdImage(opts.imageId, opts.operation ?? 'restore');
  try {
    return await restoreFrom(localSource(opts.store, opts.imageId, opts.passphrase), { ...opts, imageId: opts.imageId });
  } finally {
    hold.release();
  }
}

/** Restores the image `source` certifies onto `opts.target` (the caller holds the image against gc). */
export async function restoreFrom(source: RestoreSource, opts: TargetOptions & { imageId: string }): Promise<RestoreReport> {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  const operation = opts.operation ?? 'restore';
  const stage = opts.onStage ?? (() => {});
  stage('certify');
  const { manifest, index } = await source.certify().catch((err: unknown) => {
    throw withAdvice(err, `nothing was written to ${opts.target}; run \`lifeboat image verify ${opts.imageId}\` and restore an older image`);
  });
  const image = imageReader(source.chunks, index);
  const shape = await imageShape(manifest.layout as LayoutSummary | null, image).catch((err: unknown) => {
    if (!(err instanceof LayoutProblem)) throw err;
    // Its partition table cannot be read back: it can only go onto a disk at least as large, unchanged.
    return { layout: null, gpt: null, minimumSize: manifest.diskSize } satisfies ImageShape;
  });

  // Target checks: all before the first write.
  stage('target');
  // Resolved once; from here the resolved path is opened, never through a symlink.
  const checked = assertNotInUse('restore', opts.target);
  const exists = existsSync(opts.target);
  if (operation === 'export' && exists) throw userError(`${opts.target} already exists: export writes a new file; choose another name or remove it`);
  let fresh = !exists;
  let targetSize = manifest.diskSize;
  if (exists) {
    const t = describeDisk(opts.target);
    if (t.kind === 'stream') throw userError(`${opts.target} is a pipe or character device, not a disk: restore onto a block device or a file (or use \`lifeboat image export\`)`);
    if (t.kind === 'file' && t.size === 0) fresh = true;
    else {
      targetSize = t.size;
      if (t.logicalSectorSize !== manifest.source.logicalSectorSize) {
        throw userError(`${opts.target} has ${t.logicalSectorSize}-byte sectors but image ${manifest.id} was taken from a disk with ${manifest.source.logicalSectorSize}-byte sectors: choose a disk with ${manifest.source.logicalSectorSize}-byte sectors`);
      }
      if (t.size < shape.minimumSize) {
        const why = shape.minimumSize < manifest.diskSize ? ' for its partitions to fit' : '';
        throw userError(`${opts.target} is ${formatBytes(t.size)} (${t.size} bytes); image ${manifest.id} needs at least ${formatBytes(shape.minimumSize)} (${shape.minimumSize} bytes)${why}: choose a larger disk`);
      }
    }
  }
  // The time the operator spends reading the question counts in neither the duration nor the rates.
  let prompted = 0;
  if (opts.confirm) {
    const asked = now();
    const yes = await opts.confirm({ manifest, targetSize, fresh });
    prompted = Math.max(0, now() - asked);
    if (!yes) throw userError(`restore onto ${opts.target} was not confirmed; nothing was written`);
  }

  const fh = await openChecked(checked, !exists ? 'create' : fresh ? 'truncate' : 'write', 'restore target');
  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const workerData: ChunkWorkerData = { store: source.chunks.ref, chunkSize: index.chunkSize, targetPath: checked.resolved ?? opts.target };
  // The worker threads take their job while the target is prepared.
  const poolReady = chunkWorkers(workers, workerData);
  poolReady.catch(() => {}); // awaited below; an earlier failure must not leave it unhandled
  let written = false;
  try {
    // Chunks past the end of a smaller target hold only unassigned space and the old backup GPT.
    const chunkIds = Array.from({ length: index.chunkCount }, (_, i) => i).filter((i) => i * index.chunkSize < targetSize);
    const oldPartitions = fresh ? [] : await oldPartitionExtents(fh, targetSize, opts.target);
    const checkFirst = opts.verifyFirst === 'if-partitioned' ? oldPartitions.length > 0 : opts.verifyFirst === true;
    stage('workers');
    const pool = await poolReady;
    if (checkFirst) {
      stage('check-first');
      await checkChunksFirst(pool, index, chunkIds, workers, { imageId: manifest.id, target: opts.target, signal: opts.signal });
    }
    stage('write');
    written = true;
    opts.onFirstWrite?.();
    if (fresh) await fh.truncate(manifest.diskSize).catch((err) => {
      throw describeSystemError(err, `sizing ${opts.target} to ${manifest.diskSize} bytes`);
    });
    opts.onEvent?.({ type: 'start', operation, imageId: manifest.id, source: source.where, target: opts.target, bytesTotal: manifest.diskSize });
    const counters = emptyCounters(manifest.diskSize, index.chunkCount);
    const meter = new ProgressMeter(operation, manifest.id, checkFirst ? now() : startedAt + prompted); // rates and ETA of the writing, not of the check before it
    const writeLength = (i: number) => Math.min(chunkLength(index, i), targetSize - i * index.chunkSize);
    const sector0 = await image.read(0, Math.min(image.size, shape.layout?.sectorSize ?? 512));
    const growth = opts.growLast ? planGrowth(shape, sector0, targetSize, manifest.diskSize) : null;
    const fixups = planFixups(growth?.shape ?? shape, index, shape.gpt ? sector0 : null, targetSize, fresh, oldPartitions);
    if (growth?.mbrSector) fixups.writes.push({ offset: 0, data: growth.mbrSector });
    let bytesWritten = 0;
    const workerMs: ChunkTimes = { fetch: 0, decode: 0, hash: 0, write: 0 };
    await runTasks<number, { i: number; ms?: ChunkTimes }>(
      { runner: pool, limit: workers * 2, signal: opts.signal, cancelled: `restore onto ${opts.target} was cancelled: the target is incomplete; restore again before using it` },
      // A fresh file is all holes already; elsewhere zero chunks are written, unused ones skipped.
      chunkIds.filter((i) => (fresh ? digestAt(index, i) !== null : !isUnused(index, i))),
      (i): ChunkTask => ({ type: 'restore', i, length: chunkLength(index, i), writeLength: writeLength(i), offset: i * index.chunkSize, digest: digestAt(index, i)?.toString('hex') ?? null, sparse: fresh }),
      (r, i) => {
        if (r.ms) for (const k of ['fetch', 'decode', 'hash', 'write'] as const) workerMs[k] += r.ms[k];
        const length = writeLength(i);
        bytesWritten += length;
        counters.bytesDone += length;
        counters.chunksDone++;
        if (digestAt(index, i) === null) counters.bytesZero += length;
        const ev = meter.sample(counters, now());
        if (ev) opts.onEvent?.(ev);
      },
    );
    counters.bytesDone = manifest.diskSize;
    counters.chunksDone = index.chunkCount;
    stage('flush');
    bytesWritten += await applyFixups(fh, fixups, opts.target);
    await fh.sync().catch((err) => {
      throw describeSystemError(err, `flushing ${opts.target}`);
    });
    const last = meter.sample(counters, now(), true);
    if (last) opts.onEvent?.(last);
    if (opts.verify) {
      stage('verify');
      await readBack(pool, index, opts.target, workers, fresh, targetSize, fixups, opts.signal);
      if (shape.gpt) await checkTargetGpt(fh, targetSize, shape.gpt, opts.target);
    }
    let grow: GrowOutcome | undefined;
    if (growth) {
      if ('reason' in growth) grow = { grown: false, reason: growth.reason };
      else {
        stage('grow');
        const tool = growFilesystem(opts.target, growth.plan.start, growth.plan.newSize, growth.plan.filesystem as string);
        await fh.sync();
        grow = { grown: true, tool, ...growth.plan };
      }
    }
    return { imageId: manifest.id, target: opts.target, targetSize, adapted: fixups.writes.length > 0, ...(grow ? { grow } : {}), bytesWritten, bytesTotal: manifest.diskSize, verified: opts.verify === true, checkedFirst: checkFirst, durationMs: now() - startedAt - prompted, workerMs };
  } catch (err) {
    // A file this restore created holds no one's data yet: do not leave a half-written disk behind.
    if (!exists) await rm(checked.resolved ?? opts.target, { force: true }).catch(() => {});
    throw withAdvice(
      err,
      exists && !written
        ? `nothing was written: ${opts.target} is unchanged; run \`lifeboat image verify ${manifest.id}\` and restore an older image`
        : exists
        ? `restore of image ${manifest.id} stopped: ${opts.target} is incomplete — do not use it; run \`lifeboat image verify ${manifest.id}\` and restore an older image`
        : `restore of image ${manifest.id} stopped and ${opts.target} was removed; run \`lifeboat image verify ${manifest.id}\` and restore an older image`,
    );
  } finally {
    await poolReady.then(
      (pool) => pool.close(),
      () => {},
    );
    await fh.close().catch(() => {});
  }
}

/** Zeroes and writes the fix-ups; returns the bytes written. */
async function applyFixups(fh: FileHandle, fixups: Fixups, target: string): Promise<number> {
  let written = 0;
  const zeros = Buffer.alloc(1 << 20);
  try {
    for (const z of fixups.zero) {
      for (let off = 0; off < z.length; off += zeros.length) {
        const n = Math.min(zeros.length, z.length - off);
        await fh.write(zeros, 0, n, z.start + off);
        written += n;
      }
    }
    for (const w of fixups.writes) {
      await fh.write(w.data, 0, w.data.length, w.offset);
      written += w.data.length;
    }
  } catch (err) {
    throw describeSystemError(err, `adapting the partition table on ${target}`);
  }
  return written;
}

/** Adds what to do next to an integrity failure (the data is bad, not the operator's input). */
function withAdvice(err: unknown, advice: string): unknown {
  if (!(err instanceof LifeboatError) || err.kind !== 'integrity') return err;
  return new LifeboatError(err.kind, `${err.message}; ${advice}`);
}

/** Where the target's current partition table (if any) puts partitions: ghosts to wipe. */
async function oldPartitionExtents(fh: FileHandle, size: number, target: string): Promise<Extent[]> {
  try {
    const old = await readPartitionTable(fileReader(fh, size, target));
    return old.partitions.filter((p) => p.typeName !== 'extended').map((p) => ({ start: p.start, length: p.size }));
  } catch {
    return []; // no readable table: nothing old to find through it
  }
}
