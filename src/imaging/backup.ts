// Backup: read a disk in aligned chunks (only what its filesystems use; the rest is
// zeros, not read) or cut a stream into chunks; in worker threads detect zero chunks,
// hash, skip what the parent image or the store already has, LZ4-compress and stage the
// rest; write the index in disk order; then publish the chunks and commit index +
// certified manifest. Memory is bounded by the buffer pool, whatever the disk size.
import { createHash } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LifeboatError, bug, describeSystemError, userError } from '../errors.js';
import { textProblem } from '../text.js';
import { type ChunkSource, diskSource, streamSource } from './chunk-source.js';
import type { BackupResult, ChunkTask, ChunkWorkerData } from './chunk-worker.js';
import { type DiskPlan, describePlan, planDisk, rawPlan } from './disk-plan.js';
import { describeDisk, fileReader, mountsWithModeOf, swapsOn } from './disk.js';
import { type EventSink, ProgressMeter, emptyCounters } from './progress.js';
import { discardStagedChunks, flushStagedChunk, newJobTag, publishStagedChunks } from './repo/dir-chunk-store.js';
import { FingerprintMap, encodeFingerprints, fingerprintKey, newFingerprintSalt } from './repo/fingerprint.js';
import { FINGERPRINTS_ALG, INDEX_HEADER_SIZE, MANIFEST_FORMAT, MANIFEST_VERSION, NO_FINGERPRINT, STORE_LAYOUT, UNUSED_DIGEST, ZERO_DIGEST } from './repo/formats.js';
import { encodeIndexHeader } from './repo/index-file.js';
import { type StoreLock, acquireLock } from './repo/locks.js';
import { type Manifest, type SourceIdentity, makeImageId, makePassphraseVerifier, signManifest } from './repo/manifest.js';
import type { Store } from './repo/store.js';
import { chunkWorkers } from './chunk-pool.js';
import type { WorkerPool } from './worker-pool.js';

export interface BackupOptions {
  store: Store;
  /** A block device, a disk-image file, or a stream: `-` (standard input) or a pipe. */
  source: string;
  label?: string;
  passphrase?: string;
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Image every byte, ignoring partition tables and filesystems (default false). */
  raw?: boolean;
  /** Use the newest image of the same source to skip unchanged chunks (default true). */
  incremental?: boolean;
  /** Every n-th chunk recognised by its fingerprint is SHA-256'd anyway as a check (default 32; 0: none). */
  fingerprintSpotCheck?: number;
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

/**
 * The fingerprint lineage a backup continues: the parent's salt and its fingerprint → digest
 * pairs. A parent without fingerprints (older images) starts a new lineage; damaged ones
 * too, with a warning: every chunk is then hashed, which is slower but just as sound.
 */
async function parentFingerprints(store: Store, parent: Manifest, digests: Buffer): Promise<{ salt: string; pairs: Buffer | null; warning: string | null }> {
  const fresh = { salt: newFingerprintSalt(), pairs: null };
  if (!parent.fingerprints) return { ...fresh, warning: null };
  try {
    const prints = await store.readFingerprints(parent);
    if (!prints) return { ...fresh, warning: null };
    const pairs = FingerprintMap.pairsOf(prints, digests, (d) => d.equals(ZERO_DIGEST) || d.equals(UNUSED_DIGEST));
    return { salt: parent.fingerprints.salt, pairs, warning: null };
  } catch (err) {
    if (!(err instanceof LifeboatError)) throw err;
    return { ...fresh, warning: `${err.message}; this backup hashes every chunk instead (run \`lifeboat image verify ${parent.id}\`)` };
  }
}

/**
 * A disk whose filesystem is mounted read-write (or that holds active swap) changes while it
 * is read: its image would be torn — metadata from one moment, data from another. Refused;
 * a read-only mount is fine.
 */
function assertQuiescent(device: string): void {
  const writable = mountsWithModeOf(device).filter((m) => m.writable);
  if (writable.length > 0) {
    throw userError(`${device} is mounted read-write at ${writable.map((m) => m.mountPoint).join(', ')}: its image would be torn; unmount it (or remount it read-only) and back up again`);
  }
  const swaps = swapsOn(device);
  if (swaps.length > 0) throw userError(`${device} holds active swap (${swaps.join(', ')}): run \`swapoff ${swaps.join(' ')}\` and back up again`);
}

/** A new file of a staged image, written and fsynced (closed whatever happens). */
async function writeStaged(path: string, data: string | Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o640);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function openSource(source: SourceIdentity, path: string, chunkSize: number, raw: boolean): Promise<{ input: ChunkSource; plan: DiskPlan | null }> {
  if (source.kind === 'stream') return { input: streamSource(path, chunkSize), plan: null };
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw describeSystemError(err, `source ${path}`);
  }
  try {
    const plan = raw ? rawPlan(source.size, source.logicalSectorSize) : await planDisk(fileReader(fh, source.size, path), source.logicalSectorSize);
    return { input: diskSource(source.size, chunkSize, plan), plan };
  } finally {
    await fh.close();
  }
}

export async function backupImage(opts: BackupOptions): Promise<Manifest> {
  const now = opts.now ?? Date.now;
  const { store } = opts;
  const startedAt = now();
  // The same text policy as the API and the database: a label they would refuse never gets into a manifest.
  const labelProblem = opts.label === undefined ? null : textProblem(opts.label, { max: 256 });
  if (labelProblem !== null) throw userError(`label ${labelProblem}`);
  const source = describeDisk(opts.source);
  if (source.kind !== 'stream' && source.size === 0) throw userError(`source ${opts.source} is empty (0 bytes): nothing to back up`);
  if (source.kind === 'block') assertQuiescent(opts.source);
  store.assertWritable();
  const id = makeImageId(new Date(startedAt));
  const chunkSize = store.config.chunkSize;
  const passphrase = opts.passphrase !== undefined ? makePassphraseVerifier(opts.passphrase) : null;

  // The lock first: from here gc stays out, so the parent image's chunks we skip stay in the store.
  const lock: StoreLock = acquireLock(store.root, 'backup', id);
  const job = newJobTag();
  const staged: string[] = [];
  const flushes: Promise<void>[] = [];
  let flushError: unknown = null;
  const staging = store.path(STORE_LAYOUT.tmp, `${id}.staging`);
  let poolReady: Promise<WorkerPool> | null = null;
  let opened: ChunkSource | null = null;
  let committed = false;
  let indexFh: FileHandle | null = null;
  try {
    const parent = opts.incremental === false || source.kind === 'stream' ? null : await store.findParent(source);
    const known = parent ? (await store.readIndex(parent)).digests : undefined;
    const lineage = parent && known ? await parentFingerprints(store, parent, known) : { salt: newFingerprintSalt(), pairs: null, warning: null };
    const workers = Math.max(1, opts.workers ?? availableParallelism());
    const workerData: ChunkWorkerData = {
      storeRoot: store.root,
      chunkSize,
      job,
      fingerprintKey: new Uint8Array(fingerprintKey(store.key, lineage.salt)),
      ...(source.kind !== 'stream' ? { sourcePath: opts.source } : {}),
      ...(known ? { known: new Uint8Array(known) } : {}),
      ...(lineage.pairs && parent ? { parentPrints: new Uint8Array(lineage.pairs), parentId: parent.id, spotCheck: opts.fingerprintSpotCheck ?? 32 } : {}),
    };
    // The worker threads boot (or take their job) while the disk is planned.
    poolReady = chunkWorkers(workers, workerData);
    poolReady.catch(() => {}); // awaited below; a planning failure must not leave it unhandled
    const { input, plan } = await openSource(source, opts.source, chunkSize, opts.raw === true);
    opened = input;
    const pool = await poolReady;
    await mkdir(staging, { recursive: true });
    const indexPath = join(staging, 'index');
    indexFh = await open(indexPath, 'wx', 0o640);
    opts.onEvent?.({ type: 'start', operation: 'backup', imageId: id, source: opts.source, target: store.root, bytesTotal: source.size, parent: parent?.id ?? null });
    // Same data, weaker gate: say so rather than make an unprotected copy of a protected disk in silence.
    const unprotected = parent?.passphrase && !passphrase ? `the previous image of this disk (${parent.id}) is protected by a restore passphrase, but this one is not: anyone who may restore can restore it; give a passphrase (--passphrase-file) to protect it` : null;
    for (const message of [...(plan?.warnings ?? []), ...(lineage.warning ? [lineage.warning] : []), ...(unprotected ? [unprotected] : [])]) opts.onEvent?.({ type: 'warning', operation: 'backup', imageId: id, message });

    const counters = emptyCounters(source.size, input.chunkCount ?? 0);
    const meter = new ProgressMeter('backup', id, startedAt);
    const content = createHash('sha256');
    // Entries follow the header, which is written last (a stream's size is known only at its end).
    let indexPos = INDEX_HEADER_SIZE;
    const pendingEntries: Buffer[] = [];
    const prints: Buffer[] = []; // 16 bytes a chunk: 4 MiB for a 1 TB disk, written at the end
    const flushIndex = async () => {
      if (pendingEntries.length === 0) return;
      const batch = Buffer.concat(pendingEntries);
      pendingEntries.length = 0;
      const at = indexPos;
      indexPos += batch.length; // reserved before the await: flushes may overlap
      await (indexFh as FileHandle).write(batch, 0, batch.length, at);
    };

    // Ordered completion: results arrive in any order, the index is written in disk order.
    const done = new Map<number, BackupResult>();
    let nextToIndex = 0;
    let bytesRead = 0;
    let imageBytes = 0;
    let bytesHashed = 0;
    const tally = { zero: 0, unused: 0, reused: 0, new: 0 };
    const account = (r: BackupResult) => {
      const entry = r.digest ? Buffer.from(r.digest, 'hex') : r.outcome === 'unused' ? UNUSED_DIGEST : ZERO_DIGEST;
      pendingEntries.push(entry);
      prints.push(r.fingerprint && r.digest ? Buffer.from(r.fingerprint, 'hex') : NO_FINGERPRINT);
      bytesHashed += r.bytesHashed;
      content.update(r.digest ? entry : zeroChunkDigest(r.length));
      counters.bytesDone += r.length;
      counters.chunksDone++;
      if (r.outcome === 'zero' || r.outcome === 'unused') {
        counters.bytesZero += r.length;
        tally.zero++;
        if (r.outcome === 'unused') tally.unused++;
      } else if (r.outcome === 'new') {
        counters.bytesNew += r.length;
        counters.storedBytes += r.storedBytes;
        tally.new++;
        staged.push(r.digest as string);
        // Start the chunk's trip to disk now, overlapping the I/O with the rest of the backup.
        flushes.push(
          flushStagedChunk(store.root, job, r.digest as string).then(
            () => undefined,
            (err: unknown) => {
              flushError ??= err;
            },
          ),
        );
      } else {
        counters.bytesReused += r.length;
        tally.reused++;
      }
    };
    const complete = async (r: BackupResult) => {
      done.set(r.i, r);
      while (done.has(nextToIndex)) {
        account(done.get(nextToIndex) as BackupResult);
        done.delete(nextToIndex);
        nextToIndex++;
      }
      if (pendingEntries.length >= 4096) await flushIndex();
      const ev = meter.sample(counters, now());
      if (ev) opts.onEvent?.(ev);
    };

    // At most maxInflight chunks in the pipeline; a stream also lends each one a buffer.
    const maxInflight = workers * 2 + 2;
    const free: Buffer[] = [];
    if (input.needsBuffer) for (let b = 0; b < maxInflight; b++) free.push(Buffer.allocUnsafeSlow(chunkSize));
    let wake: (() => void) | null = null;
    let failure: Error | null = null;
    const inflight = new Set<Promise<void>>();
    let chunkCount = 0;
    for (let i = 0; !failure; i++) {
      if (opts.signal?.aborted) {
        failure = userError(`backup of ${opts.source} was cancelled; nothing was committed`);
        break;
      }
      while (inflight.size >= maxInflight && !failure) await new Promise<void>((r) => (wake = r));
      if (failure) break;
      const buf = input.needsBuffer ? (free.pop() as Buffer) : null;
      const next = await input.next(i, buf);
      if (next.kind === 'end' || next.kind === 'unused' || next.kind === 'delegate') {
        if (buf) free.push(buf);
      }
      if (next.kind === 'end') break;
      chunkCount = i + 1;
      imageBytes += next.length;
      if (next.kind === 'unused') {
        await complete({ i, length: next.length, outcome: 'unused', digest: null, fingerprint: null, bytesHashed: 0, storedBytes: 0, bytesRead: 0, buf: new ArrayBuffer(0) });
        continue;
      }
      const [task, transfer]: [ChunkTask, ArrayBuffer[]] =
        next.kind === 'delegate'
          ? [{ type: 'backup-read', i, length: next.length, offset: next.offset, ranges: next.ranges }, []]
          : [{ type: 'backup', i, length: next.length, buf: (buf as Buffer).buffer as ArrayBuffer }, [(buf as Buffer).buffer as ArrayBuffer]];
      const p: Promise<void> = pool
        .run<BackupResult>(task, transfer)
        .then(async (r) => {
          if (r.buf.byteLength > 0) free.push(Buffer.from(r.buf));
          bytesRead += r.bytesRead;
          await complete(r);
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
    if (imageBytes === 0) throw userError(`source ${opts.source} gave no data: nothing to back up`);
    await flushIndex();
    await indexFh.write(encodeIndexHeader({ chunkSize, diskSize: imageBytes, chunkCount }), 0, INDEX_HEADER_SIZE, 0);
    await indexFh.sync();
    await indexFh.close();
    indexFh = null;
    // Hash the index as written: what the manifest certifies is what is on disk.
    const indexBytes = await readFile(indexPath);
    const printsBytes = encodeFingerprints(chunkCount, Buffer.concat(prints));
    await writeStaged(join(staging, 'fingerprints'), printsBytes);

    // Every new chunk durable and named before the image that needs it can exist.
    await Promise.all(flushes);
    if (flushError) throw flushError;
    publishStagedChunks(store.root, job, staged, { flushed: true });

    const finishedAt = now();
    const unsigned = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      id,
      label: opts.label ?? null,
      host: hostname(),
      createdAt: new Date(startedAt).toISOString(),
      completedAt: new Date(finishedAt).toISOString(),
      source: { ...source, size: imageBytes },
      diskSize: imageBytes,
      chunkSize,
      chunkCount,
      parent: parent?.id ?? null,
      index: { sha256: createHash('sha256').update(indexBytes).digest('hex'), bytes: indexBytes.length },
      content: { alg: 'sha256-of-chunk-sha256' as const, sha256: content.digest('hex') },
      fingerprints: { alg: FINGERPRINTS_ALG, salt: lineage.salt, sha256: createHash('sha256').update(printsBytes).digest('hex'), bytes: printsBytes.length },
      stats: {
        bytesRead,
        bytesZero: counters.bytesZero,
        bytesReused: counters.bytesReused,
        bytesNew: counters.bytesNew,
        bytesHashed,
        chunksZero: tally.zero,
        chunksUnused: tally.unused,
        chunksReused: tally.reused,
        chunksNew: tally.new,
        storedBytesNew: counters.storedBytes,
        compressionRatio: counters.storedBytes > 0 ? counters.bytesNew / counters.storedBytes : 1,
        durationMs: finishedAt - startedAt,
      },
      layout: plan ? describePlan(plan) : null,
      passphrase,
    } satisfies Omit<Manifest, 'certification'>;
    const manifest = signManifest(unsigned, store.key);
    await writeStaged(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await store.commitImage(id, staging);
    committed = true;
    const last = meter.sample({ ...counters, bytesTotal: imageBytes }, finishedAt, true);
    if (last) opts.onEvent?.(last);
    return manifest;
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw describeSystemError(err, `backup of ${opts.source} into store ${store.root}`);
  } finally {
    await indexFh?.close().catch(() => {}); // still open only when the backup failed
    await poolReady?.then(
      (pool) => pool.close(),
      () => {},
    );
    await opened?.close().catch(() => {});
    if (!committed) {
      await Promise.allSettled(flushes); // no flush may still hold a staged file when it is discarded
      await rm(staging, { recursive: true, force: true }).catch(() => {});
      discardStagedChunks(store.root, job);
    }
    lock.release();
  }
}
