// `lifeboat-agent selftest` (in the boot OS: the boot parameter lifeboat.selftest=1): proves
// the image engine runs where the agent runs, with the same parts a backup uses. It boots the
// chunk worker pool, sends a few MiB through it as backup tasks (SHA-256, LZ4 frame,
// staged in a chunk session of a new store under the temp dir: the store decodes every
// frame and compares it with the bytes hashed), publishes, then has the workers read every
// frame back, decode it and check its SHA-256 against the digest the main thread computed.
// One damaged frame must be refused. Everything it creates is removed.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LifeboatError, integrityError } from '../errors.js';
import { chunkWorkers } from '../imaging/chunk-pool.js';
import type { BackupResult } from '../imaging/chunk-worker.js';
import { LZ4_ADDON, decodeFrame, lz4Codec } from '../imaging/lz4-frame.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import type { WorkerPool } from '../imaging/worker-pool.js';

export interface SelftestOptions {
  /** chunks of `chunkSize` bytes to send through (default 8) */
  chunks?: number;
  chunkSize?: number;
  /** worker threads (default 2: more than one, whatever the core count) */
  workers?: number;
}

export interface SelftestReport {
  bytes: number;
  chunks: number;
  workers: number;
  storedBytes: number;
  lz4Version: string;
  seconds: number;
}

/** Chunk `i`: even ones compressible text, odd ones random bytes (stored as is), each unique. */
function chunkContent(i: number, size: number): Buffer {
  if (i % 2 === 1) return randomBytes(size);
  const line = Buffer.from(`lifeboat selftest chunk ${i}: the engine compresses, frames, decodes and checks this line. `);
  const buf = Buffer.alloc(size);
  for (let pos = 0; pos < size; pos += line.length) line.copy(buf, pos);
  return buf;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function runSelftest(opts: SelftestOptions = {}): Promise<SelftestReport> {
  const started = Date.now();
  const chunks = opts.chunks ?? 8;
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const workers = opts.workers ?? 2;
  const codec = lz4Codec(); // here first: a missing codec is said plainly before threads start
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-selftest-'));
  let pool: WorkerPool | null = null;
  try {
    const store = (await ImageStore.open(join(dir, 'store'), { create: true, chunkSize })).chunks;
    const session = await store.beginSession('selftest');
    const contents = Array.from({ length: chunks }, (_, i) => chunkContent(i, chunkSize));
    const digests = contents.map(sha256);
    let results: BackupResult[];
    try {
      pool = await chunkWorkers(workers, { store: store.ref, session: session.ref, chunkSize });
      results = await Promise.all(
        contents.map((raw, i) => {
          const buf = new ArrayBuffer(chunkSize);
          raw.copy(Buffer.from(buf));
          return (pool as WorkerPool).run<BackupResult>({ type: 'backup', i, length: chunkSize, buf }, [buf]);
        }),
      );
      await session.publish();
    } finally {
      await session.close();
    }
    let storedBytes = 0;
    for (const r of results) {
      if (r.digest !== digests[r.i]) throw integrityError(`selftest chunk ${r.i}: the worker's SHA-256 ${r.digest} is not ${digests[r.i]}`);
      if (r.outcome !== 'new') throw integrityError(`selftest chunk ${r.i}: outcome ${r.outcome}, expected a new chunk`);
      if (r.i % 2 === 0 && r.storedBytes * 4 > chunkSize) throw integrityError(`selftest chunk ${r.i}: text stored in ${r.storedBytes} bytes: LZ4 did not compress it`);
      storedBytes += r.storedBytes;
    }
    const checks = await Promise.all(digests.map((digest, i) => (pool as WorkerPool).run<{ ok: boolean; error?: string }>({ type: 'check', i, length: chunkSize, digest })));
    const bad = checks.find((c) => !c.ok);
    if (bad) throw integrityError(`selftest: a worker's read-back check failed: ${bad.error}`);
    // This thread decodes too, and refuses a frame with one byte changed.
    const frame = await store.getFrame(digests[0] as string);
    if (sha256(decodeFrame(frame, chunkSize, 'selftest chunk 0')) !== digests[0]) throw integrityError('selftest chunk 0 decodes to other bytes in the main thread');
    const damaged = Buffer.from(frame);
    const mid = Math.floor(damaged.length / 2);
    damaged.writeUInt8(damaged.readUInt8(mid) ^ 0x55, mid);
    let refused = false;
    try {
      refused = sha256(decodeFrame(damaged, chunkSize, 'damaged selftest chunk')) !== digests[0];
    } catch (err) {
      refused = err instanceof LifeboatError && err.kind === 'integrity';
    }
    if (!refused) throw integrityError('selftest: a damaged frame went unnoticed');
    return { bytes: chunks * chunkSize, chunks, workers, storedBytes, lz4Version: codec.version, seconds: (Date.now() - started) / 1000 };
  } finally {
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The line the console shows (the boot OS test reads it). */
export function selftestLine(r: SelftestReport): string {
  const mib = (r.bytes / (1 << 20)).toFixed(1);
  return `selftest OK: ${mib} MiB in ${r.chunks} chunks through ${r.workers} worker threads, LZ4 (liblz4 ${r.lz4Version}) ${(r.bytes / r.storedBytes).toFixed(2)}x, every frame decoded and SHA-256 checked, a damaged frame refused, in ${r.seconds.toFixed(2)} s (Node ${process.version}, codec ${LZ4_ADDON})`;
}

/** Runs the selftest and prints its line; returns the exit code (0 passed, 1 failed). */
export async function selftestMain(log: (line: string) => void): Promise<number> {
  try {
    log(selftestLine(await runSelftest()));
    return 0;
  } catch (err) {
    log(`selftest FAILED: ${(err as Error).message}`);
    log('the image engine cannot run in this boot OS: rebuild it with `lifeboat bootos build` after `make build`, and report this line');
    return 1;
  }
}
