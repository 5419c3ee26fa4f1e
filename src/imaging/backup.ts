// Backup: read a disk in aligned chunks (only what its filesystems use; the rest is
// zeros, not read) or cut a stream into chunks; in worker threads detect zero chunks,
// hash, skip what the parent image or the store already has, LZ4-compress and stage the
// rest in a chunk session; write the index in disk order; then publish the session and
// commit index + certified manifest through a BackupTarget (backup-target.ts: the local
// store, or the appliance over the agent API). Its parts, each readable and testable alone: the
// bounded chunk pipeline (chunk-pipeline.ts), the ordered index writer (index-writer.ts),
// the tally (backup-tally.ts) and the manifest builder (backup-manifest.ts). It reaches
// chunks only through the ChunkStore interface. Memory is bounded by the pipeline,
// whatever the disk size.
import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { LifeboatError, bug, describeSystemError, userError } from '../errors.js';
import { type BackupTarget, localTarget } from './backup-target.js';
import { type BackupProfile, noWork, threadCpuMs } from './backup-profile.js';
import { BackupTally } from './backup-tally.js';
import { type BufferLender, type Work, runPipeline } from './chunk-pipeline.js';
import { chunkWorkers } from './chunk-pool.js';
import { textProblem } from '../text.js';
import { type ChunkSource, diskSource, streamSource } from './chunk-source.js';
import type { BackupResult, ChunkTask, ChunkWorkerData } from './chunk-worker.js';
import { type DiskPlan, describePlan, planDisk, rawPlan } from './disk-plan.js';
import { describeDisk, fileReader } from './disk.js';
import { assertNotInUse, openChecked } from '../devices/device-check.js';
import type { Inspected } from '../devices/kernel-read.js';
import { IndexWriter } from './index-writer.js';
import { type EventSink, ProgressMeter } from './progress.js';
import { encodeFingerprints } from './repo/fingerprint.js';
import { NO_FINGERPRINT, UNUSED_DIGEST, ZERO_DIGEST } from './repo/formats.js';
import type { PositionalFile } from './repo/image-draft.js';
import type { Manifest, SourceIdentity } from './repo/manifest.js';
import type { ImageStore } from './repo/image-store.js';
import type { WorkerPool } from './worker-pool.js';

export interface EngineOptions {
  /** A block device, a disk-image file, or a stream: `-` (standard input) or a pipe. */
  source: string;
  label?: string;
  /** The manifest's host (default: this computer's hostname; the agent names the machine). */
  host?: string;
  /** The disk's model and serial as the caller knows them (the agent's inventory), over what the source's sysfs says. */
  identity?: { model?: string; serial?: string };
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Worker threads (default: one per core). */
  workers?: number;
  /**
   * Threads booted before the first chunk (default: all of them); the rest join once a chunk
   * goes to the store, whose answers threads then wait for. A thread costs ~0.1 s of CPU to
   * boot, seconds on a slow machine: an incremental of an unchanged disk never needs them.
   */
  workersAtStart?: number;
  /** Image every byte, ignoring partition tables and filesystems (default false). */
  raw?: boolean;
  /** Use the newest image of the same source to skip unchanged chunks (default true). */
  incremental?: boolean;
  /** The first chunk with data and every n-th after it are SHA-256'd even when recognised by their fingerprint, as a check (default 32; 0: none). */
  fingerprintSpotCheck?: number;
  now?: () => number;
}

export interface BackupOptions extends EngineOptions {
  store: ImageStore;
  passphrase?: string;
}

/** SHA-256 of `length` zero bytes, cached per length. */
const zeroDigests = new Map<number, Buffer>();
export function zeroChunkDigest(length: number): Buffer {
  let d = zeroDigests.get(length);
  if (!d) {
    d = createHash('sha256').update(Buffer.alloc(length)).digest();
    zeroDigests.set(length, d);
  }
  return d;
}

async function openSource(source: SourceIdentity, path: string, checked: Inspected | null, chunkSize: number, raw: boolean): Promise<{ input: ChunkSource; plan: DiskPlan | null }> {
  if (source.kind === 'stream' || checked === null) return { input: streamSource(path, chunkSize), plan: null };
  const fh = await openChecked(checked, 'read', 'source');
  try {
    const plan = raw ? rawPlan(source.size, source.logicalSectorSize) : await planDisk(fileReader(fh, source.size, path), source.logicalSectorSize);
    return { input: diskSource(source.size, chunkSize, plan), plan };
  } finally {
    await fh.close();
  }
}

/** What the index records for a chunk, and what the content digest takes for it. */
function recordOf(r: BackupResult) {
  const entry = r.digest ? Buffer.from(r.digest, 'hex') : r.outcome === 'unused' ? UNUSED_DIGEST : ZERO_DIGEST;
  return {
    entry,
    fingerprint: r.fingerprint && r.digest ? Buffer.from(r.fingerprint, 'hex') : NO_FINGERPRINT,
    contentDigest: r.digest ? entry : zeroChunkDigest(r.length),
  };
}

/**
 * The source's chunks as pipeline work: an unused chunk is a result at once (nothing to
 * read); a disk chunk is read by the worker itself; a stream chunk is read here into a
 * buffer the pipeline lends, which travels to the worker and comes back with the result.
 */
function sourceWork(input: ChunkSource, spotEvery: number): (lender: BufferLender) => Promise<Work<BackupResult> | null> {
  let i = 0;
  let reads = 0;
  // The first chunk with data and every `spotEvery`-th after it: SHA-256'd even when its fingerprint matches the parent's.
  const spot = () => spotEvery > 0 && reads++ % spotEvery === 0;
  return async (lender) => {
    const buf = input.needsBuffer ? lender.take() : null;
    const next = await input.next(i, buf);
    if (next.kind !== 'data') lender.give(buf);
    if (next.kind === 'end') return null;
    const n = i++;
    let task: ChunkTask;
    switch (next.kind) {
      case 'unused':
        return { result: { i: n, length: next.length, outcome: 'unused', digest: null, fingerprint: null, bytesHashed: 0, storedBytes: 0, bytesRead: 0, buf: new ArrayBuffer(0), ms: noWork() } };
      case 'delegate':
        task = { type: 'backup-read', i: n, length: next.length, offset: next.offset, ranges: next.ranges, spot: spot() };
        return { task };
      case 'data': {
        const ab = (buf as Buffer).buffer as ArrayBuffer;
        task = { type: 'backup', i: n, length: next.length, buf: ab, spot: spot() };
        return { task, transfer: [ab] };
      }
    }
  };
}

/** Backs up into a local image store (signed with its key). */
export function backupImage(opts: BackupOptions): Promise<Manifest> {
  return backupTo(localTarget(opts.store, { passphrase: opts.passphrase }), opts);
}

/** Backs up `opts.source` into `target`; returns what the target's commit returns. */
export async function backupTo<R>(target: BackupTarget<R>, opts: EngineOptions): Promise<R> {
  const now = opts.now ?? Date.now;
  const startedAt = now();
  // The same text policy as the API and the database: a label they would refuse never gets into a manifest.
  const labelProblem = opts.label === undefined ? null : textProblem(opts.label, { max: 256 });
  if (labelProblem !== null) throw userError(`label ${labelProblem}`);
  const source = { ...describeDisk(opts.source), ...opts.identity };
  if (source.kind !== 'stream' && source.size === 0) throw userError(`source ${opts.source} is empty (0 bytes): nothing to back up`);
  // A disk (or a file behind a loop device) mounted read-write or holding swap would give a torn image.
  const checked = source.kind === 'stream' ? null : assertNotInUse('backup', opts.source);
  const sourcePath = checked?.resolved ?? opts.source;

  let poolReady: Promise<WorkerPool> | null = null;
  let opened: ChunkSource | null = null;
  let indexFile: PositionalFile | null = null;
  let where = 'the image store';
  try {
    let mark = performance.now();
    const lap = () => {
      const n = performance.now();
      const ms = n - mark;
      mark = n;
      return ms;
    };
    const plan = await target.begin(source, { incremental: opts.incremental !== false, startedAt });
    const profile: BackupProfile = { begin: lap(), workers: 0, plan: 0, planCpu: null, cpu: threadCpuMs() !== null, pipeline: 0, work: noWork(), threads: 0 };
    where = plan.where;
    const { imageId: id, chunkSize, session } = plan;
    const workers = Math.max(1, opts.workers ?? availableParallelism());
    const workerData: ChunkWorkerData = {
      store: plan.storeRef,
      session: session.ref,
      chunkSize,
      fingerprintKey: new Uint8Array(plan.fingerprintKey),
      ...(source.kind !== 'stream' ? { sourcePath } : {}),
      ...(plan.known ? { known: new Uint8Array(plan.known) } : {}),
      ...(plan.parentPrints && plan.parentId ? { parentPrints: new Uint8Array(plan.parentPrints), parentId: plan.parentId } : {}),
    };
    // The worker threads boot (or take their job) while the disk is planned.
    const booting = mark;
    const planCpu = threadCpuMs();
    poolReady = chunkWorkers(Math.min(workers, Math.max(1, opts.workersAtStart ?? workers)), workerData);
    poolReady.then(() => (profile.workers = performance.now() - booting)).catch(() => {}); // awaited below; a planning failure must not leave it unhandled
    const { input, plan: disk } = await openSource(source, opts.source, checked, chunkSize, opts.raw === true);
    profile.plan = performance.now() - booting;
    if (planCpu !== null) profile.planCpu = (threadCpuMs() as number) - planCpu;
    opened = input;
    const pool = await poolReady;
    profile.threads = pool.size;
    indexFile = await target.indexFile();
    opts.onEvent?.({ type: 'start', operation: 'backup', imageId: id, source: opts.source, target: where, bytesTotal: source.size, parent: plan.parentId });
    for (const message of [...(disk?.warnings ?? []), ...plan.warnings]) opts.onEvent?.({ type: 'warning', operation: 'backup', imageId: id, message });

    const tally = new BackupTally(source.size, input.chunkCount);
    lap();
    const index = new IndexWriter(indexFile);
    const meter = new ProgressMeter('backup', id, startedAt);
    await runPipeline<BackupResult>(
      { runner: pool, limit: workers * 2 + 2, bufferSize: input.needsBuffer ? chunkSize : 0, signal: opts.signal, cancelled: `backup of ${opts.source} was cancelled; nothing was committed` },
      sourceWork(input, opts.fingerprintSpotCheck ?? 32),
      async (r, _item, lender) => {
        lender.give(r.buf);
        tally.add(r);
        if ((r.outcome === 'new' || r.outcome === 'existing') && pool.size < workers) pool.grow(workers - pool.size);
        // Start the new chunk's trip to disk now, overlapping the I/O with the rest of the backup.
        if (r.outcome === 'new' && r.digest) session.noteStaged(r.digest);
        await index.put(r.i, recordOf(r));
        const ev = meter.sample(tally.counters, now());
        if (ev) opts.onEvent?.(ev);
      },
    );
    profile.pipeline = lap();
    profile.work = tally.work;
    profile.threads = pool.size;
    if (tally.imageBytes === 0) throw userError(`source ${opts.source} gave no data: nothing to back up`);
    const summary = await index.finish({ chunkSize, diskSize: tally.imageBytes });
    if (summary.chunkCount !== tally.chunkCount) throw bug(`backup indexed ${summary.chunkCount} of ${tally.chunkCount} chunks`);
    indexFile = null;

    const finishedAt = now();
    const result = await target.commit({
      label: opts.label ?? null,
      host: opts.host ?? hostname(),
      startedAt,
      finishedAt,
      source,
      imageBytes: tally.imageBytes,
      chunkCount: summary.chunkCount,
      contentSha256: summary.contentSha256,
      stats: tally.stats(finishedAt - startedAt),
      layout: disk ? describePlan(disk) : null,
      fingerprintsBytes: encodeFingerprints(summary.chunkCount, summary.fingerprints),
      profile,
    });
    const last = meter.sample({ ...tally.counters, bytesTotal: tally.imageBytes }, finishedAt, true);
    if (last) opts.onEvent?.(last);
    return result;
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw describeSystemError(err, `backup of ${opts.source} into ${where}`);
  } finally {
    await indexFile?.close(); // still open only when the backup failed
    await poolReady?.then(
      (pool) => pool.close(),
      () => {},
    );
    await opened?.close().catch(() => {});
    await target.close();
  }
}
