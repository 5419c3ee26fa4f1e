// Backup: read a disk in large aligned chunks, and in worker threads detect zero
// chunks, hash, skip what the parent image or the store already has, LZ4-compress and
// store the rest; write the index in disk order; commit index + certified manifest.
// Memory is bounded by the buffer pool (2 per worker + 2), whatever the disk size.
import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError, bug, describeSystemError, userError } from '../errors.js';
import { type BackupResult, type ChunkTask, type ChunkWorkerData } from './chunk-worker.js';
import { describeDisk } from './disk.js';
import { type EventSink, ProgressMeter, emptyCounters } from './progress.js';
import { INDEX_ENTRY_SIZE, MANIFEST_FORMAT, MANIFEST_VERSION, STORE_LAYOUT } from './repo/formats.js';
import { discardStagedChunks, newJobTag, publishStagedChunks } from './repo/dir-chunk-store.js';
import { chunkCountFor, encodeIndexHeader } from './repo/index-file.js';
import { acquireLock } from './repo/locks.js';
import { type Manifest, makeImageId, makePassphraseVerifier, signManifest } from './repo/manifest.js';
import type { Store } from './repo/store.js';
import { WorkerPool, siblingModule } from './worker-pool.js';

export interface BackupOptions {
  store: Store;
  /** A block device or a disk-image file. */
  source: string;
  label?: string;
  passphrase?: string;
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Use the newest image of the same source to skip unchanged chunks (default true). */
  incremental?: boolean;
  now?: () => number;
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

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number, subject: string): Promise<void> {
  let done = 0;
  while (done < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, done, length - done, position + done));
    } catch (err) {
      throw describeSystemError(err, `reading ${subject} at byte ${position + done}`);
    }
    if (n === 0) throw userError(`${subject} ended at byte ${position + done} although it was larger when the backup started: do not change the source while it is imaged`);
    done += n;
  }
}

export async function backupImage(opts: BackupOptions): Promise<Manifest> {
  const now = opts.now ?? Date.now;
  const { store } = opts;
  const startedAt = now();
  const source = describeDisk(opts.source);
  if (source.size === 0) throw userError(`source ${opts.source} is empty (0 bytes): nothing to back up`);
  store.assertWritable();
  const id = makeImageId(new Date(startedAt));
  const chunkSize = store.config.chunkSize;
  const chunkCount = chunkCountFor(source.size, chunkSize);
  const passphrase = opts.passphrase !== undefined ? makePassphraseVerifier(opts.passphrase) : null;

  let fh: FileHandle;
  try {
    fh = await open(opts.source, 'r');
  } catch (err) {
    throw describeSystemError(err, `source ${opts.source}`);
  }
  const lock = acquireLock(store.root, 'backup', id);
  const job = newJobTag();
  const staged: string[] = [];
  const staging = store.path(STORE_LAYOUT.tmp, `${id}.staging`);
  let pool: WorkerPool | null = null;
  let committed = false;
  try {
    const parent = opts.incremental === false ? null : await store.findParent(source);
    const known = parent ? (await store.readIndex(parent)).digests : undefined;
    await mkdir(staging, { recursive: true });
    const indexFh = await open(join(staging, 'index'), 'wx', 0o640);
    const workers = Math.max(1, opts.workers ?? availableParallelism());
    const workerData: ChunkWorkerData = { storeRoot: store.root, chunkSize, job, ...(known ? { known: new Uint8Array(known) } : {}) };
    pool = new WorkerPool(siblingModule(import.meta.url, 'chunk-worker'), workers, workerData);
    opts.onEvent?.({ type: 'start', operation: 'backup', imageId: id, source: opts.source, target: store.root, bytesTotal: source.size, parent: parent?.id ?? null });

    const counters = emptyCounters(source.size, chunkCount);
    const meter = new ProgressMeter('backup', id, startedAt);
    const content = createHash('sha256');
    const indexHash = createHash('sha256');
    const header = encodeIndexHeader({ chunkSize, diskSize: source.size, chunkCount });
    indexHash.update(header);
    await indexFh.write(header, 0, header.length, 0);
    let indexPos = header.length;
    const pendingEntries: Buffer[] = [];
    const flushIndex = async () => {
      if (pendingEntries.length === 0) return;
      const batch = Buffer.concat(pendingEntries);
      pendingEntries.length = 0;
      await indexFh.write(batch, 0, batch.length, indexPos);
      indexPos += batch.length;
    };

    // Ordered completion: results arrive in any order, the index is written in disk order.
    const done = new Map<number, BackupResult>();
    let nextToIndex = 0;
    let bytesRead = 0;
    const free: Buffer[] = [];
    for (let b = 0; b < workers * 2 + 2; b++) free.push(Buffer.allocUnsafeSlow(chunkSize));
    let wake: (() => void) | null = null;
    let failure: Error | null = null;
    const inflight = new Set<Promise<void>>();
    const tally = { zero: 0, reused: 0, new: 0 };
    const entryOf = (r: BackupResult) => (r.digest ? Buffer.from(r.digest, 'hex') : Buffer.alloc(INDEX_ENTRY_SIZE));

    const account = (r: BackupResult) => {
      const length = Math.min(chunkSize, source.size - r.i * chunkSize);
      const entry = entryOf(r);
      pendingEntries.push(entry);
      indexHash.update(entry);
      content.update(r.digest ? entry : zeroChunkDigest(length));
      counters.bytesDone += length;
      counters.chunksDone++;
      if (r.outcome === 'zero') {
        counters.bytesZero += length;
        tally.zero++;
      } else if (r.outcome === 'new') {
        counters.bytesNew += length;
        counters.storedBytes += r.storedBytes;
        tally.new++;
        staged.push(r.digest as string);
      } else {
        counters.bytesReused += length;
        tally.reused++;
      }
    };

    for (let i = 0; i < chunkCount && !failure; i++) {
      while (free.length === 0 && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) break;
      if (opts.signal?.aborted) {
        failure = userError(`backup of ${opts.source} was cancelled; nothing was committed`);
        break;
      }
      const buf = free.pop() as Buffer;
      const length = Math.min(chunkSize, source.size - i * chunkSize);
      await readFully(fh, buf, length, i * chunkSize, `source ${opts.source}`);
      bytesRead += length;
      const task: ChunkTask = { type: 'backup', i, length, buf: buf.buffer as ArrayBuffer };
      const p: Promise<void> = pool
        .run<BackupResult>(task, [buf.buffer as ArrayBuffer])
        .then(async (r) => {
          free.push(Buffer.from(r.buf));
          done.set(r.i, r);
          while (done.has(nextToIndex)) {
            account(done.get(nextToIndex) as BackupResult);
            done.delete(nextToIndex);
            nextToIndex++;
          }
          if (pendingEntries.length >= 4096) await flushIndex();
          const ev = meter.sample(counters, now());
          if (ev) opts.onEvent?.(ev);
        })
        .catch((err: Error) => {
          failure ??= err;
        })
        .finally(() => {
          inflight.delete(p);
          const w = wake;
          wake = null;
          w?.();
        });
      inflight.add(p);
    }
    while (inflight.size > 0) await Promise.race(inflight);
    if (failure) throw failure;
    if (nextToIndex !== chunkCount) throw bug(`backup indexed ${nextToIndex} of ${chunkCount} chunks`);
    await flushIndex();
    await indexFh.sync();
    await indexFh.close();

    // Every new chunk durable and named before the image that needs it can exist.
    publishStagedChunks(store.root, job, staged);

    const finishedAt = now();
    const stats = {
      bytesRead,
      bytesZero: counters.bytesZero,
      bytesReused: counters.bytesReused,
      bytesNew: counters.bytesNew,
      chunksZero: tally.zero,
      chunksReused: tally.reused,
      chunksNew: tally.new,
      storedBytesNew: counters.storedBytes,
      compressionRatio: counters.storedBytes > 0 ? counters.bytesNew / counters.storedBytes : 1,
      durationMs: finishedAt - startedAt,
    };
    const unsigned = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      id,
      label: opts.label ?? null,
      host: hostname(),
      createdAt: new Date(startedAt).toISOString(),
      completedAt: new Date(finishedAt).toISOString(),
      source,
      diskSize: source.size,
      chunkSize,
      chunkCount,
      parent: parent?.id ?? null,
      index: { sha256: indexHash.digest('hex'), bytes: indexPos },
      content: { alg: 'sha256-of-chunk-sha256' as const, sha256: content.digest('hex') },
      stats,
      layout: null,
      passphrase,
    } satisfies Omit<Manifest, 'certification'>;
    const manifest = signManifest(unsigned, store.key);
    const mfh = await open(join(staging, 'manifest.json'), 'wx', 0o640);
    await mfh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await mfh.sync();
    await mfh.close();
    await store.commitImage(id, staging);
    committed = true;
    const last = meter.sample(counters, finishedAt, true);
    if (last) opts.onEvent?.(last);
    return manifest;
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw describeSystemError(err, `backup of ${opts.source} into store ${store.root}`);
  } finally {
    await pool?.close();
    await fh.close().catch(() => {});
    if (!committed) {
      await rm(staging, { recursive: true, force: true }).catch(() => {});
      discardStagedChunks(store.root, job);
    }
    lock.release();
  }
}

