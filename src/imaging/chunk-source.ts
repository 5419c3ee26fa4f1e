// Where a backup's chunks come from: a disk or file read at aligned offsets through a
// plan (unused chunks are not read at all; free parts of a chunk are zeroed), or a
// stream (stdin, a pipe) cut by the Chunker. Both fill the caller's buffer.
import { createReadStream } from 'node:fs';
import { describeSystemError } from '../errors.js';
import { Chunker, nextStreamChunk } from './chunker.js';
import type { DiskPlan } from './disk-plan.js';
import { UsedCursor } from './extents.js';
import type { Extent } from './layout/types.js';

export type NextChunk =
  | { kind: 'end' }
  /** Nothing in use: zeros in the image, not read. */
  | { kind: 'unused'; length: number }
  /** Read into the buffer. */
  | { kind: 'data'; length: number; bytesRead: number }
  /** For a worker to read: the used `ranges` of the chunk at `offset` (the rest is zeros). */
  | { kind: 'delegate'; length: number; offset: number; ranges: Extent[] };

export interface ChunkSource {
  /** Chunk count when known up front (disks), null for streams. */
  readonly chunkCount: number | null;
  /** Whether next() reads into a buffer of the caller's (streams) or leaves reading to the workers. */
  readonly needsBuffer: boolean;
  /** Describes chunk `i` and reads it into `buf` when the source reads itself. */
  next(i: number, buf: Buffer | null): Promise<NextChunk>;
  close(): Promise<void>;
}

/** Chunks of a disk or file through `plan`: the workers read the used parts themselves. */
export function diskSource(size: number, chunkSize: number, plan: DiskPlan): ChunkSource {
  const cursor = new UsedCursor(plan.used);
  const chunkCount = Math.ceil(size / chunkSize);
  return {
    chunkCount,
    needsBuffer: false,
    async next(i) {
      if (i >= chunkCount) return { kind: 'end' };
      const offset = i * chunkSize;
      const length = Math.min(chunkSize, size - offset);
      const ranges = cursor.rangesIn(offset, offset + length);
      return ranges.length === 0 ? { kind: 'unused', length } : { kind: 'delegate', length, offset, ranges };
    },
    close: async () => {},
  };
}

/** Chunks of a stream: `-` is standard input, anything else a pipe or character device. */
export function streamSource(path: string, chunkSize: number): ChunkSource {
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  const input = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunker = new Chunker(chunkSize);
  return {
    chunkCount: null,
    needsBuffer: true,
    async next(_i, buf) {
      if (!buf) throw new Error('streamSource.next needs a buffer');
      let length: number;
      try {
        length = await nextStreamChunk(chunker, input, buf);
      } catch (err) {
        throw describeSystemError(err, `reading ${path === '-' ? 'standard input' : path}`);
      }
      return length === 0 ? { kind: 'end' } : { kind: 'data', length, bytesRead: length };
    },
    async close() {
      if (stream !== process.stdin) stream.destroy();
    },
  };
}
