// The chunk store interface: content-addressed LZ4 frames named by the SHA-256 of
// their uncompressed bytes. It is the only way the engine reaches chunks: backups stage
// frames in a session and publish them, restores and verifies read frames, gc lists and
// removes. Every implementation checks a frame before keeping it (decode + SHA-256 must
// give the name it is offered under), so one bad client can never plant a chunk under a
// false digest and poison other images through dedup.
// chunk-store.suite.ts runs the same tests against every implementation (memory twin,
// directory; an HTTP client for the agent and an S3 store later only have to pass it).
import { createHash } from 'node:crypto';
import { integrityError, usageError } from '../../errors.js';
import { decodeFrame } from '../lz4-frame.js';
import { DIGEST_HEX } from './formats.js';
import type { AgentStoreRef } from '../../agent/http-chunks.js';

export interface ChunkInfo {
  digest: string;
  bytes: number;
}

/**
 * How a worker thread reaches a store or one of its sessions: plain data that crosses a
 * thread boundary (structured clone). Opened with openChunkReader / openFrameStager
 * (chunk-store-ref.ts); only the store's own module knows what is inside.
 */
export type ChunkStoreRef = { kind: 'directory'; root: string } | { kind: 'memory'; id: number } | AgentStoreRef;
export type ChunkSessionRef = ChunkStoreRef & { session: string };

/** Reading frames: what restore and verify need, on any thread. */
export interface ChunkReader {
  /** The stored frame of `digest` (into `into` when it fits; a frame larger than `into` is cut to it and fails to decode); NotFound when absent. */
  getFrame(digest: string, into?: Buffer): Promise<Buffer>;
}

export interface StageOptions {
  /**
   * The uncompressed bytes the caller SHA-256'd to name the frame. Given, the store checks
   * that the frame decodes to exactly these bytes (a compare, not a second SHA-256): only
   * for the engine's own frames in its own process. Frames from elsewhere (an agent's
   * upload) never come with it and are decoded and hashed.
   */
  hashed?: Buffer;
}

/** Staging frames: what a backup's threads need. */
export interface FrameStager {
  /** The chunk is in the store, or already staged in this session. */
  has(digest: string): Promise<boolean>;
  /**
   * Checks the frame is the chunk `digest` of `rawSize` bytes (IntegrityError otherwise,
   * nothing kept) and stages it. True when it was new to the store and to this session.
   * A staged frame has no name in the store until the session is published.
   */
  stage(digest: string, frame: Buffer, rawSize: number, opts?: StageOptions): Promise<boolean>;
}

/**
 * One job's staging area. While it is open the store keeps what the job relies on: gc
 * removes neither its staged frames nor (directory store) any chunk, so what `has`
 * answered stays true until the image that needs it is committed.
 */
export interface ChunkSession extends FrameStager {
  /** What worker threads open with openFrameStager to stage into this session. */
  readonly ref: ChunkSessionRef;
  /**
   * A frame was staged through `ref` by another thread. A hint only (the directory store
   * starts writing it to disk at once): publish finds every staged frame, told or not.
   */
  noteStaged(digest: string): void;
  /**
   * Makes every frame staged so far durable and named in the store; returns how many names
   * were new. Call it once every stage (from any thread) has returned. Idempotent.
   */
  publish(): Promise<number>;
  /** Ends the session: frames staged and not published are dropped. Idempotent; always call it. */
  close(): Promise<void>;
}

export interface ChunkStore extends ChunkReader {
  /** What worker threads open with openChunkReader. */
  readonly ref: ChunkStoreRef;
  /** For each digest, whether the store holds that chunk (published). One call per batch: a remote store answers in one round trip. */
  has(digests: readonly string[]): Promise<boolean[]>;
  /** Opens a staging session for a job (`subject`: what it makes, e.g. an image id, for messages). */
  beginSession(subject: string): Promise<ChunkSession>;
  /** Every published chunk. */
  list(): AsyncIterable<ChunkInfo>;
  /** Removes a published chunk (gc). Idempotent. */
  remove(digest: string): Promise<void>;
  /** Removes what sessions that ended without closing (a crash) left staged; returns how many items. Never touches a running session. */
  sweep(opts?: { dryRun?: boolean }): Promise<number>;
}

export function assertDigest(digest: string): void {
  if (typeof digest !== 'string' || !DIGEST_HEX.test(digest)) throw usageError(`invalid chunk digest ${JSON.stringify(digest)?.slice(0, 80)}: expected 64 lowercase hex digits`);
}

/**
 * The store's ingest check: throws IntegrityError unless `frame` is the chunk `digest` of
 * `rawSize` bytes. `scratch` (at least rawSize bytes) saves an allocation per frame.
 */
export function checkFrame(digest: string, frame: Buffer, rawSize: number, opts: StageOptions = {}, scratch?: Buffer): void {
  assertDigest(digest);
  if (!Number.isSafeInteger(rawSize) || rawSize <= 0) throw usageError(`invalid chunk size ${rawSize} for chunk ${digest}`);
  const out = scratch && scratch.length >= rawSize ? scratch : undefined;
  const raw = decodeFrame(frame, rawSize, `chunk offered as ${digest}`, out);
  if (opts.hashed) {
    if (!raw.equals(opts.hashed)) throw integrityError(`chunk offered as ${digest} does not decode to the bytes that were hashed: refused`);
    return;
  }
  const actual = createHash('sha256').update(raw).digest('hex');
  if (actual !== digest) throw integrityError(`chunk offered as ${digest} has SHA-256 ${actual}: refused`);
}

/** Batched lookups: `has` in groups of `batch` digests (what one request to a remote store carries). */
export async function missingChunks(store: Pick<ChunkStore, 'has'>, digests: readonly string[], batch = 4096): Promise<string[]> {
  const missing: string[] = [];
  for (let start = 0; start < digests.length; start += batch) {
    const group = digests.slice(start, start + batch);
    const present = await store.has(group);
    group.forEach((d, k) => {
      if (!present[k]) missing.push(d);
    });
  }
  return missing;
}
