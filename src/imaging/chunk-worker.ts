// The worker thread of the image engine: everything CPU-heavy about one chunk —
// zero check, SHA-256, LZ4 encode/decode, staging it in the store or writing it onto the
// target. It reaches the store only through the ChunkStore interface (a reader and a
// stager opened from the refs it is given), never by path. One task at a time; the main
// thread keeps order and bounded memory.
import { createHash } from 'node:crypto';
import { closeSync, constants, openSync, readSync, writeSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { LifeboatError, bug, describeSystemError, integrityError, userError } from '../errors.js';
import { readSpans, zeroOutside } from './extents.js';
import type { Extent } from './layout/types.js';
import { DigestSet } from './digest-set.js';
import { type WorkTimes, workClock } from './backup-profile.js';
import { FingerprintMap, Fingerprinter } from './repo/fingerprint.js';
import { decodeFrame, encodeFrameInto, frameBound } from './lz4-frame.js';
import type { ChunkReader, ChunkSessionRef, ChunkStoreRef, FrameStager } from './repo/chunk-store.js';
import { openChunkReader, openFrameStager } from './repo/chunk-store-ref.js';

export interface ChunkWorkerData {
  /** The store chunks are read from. */
  store: ChunkStoreRef;
  /** A backup's session: new chunks are staged into it. */
  session?: ChunkSessionRef;
  chunkSize: number;
  /** Digests (32 bytes each, concatenated) the parent image already has: skipped without a look. */
  known?: Uint8Array;
  /** Disk or file a backup reads (backup-read tasks). */
  sourcePath?: string;
  /** Fingerprint key (64 bytes, repo/fingerprint.ts): backups fingerprint every chunk they read, verify checks them. */
  fingerprintKey?: Uint8Array;
  /** Fingerprint → digest pairs of the parent image (FingerprintMap): a match is taken without SHA-256. */
  parentPrints?: Uint8Array;
  /** The parent image, for messages. */
  parentId?: string;
  /** Restore target. */
  targetPath?: string;
}

export type ChunkTask =
  /** First task of every worker: what the job is (store, chunk size, source or target). */
  | { type: 'setup'; data: ChunkWorkerData }
  /**
   * A chunk the main thread read (streams). `spot`: when its fingerprint matches the parent's,
   * it is SHA-256'd all the same and must give the parent's digest (a check the engine asks
   * of one chunk with data in every few).
   */
  | { type: 'backup'; i: number; length: number; buf: ArrayBuffer; spot?: boolean }
  /** A chunk the worker reads itself from `sourcePath`: the used `ranges` (relative to `offset`), the rest zeros. */
  | { type: 'backup-read'; i: number; length: number; offset: number; ranges: Extent[]; spot?: boolean }
  /** `sparse`: the target is a fresh file of holes, so runs of zeros need not be written. */
  | { type: 'restore'; i: number; length: number; writeLength: number; offset: number; digest: string | null; sparse: boolean }
  /** `fingerprint`: what the image records for this content, checked too (needs the key in setup). */
  | { type: 'check'; i: number; length: number; digest: string; fingerprint?: string }
  /** A frame from elsewhere (an agent's upload): checked (decode + SHA-256) and staged in the session; `stored` when new. */
  | { type: 'stage'; digest: string; rawSize: number; frame: ArrayBuffer }
  | { type: 'readback'; i: number; length: number; offset: number; digest: string | null };

export type BackupOutcome = 'unused' | 'zero' | 'known' | 'existing' | 'new';
export interface BackupResult {
  i: number;
  length: number;
  /** Bytes read from the source for this chunk (used parts only). */
  bytesRead: number;
  outcome: BackupOutcome;
  digest: string | null;
  /** Hex, or null for zero chunks (and when no key was given). */
  fingerprint: string | null;
  /** Bytes SHA-256'd for this chunk: 0 when the fingerprint matched the parent's. */
  bytesHashed: number;
  storedBytes: number;
  buf: ArrayBuffer;
  /** Where this chunk's time in the worker went (backup-profile.ts). */
  ms: WorkTimes;
}

// What this thread works for: given by a `setup` task (a pool may boot before its job is known).
let data: ChunkWorkerData = { store: { kind: 'directory', root: '' }, chunkSize: 0 };
let reader: ChunkReader | null = null;
let stager: FrameStager | null = null;
let zero = Buffer.alloc(0);
let frameBuf = Buffer.alloc(0);
let rawBuf = Buffer.alloc(0);
let known = new DigestSet(new Uint8Array(0));
let fingerprinter: Fingerprinter | null = null;
let parentPrints = new FingerprintMap(new Uint8Array(0));
/** What a backup's steps are timed with (backup-profile.ts). */
const clock = workClock();
/** Backup reads land here (allocated on first use). */
let readBuf: Buffer | null = null;

function setup(next: ChunkWorkerData): void {
  if (!Number.isSafeInteger(next.chunkSize) || next.chunkSize <= 0) throw bug(`worker setup with chunk size ${next.chunkSize}`);
  if (next.chunkSize !== data.chunkSize) {
    zero = Buffer.alloc(next.chunkSize);
    frameBuf = Buffer.allocUnsafeSlow(frameBound(next.chunkSize));
    rawBuf = Buffer.allocUnsafeSlow(next.chunkSize);
    readBuf = null;
  }
  known = new DigestSet(next.known ?? new Uint8Array(0));
  fingerprinter = next.fingerprintKey ? new Fingerprinter(next.fingerprintKey) : null;
  parentPrints = new FingerprintMap(next.parentPrints ?? new Uint8Array(0));
  reader = openChunkReader(next.store);
  stager = next.session ? openFrameStager(next.session) : null;
  data = next;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Reads the used parts of chunk `i` of the source disk into this worker's buffer; the rest is zeros. */
function readChunk(task: Extract<ChunkTask, { type: 'backup-read' }>): Buffer {
  if (!data.sourcePath) throw bug('backup-read task without a source');
  readBuf ??= Buffer.allocUnsafeSlow(data.chunkSize);
  const buf = readBuf.subarray(0, task.length);
  const subject = `source ${data.sourcePath}`;
  let fd: number;
  try {
    fd = openSync(data.sourcePath, constants.O_RDONLY | constants.O_NOFOLLOW); // the path main checked, resolved
  } catch (err) {
    throw describeSystemError(err, subject);
  }
  try {
    for (const span of readSpans(task.ranges)) {
      let done = 0;
      while (done < span.length) {
        let n: number;
        try {
          n = readSync(fd, buf, span.start + done, span.length - done, task.offset + span.start + done);
        } catch (err) {
          throw describeSystemError(err, `reading ${subject} at byte ${task.offset + span.start + done}`);
        }
        if (n === 0) throw userError(`${subject} ended at byte ${task.offset + span.start + done} although it was larger when the backup started: do not change the source while it is imaged`);
        done += n;
      }
    }
  } finally {
    closeSync(fd);
  }
  zeroOutside(buf, task.length, task.ranges);
  return buf;
}

async function backup(task: Extract<ChunkTask, { type: 'backup' | 'backup-read' }>): Promise<BackupResult> {
  if (!stager) throw bug('backup task without a chunk session');
  const ms: WorkTimes = { read: 0, print: 0, hash: 0, pack: 0, store: 0, wall: 0 };
  const began = performance.now();
  let t = clock();
  const lap = (k: keyof WorkTimes) => {
    const n = clock();
    ms[k] += n - t;
    t = n;
    ms.wall = performance.now() - began;
  };
  const raw = task.type === 'backup' ? Buffer.from(task.buf, 0, task.length) : readChunk(task);
  const base = {
    i: task.i,
    length: task.length,
    bytesRead: task.type === 'backup' ? task.length : readSpans(task.ranges).reduce((s, r) => s + r.length, 0),
    buf: task.type === 'backup' ? task.buf : new ArrayBuffer(0),
    ms,
  };
  const isZero = raw.equals(task.length === zero.length ? zero : zero.subarray(0, task.length));
  lap('read');
  if (isZero) return { ...base, outcome: 'zero', digest: null, fingerprint: null, bytesHashed: 0, storedBytes: 0 };
  // Unchanged since the parent image: its fingerprint says so, and the parent's certified index has the digest.
  const print = fingerprinter?.of(raw) ?? null;
  const fingerprint = print?.toString('hex') ?? null;
  const matched = print ? parentPrints.get(print) : null;
  lap('print');
  if (matched) {
    // A spot check guards against fingerprints that were recorded wrong (a bug), never silently.
    const spot = task.spot === true;
    if (spot) {
      const actual = createHash('sha256').update(raw).digest();
      lap('hash');
      if (!actual.equals(matched)) {
        throw integrityError(
          `chunk ${task.i} matches a fingerprint of parent image ${data.parentId ?? '?'} recorded for content ${matched.toString('hex')}, but hashes to ${actual.toString('hex')}: ` +
            `that image's fingerprints are wrong; nothing was committed — run \`lifeboat image verify ${data.parentId ?? '<parent>'}\` and back up with --full`,
        );
      }
    }
    return { ...base, outcome: 'known', digest: matched.toString('hex'), fingerprint, bytesHashed: spot ? task.length : 0, storedBytes: 0 };
  }
  const digestBytes = createHash('sha256').update(raw).digest();
  const digest = digestBytes.toString('hex');
  const hashed = { fingerprint, bytesHashed: task.length };
  lap('hash');
  if (known.has(digestBytes)) return { ...base, ...hashed, outcome: 'known', digest, storedBytes: 0 };
  const existing = await stager.has(digest);
  lap('store');
  if (existing) return { ...base, ...hashed, outcome: 'existing', digest, storedBytes: 0 };
  const n = encodeFrameInto(raw, frameBuf);
  lap('pack');
  // The store's ingest check: the frame must decode to exactly the bytes that were hashed.
  const isNew = await stager.stage(digest, frameBuf.subarray(0, n), task.length, { hashed: raw });
  lap('store');
  return { ...base, ...hashed, outcome: isNew ? 'new' : 'existing', digest, storedBytes: isNew ? n : 0 };
}

/** Milliseconds a restore task spent on each step (the agent prints where a job's time went). */
export interface ChunkTimes {
  fetch: number;
  decode: number;
  hash: number;
  write: number;
}

/** Reads, decodes and checks chunk `digest`; returns its bytes (a view of rawBuf). Adds its steps' times to `ms`. */
async function loadChunk(digest: string, length: number, i: number, ms?: ChunkTimes): Promise<Buffer> {
  if (!reader) throw bug('chunk read before the worker\'s setup');
  let frame: Buffer;
  const t0 = performance.now();
  try {
    frame = await reader.getFrame(digest, frameBuf);
  } catch (err) {
    if (err instanceof LifeboatError && err.kind === 'not-found') throw integrityError(`chunk ${i} (${digest}) is missing from the store`);
    throw describeSystemError(err, `reading chunk ${i} (${digest})`);
  }
  const t1 = performance.now();
  const raw = decodeFrame(frame, length, `chunk ${i} (${digest})`, rawBuf);
  const t2 = performance.now();
  const actual = sha256(raw);
  if (ms) {
    const t3 = performance.now();
    ms.fetch += t1 - t0;
    ms.decode += t2 - t1;
    ms.hash += t3 - t2;
  }
  if (actual !== digest) throw integrityError(`chunk ${i} (${digest}) is damaged: its content hashes to ${actual}`);
  return raw;
}

/** Runs `fn` with the restore target open (a short-lived descriptor per task; main fsyncs at the end). */
function withTarget<T>(flags: 'r' | 'r+', fn: (fd: number) => T): T {
  if (!data.targetPath) throw bug('restore task without a target');
  let fd: number;
  try {
    fd = openSync(data.targetPath, (flags === 'r' ? constants.O_RDONLY : constants.O_RDWR) | constants.O_NOFOLLOW); // the path main checked, resolved
  } catch (err) {
    throw describeSystemError(err, `restore target ${data.targetPath}`);
  }
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

const RUN = 64 << 10;

/** Runs of `buf` that hold a non-zero byte, in 64 KiB steps. */
function nonZeroRuns(buf: Buffer): Array<{ start: number; end: number }> {
  const runs: Array<{ start: number; end: number }> = [];
  for (let pos = 0; pos < buf.length; pos += RUN) {
    const end = Math.min(buf.length, pos + RUN);
    if (buf.subarray(pos, end).equals(zero.subarray(0, end - pos))) continue;
    const last = runs[runs.length - 1];
    if (last && last.end === pos) last.end = end;
    else runs.push({ start: pos, end });
  }
  return runs;
}

function writeAt(fd: number, buf: Buffer, offset: number): void {
  let done = 0;
  while (done < buf.length) {
    try {
      done += writeSync(fd, buf, done, buf.length - done, offset + done);
    } catch (err) {
      throw describeSystemError(err, `writing ${data.targetPath} at byte ${offset + done}`);
    }
  }
}

function readback(task: Extract<ChunkTask, { type: 'readback' }>): { i: number; ok: boolean; actual: string } {
  const buf = rawBuf.subarray(0, task.length);
  withTarget('r', (fd) => {
    let done = 0;
    while (done < task.length) {
      const n = readSync(fd, buf, done, task.length - done, task.offset + done);
      if (n === 0) throw integrityError(`target ${data.targetPath} ends at byte ${task.offset + done} while reading it back`);
      done += n;
    }
  });
  if (task.digest === null) return { i: task.i, ok: buf.equals(zero.subarray(0, task.length)), actual: 'non-zero bytes' };
  const actual = sha256(buf);
  return { i: task.i, ok: actual === task.digest, actual };
}

async function handle(task: ChunkTask): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  if (task.type === 'setup') {
    setup(task.data);
    return { result: null, transfer: [] };
  }
  if (data.chunkSize === 0) throw bug(`chunk task ${task.type} before the worker's setup`);
  switch (task.type) {
    case 'backup':
    case 'backup-read': {
      const r = await backup(task);
      return { result: r, transfer: [r.buf] };
    }
    case 'restore': {
      const ms: ChunkTimes = { fetch: 0, decode: 0, hash: 0, write: 0 };
      const raw = task.digest === null ? zero.subarray(0, task.length) : await loadChunk(task.digest, task.length, task.i, ms);
      const out = raw.subarray(0, task.writeLength);
      const t0 = performance.now();
      withTarget('r+', (fd) => {
        if (!task.sparse) writeAt(fd, out, task.offset);
        else for (const run of nonZeroRuns(out)) writeAt(fd, out.subarray(run.start, run.end), task.offset + run.start);
      });
      ms.write = performance.now() - t0;
      return { result: { i: task.i, ms }, transfer: [] };
    }
    case 'check': {
      try {
        const raw = await loadChunk(task.digest, task.length, task.i);
        if (task.fingerprint !== undefined) {
          if (!fingerprinter) throw bug('fingerprint check without a fingerprint key');
          const actual = fingerprinter.of(raw).toString('hex');
          if (actual !== task.fingerprint) {
            return { result: { i: task.i, ok: false, error: `the fingerprint recorded for chunk ${task.i} (${task.digest}) does not match its content (${actual}): take the next backup of this disk with --full` }, transfer: [] };
          }
        }
        return { result: { i: task.i, ok: true }, transfer: [] };
      } catch (err) {
        if (err instanceof LifeboatError && err.kind === 'integrity') return { result: { i: task.i, ok: false, error: err.message }, transfer: [] };
        throw err;
      }
    }
    case 'readback':
      return { result: readback(task), transfer: [] };
    case 'stage': {
      if (!stager) throw bug('stage task without a session');
      const stored = await stager.stage(task.digest, Buffer.from(task.frame), task.rawSize);
      return { result: { stored }, transfer: [] };
    }
  }
}

parentPort?.on('message', (task: ChunkTask) => {
  handle(task).then(
    ({ result, transfer }) => parentPort?.postMessage({ ok: true, result }, transfer),
    (err: unknown) => {
      const e = err instanceof LifeboatError ? err : bug((err as Error)?.stack ?? String(err));
      parentPort?.postMessage({ ok: false, error: { kind: e.kind, message: e.message } });
    },
  );
});
