// The chunk store interface: content-addressed LZ4 frames named by the SHA-256 of
// their uncompressed bytes. Every implementation checks a frame before keeping it
// (decode + SHA-256 must give the name it is offered under), so one bad client can
// never plant a chunk under a false digest and poison other images through dedup.
// chunk-store.suite.ts runs the same tests against every implementation.
import { createHash } from 'node:crypto';
import { integrityError, notFoundError, usageError } from '../../errors.js';
import { decodeFrame } from '../lz4-frame.js';
import { DIGEST_HEX } from './formats.js';

export interface ChunkInfo {
  digest: string;
  bytes: number;
}

export interface ChunkStore {
  has(digest: string): Promise<boolean>;
  /** Checks `frame` decodes to `rawSize` bytes with SHA-256 `digest`, then keeps it. True when it was new. */
  putFrame(digest: string, frame: Buffer, rawSize: number): Promise<boolean>;
  /** The stored frame; NotFound when absent. */
  getFrame(digest: string): Promise<Buffer>;
  remove(digest: string): Promise<void>;
  list(): AsyncIterable<ChunkInfo>;
}

export function assertDigest(digest: string): void {
  if (!DIGEST_HEX.test(digest)) throw usageError(`invalid chunk digest ${JSON.stringify(digest).slice(0, 80)}: expected 64 lowercase hex digits`);
}

/** The store's ingest check: throws IntegrityError unless `frame` is the chunk `digest`. */
export function checkFrame(digest: string, frame: Buffer, rawSize: number): void {
  assertDigest(digest);
  const raw = decodeFrame(frame, rawSize, `chunk offered as ${digest}`);
  const actual = createHash('sha256').update(raw).digest('hex');
  if (actual !== digest) throw integrityError(`chunk offered as ${digest} has SHA-256 ${actual}: refused`);
}

/** In-memory twin for fast unit tests of code that uses a ChunkStore. */
export class MemoryChunkStore implements ChunkStore {
  private readonly frames = new Map<string, Buffer>();

  async has(digest: string): Promise<boolean> {
    assertDigest(digest);
    return this.frames.has(digest);
  }

  async putFrame(digest: string, frame: Buffer, rawSize: number): Promise<boolean> {
    checkFrame(digest, frame, rawSize);
    if (this.frames.has(digest)) return false;
    this.frames.set(digest, Buffer.from(frame));
    return true;
  }

  async getFrame(digest: string): Promise<Buffer> {
    assertDigest(digest);
    const frame = this.frames.get(digest);
    if (!frame) throw notFoundError(`chunk ${digest} is missing from the store`);
    return frame;
  }

  async remove(digest: string): Promise<void> {
    assertDigest(digest);
    this.frames.delete(digest);
  }

  async *list(): AsyncIterable<ChunkInfo> {
    for (const [digest, frame] of this.frames) yield { digest, bytes: frame.length };
  }
}
