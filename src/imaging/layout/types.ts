// Shared types of the layout parsers. A parser reads on-disk structures through a
// BlockReader and returns plain values; it never trusts a field it has not
// bounds-checked, and reports damage as a LayoutProblem instead of throwing past
// its caller (the caller then images that region raw).

/** A byte range, relative to whatever the producing function says (disk or partition start). */
export interface Extent {
  start: number;
  length: number;
}

/** Random-access reads over a disk or a partition. Reads past `size` are a bug in the caller. */
export interface BlockReader {
  readonly size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

/** A filesystem's allocation, as its own metadata says. */
export interface FsUsage {
  fsType: 'ext2' | 'ext3' | 'ext4' | 'fat12' | 'fat16' | 'fat32' | 'ntfs' | 'swap';
  /** Allocation unit in bytes (ext block, FAT cluster, NTFS cluster, swap page). */
  blockSize: number;
  /** Bytes the filesystem spans (may be less than the partition). */
  totalBytes: number;
  /** Sum of `used` lengths. */
  usedBytes: number;
  /** Sorted, non-overlapping, merged byte extents relative to the filesystem start that must be imaged. */
  used: Extent[];
  label?: string;
  uuid?: string;
}

/** Thrown by a parser when metadata is damaged or hostile; callers image the region raw and warn. */
export class LayoutProblem extends Error {
  constructor(
    readonly subject: string,
    message: string,
  ) {
    super(`${subject}: ${message}`);
    this.name = 'LayoutProblem';
  }
}

/** A BlockReader over an in-memory buffer, for tests and for small images. */
export function bufferReader(buf: Buffer): BlockReader {
  return {
    size: buf.length,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
        throw new LayoutProblem('reader', `read of ${length} bytes at ${offset} is outside the ${buf.length}-byte device`);
      }
      return buf.subarray(offset, offset + length);
    },
  };
}

/** A BlockReader over a window of another reader (a partition on a disk). */
export function sliceReader(parent: BlockReader, start: number, size: number): BlockReader {
  if (start < 0 || size < 0 || start + size > parent.size) {
    throw new LayoutProblem('reader', `window ${start}+${size} is outside the ${parent.size}-byte device`);
  }
  return {
    size,
    read(offset: number, length: number): Promise<Buffer> {
      if (offset < 0 || length < 0 || offset + length > size) {
        return Promise.reject(new LayoutProblem('reader', `read of ${length} bytes at ${offset} is outside the ${size}-byte partition`));
      }
      return parent.read(start + offset, length);
    },
  };
}

/** Sort and merge extents; drops empty ones. */
export function mergeExtents(extents: Extent[]): Extent[] {
  const sorted = extents.filter((e) => e.length > 0).sort((a, b) => a.start - b.start);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && e.start <= last.start + last.length) {
      last.length = Math.max(last.length, e.start + e.length - last.start);
    } else {
      out.push({ start: e.start, length: e.length });
    }
  }
  return out;
}
