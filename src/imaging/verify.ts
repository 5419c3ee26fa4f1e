// Verify: re-read every chunk an image needs, decode it and check its SHA-256 (and the
// fingerprint the image records for it), and check the manifest's certification, the
// index, the fingerprints file and the whole-content digest.
// Returns every problem found (not just the first), each naming the disk bytes it hits.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { LifeboatError } from '../errors.js';
import { zeroChunkDigest } from './backup.js';
import type { ChunkTask, ChunkWorkerData } from './chunk-worker.js';
import { type EventSink, ProgressMeter, emptyCounters } from './progress.js';
import { fingerprintKey } from './repo/fingerprint.js';
import { FINGERPRINT_SIZE, NO_FINGERPRINT } from './repo/formats.js';
import { chunkLength, digestAt } from './repo/index-file.js';
import type { ImageStore } from './repo/image-store.js';
import { runTasks } from './chunk-pipeline.js';
import { chunkWorkers } from './chunk-pool.js';

export interface VerifyProblem {
  /** What is wrong, in a sentence. */
  message: string;
  digest?: string;
  /** Disk byte ranges affected. */
  ranges?: Array<{ offset: number; length: number }>;
}

export interface VerifyReport {
  imageId: string;
  ok: boolean;
  chunksChecked: number;
  problems: VerifyProblem[];
  durationMs: number;
}

export interface VerifyOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  workers?: number;
}

/** Verifies holding the image's chunks against gc and `image rm` throughout. */
export async function verifyImage(store: ImageStore, imageId: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const hold = store.holdImage(imageId, 'verify');
  try {
    return await verifyHeld(store, imageId, opts);
  } finally {
    hold.release();
  }
}

async function verifyHeld(store: ImageStore, imageId: string, opts: VerifyOptions): Promise<VerifyReport> {
  const startedAt = Date.now();
  const problems: VerifyProblem[] = [];
  const report = (chunksChecked: number): VerifyReport => ({ imageId, ok: problems.length === 0, chunksChecked, problems, durationMs: Date.now() - startedAt });
  let manifest;
  let index;
  try {
    manifest = await store.readManifest(imageId);
    index = await store.readIndex(manifest);
  } catch (err) {
    if (err instanceof LifeboatError && err.kind === 'integrity') {
      problems.push({ message: err.message });
      return report(0);
    }
    throw err;
  }
  // Whole-content digest from the index (binds the index to the manifest once more).
  const content = createHash('sha256');
  const users = new Map<string, number[]>();
  for (let i = 0; i < index.chunkCount; i++) {
    const d = digestAt(index, i);
    content.update(d ?? zeroChunkDigest(chunkLength(index, i)));
    if (!d) continue;
    const hex = d.toString('hex');
    const list = users.get(hex);
    if (list) list.push(i);
    else users.set(hex, [i]);
  }
  if (content.digest('hex') !== manifest.content.sha256) problems.push({ message: `the index of image ${imageId} does not give the content digest its manifest records` });

  // Fingerprints: certified by the manifest, one per content (same digest, same fingerprint),
  // none where there is no data; each is checked against its chunk's content below.
  const printOf = new Map<string, string>();
  let fingerprintKeyBytes: Buffer | null = null;
  try {
    const prints = await store.readFingerprints(manifest);
    if (prints && manifest.fingerprints) {
      fingerprintKeyBytes = fingerprintKey(store.key, manifest.fingerprints.salt);
      const inconsistent: number[] = [];
      for (let i = 0; i < index.chunkCount; i++) {
        const f = prints.subarray(i * FINGERPRINT_SIZE, (i + 1) * FINGERPRINT_SIZE);
        const d = digestAt(index, i)?.toString('hex');
        if (!d) {
          if (!f.equals(NO_FINGERPRINT)) inconsistent.push(i);
          continue;
        }
        const hex = f.toString('hex');
        const seen = printOf.get(d);
        if (seen === undefined) printOf.set(d, hex);
        else if (seen !== hex) inconsistent.push(i);
      }
      if (inconsistent.length > 0) {
        problems.push({
          message: `the fingerprints of image ${imageId} disagree with its index at ${inconsistent.length} chunk(s): take the next backup of this disk with --full`,
          ranges: inconsistent.slice(0, 16).map((i) => ({ offset: i * index.chunkSize, length: chunkLength(index, i) })),
        });
      }
    }
  } catch (err) {
    if (!(err instanceof LifeboatError && err.kind === 'integrity')) throw err;
    problems.push({ message: `${err.message}: restores are not affected; take the next backup of this disk with --full` });
  }

  const workers = Math.max(1, opts.workers ?? availableParallelism());
  const workerData: ChunkWorkerData = { store: store.chunks.ref, chunkSize: index.chunkSize, ...(fingerprintKeyBytes ? { fingerprintKey: new Uint8Array(fingerprintKeyBytes) } : {}) };
  const pool = await chunkWorkers(workers, workerData);
  const counters = emptyCounters(manifest.diskSize, users.size);
  const meter = new ProgressMeter('verify', imageId, startedAt);
  opts.onEvent?.({ type: 'start', operation: 'verify', imageId, source: store.root, target: '', bytesTotal: manifest.diskSize });
  let checked = 0;
  try {
    await runTasks<[string, number[]], { i: number; ok: boolean; error?: string }>(
      { runner: pool, limit: workers * 2, signal: opts.signal, cancelled: `verify of image ${imageId} was cancelled` },
      users.entries(),
      ([digest, list]): ChunkTask => {
        const fingerprint = fingerprintKeyBytes ? printOf.get(digest) : undefined;
        return { type: 'check', i: list[0] as number, length: chunkLength(index, list[0] as number), digest, ...(fingerprint !== undefined ? { fingerprint } : {}) };
      },
      (r, [digest, list]) => {
        checked++;
        counters.chunksDone++;
        counters.bytesDone += list.length * chunkLength(index, list[0] as number);
        if (!r.ok) {
          problems.push({
            message: `${r.error ?? `chunk ${digest} is bad`}; used at ${list.length} place(s) in the disk`,
            digest,
            ranges: list.map((i) => ({ offset: i * index.chunkSize, length: chunkLength(index, i) })),
          });
        }
        const ev = meter.sample(counters, Date.now());
        if (ev) opts.onEvent?.(ev);
      },
    );
  } finally {
    await pool.close();
  }
  counters.bytesDone = manifest.diskSize;
  const last = meter.sample(counters, Date.now(), true);
  if (last) opts.onEvent?.(last);
  return report(checked);
}
