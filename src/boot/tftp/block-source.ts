// Where a transfer's blocks come from: a file read ahead in large chunks (so the next
// blocks are in memory when an acknowledgement arrives, and one read serves hundreds of
// packets), or bytes a resolver generated. Block k (from 1) is bytes [(k−1)·bs, k·bs).
import type { FileHandle } from 'node:fs/promises';

export interface BlockSource {
  readonly size: number;
  /** Block k's bytes if they are in memory now (a view, not a copy), else null. */
  ready(k: number): Buffer | null;
  /** Block k's bytes, read if need be; rejects if the file no longer holds them. */
  load(k: number): Promise<Buffer>;
  close(): Promise<void>;
}

export class BufferSource implements BlockSource {
  constructor(
    private readonly bytes: Buffer,
    private readonly blockSize: number,
  ) {}

  get size(): number {
    return this.bytes.length;
  }

  ready(k: number): Buffer {
    const from = Math.min((k - 1) * this.blockSize, this.bytes.length);
    return this.bytes.subarray(from, Math.min(from + this.blockSize, this.bytes.length));
  }

  load(k: number): Promise<Buffer> {
    return Promise.resolve(this.ready(k));
  }

  async close(): Promise<void> {}
}

/** Bytes read per chunk: a whole number of blocks, about 256 KiB. */
const CHUNK_TARGET = 256 << 10;

export class FileSource implements BlockSource {
  private readonly blocksPerChunk: number;
  /** Chunks in memory or being read, by index; at most the current one, one behind and one ahead. */
  private readonly chunks = new Map<number, { bytes: Buffer | null; loading: Promise<Buffer> }>();
  /** The chunk read ahead from last. */
  private current = -1;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly blockSize: number,
  ) {
    this.blocksPerChunk = Math.max(1, Math.floor(CHUNK_TARGET / blockSize));
  }

  ready(k: number): Buffer | null {
    const c = this.chunkOf(k);
    if (c !== this.current) this.readAhead(c);
    const chunk = this.chunks.get(c);
    return chunk?.bytes ? this.slice(chunk.bytes, k, c) : null;
  }

  async load(k: number): Promise<Buffer> {
    const c = this.chunkOf(k);
    this.readAhead(c);
    const bytes = await (this.chunks.get(c) as { loading: Promise<Buffer> }).loading;
    return this.slice(bytes, k, c);
  }

  async close(): Promise<void> {
    // A read under way must finish before the descriptor goes.
    await Promise.allSettled([...this.chunks.values()].map((c) => c.loading));
    await this.fh.close();
  }

  private chunkOf(k: number): number {
    return Math.floor((k - 1) / this.blocksPerChunk);
  }

  private slice(chunk: Buffer, k: number, c: number): Buffer {
    const from = (k - 1 - c * this.blocksPerChunk) * this.blockSize;
    return chunk.subarray(Math.min(from, chunk.length), Math.min(from + this.blockSize, chunk.length));
  }

  /** Makes sure chunk c and the next one are read or being read; forgets those before c − 1. */
  private readAhead(c: number): void {
    this.current = c;
    for (const i of [c, c + 1]) if (!this.chunks.has(i) && i * this.blocksPerChunk * this.blockSize <= this.size) this.startRead(i);
    for (const i of this.chunks.keys()) if (i < c - 1) this.chunks.delete(i);
  }

  private startRead(c: number): void {
    const offset = c * this.blocksPerChunk * this.blockSize;
    const length = Math.max(0, Math.min(this.blocksPerChunk * this.blockSize, this.size - offset));
    const entry: { bytes: Buffer | null; loading: Promise<Buffer> } = { bytes: null, loading: Promise.resolve(Buffer.alloc(0)) };
    entry.loading = (async () => {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await this.fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw new Error(`the file shrank while it was sent (${offset + got} of ${this.size} bytes)`);
        got += bytesRead;
      }
      entry.bytes = buf;
      return buf;
    })();
    entry.loading.catch(() => {}); // a failed read-ahead is reported by load(), if that block is ever needed
    this.chunks.set(c, entry);
  }
}
