// Where a backup's chunks come from: a disk or file read at aligned offsets through a
// plan (unused chunks are not read at all; free parts of a chunk are zeroed), or a
// stream (stdin, a pipe) cut by the Chunker. Both fill the caller's buffer.
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { describeSystemError, userError } from '../errors.js';
import { Chunker, nextStreamChunk } from './chunker.js';
import { type DiskPlan, UsedCursor } from './disk-plan.js';
import type { Extent } from './layout/types.js';

export type NextChunk =
  | { kind: 'end' }
  /** Nothing in use: zeros in the image, not read. */
  | { kind: 'unused'; length: number }
  /** Read into the buffer. */
  | { kind: 'data'; length: number; bytesRead: number };

export interface ChunkSource {
  /** Chunk count when known up front (disks), null for streams. */
  readonly chunkCount: number | null;
  /** Describes chunk `i` and, unless it is unused, reads it into `buf`. */
  next(i: number, buf: Buffer): Promise<NextChunk>;
  close(): Promise<void>;
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

const READ_THROUGH = 256 << 10;

/** Used ranges of a chunk joined into read requests wherever the hole between them is small. */
export function readSpans(ranges: Extent[]): Extent[] {
  const spans: Extent[] = [];
  for (const r of ranges) {
    const last = spans[spans.length - 1];
    if (last && r.start - (last.start + last.length) < READ_THROUGH) last.length = r.start + r.length - last.start;
    else spans.push({ ...r });
  }
  return spans;
}

/** Zeroes every byte of buf[0, length) outside the sorted `ranges`. */
export function zeroOutside(buf: Buffer, length: number, ranges: Extent[]): void {
  let pos = 0;
  for (const r of ranges) {
    if (r.start > pos) buf.fill(0, pos, r.start);
    pos = r.start + r.length;
  }
  if (pos < length) buf.fill(0, pos, length);
}

/** Chunks of a disk or file, read at aligned offsets through `plan`. */
export function diskSource(fh: FileHandle, size: number, chunkSize: number, plan: DiskPlan, subject: string): ChunkSource {
  const cursor = new UsedCursor(plan.used);
  const chunkCount = Math.ceil(size / chunkSize);
  return {
    chunkCount,
    async next(i, buf) {
      if (i >= chunkCount) return { kind: 'end' };
      const start = i * chunkSize;
      const length = Math.min(chunkSize, size - start);
      const ranges = cursor.rangesIn(start, start + length);
      if (ranges.length === 0) return { kind: 'unused', length };
      let bytesRead = 0;
      for (const span of readSpans(ranges)) {
        await readFully(fh, buf.subarray(span.start), span.length, start + span.start, subject);
        bytesRead += span.length;
      }
      zeroOutside(buf, length, ranges);
      return { kind: 'data', length, bytesRead };
    },
    close: () => fh.close(),
  };
}

/** Chunks of a stream: `-` is standard input, anything else a pipe or character device. */
export function streamSource(path: string, chunkSize: number): ChunkSource {
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  const input = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunker = new Chunker(chunkSize);
  return {
    chunkCount: null,
    async next(_i, buf) {
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
