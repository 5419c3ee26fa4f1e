// Byte-range helpers of the backup's read path, kept free of heavy imports: the worker
// threads load this module, and every module they load costs startup time per job.
import type { Extent } from './layout/types.js';

/**
 * Walks a plan's used extents chunk by chunk, in disk order: for chunk [start, end) the
 * parts to read, relative to the chunk. Pure; one instance per pass (it keeps a cursor).
 */
export class UsedCursor {
  private k = 0;
  constructor(private readonly used: Extent[]) {}

  rangesIn(start: number, end: number): Extent[] {
    while (this.k < this.used.length) {
      const e = this.used[this.k] as Extent;
      if (e.start + e.length <= start) this.k++;
      else break;
    }
    const out: Extent[] = [];
    for (let j = this.k; j < this.used.length; j++) {
      const e = this.used[j] as Extent;
      if (e.start >= end) break;
      const s = Math.max(start, e.start);
      const t = Math.min(end, e.start + e.length);
      if (t > s) out.push({ start: s - start, length: t - s });
    }
    return out;
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

