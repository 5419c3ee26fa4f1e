// A BlockReader over an image in the store: what the disk looked like, read chunk by
// chunk (decoded and checked on the main thread — for the few small reads a restore
// makes of partition tables, not for bulk data).
import { createHash } from 'node:crypto';
import { integrityError } from '../errors.js';
import { LayoutProblem, type BlockReader } from './layout/types.js';
import { decodeFrame } from './lz4-frame.js';
import { type ImageIndex, chunkLength, digestAt } from './repo/index-file.js';
import type { ChunkReader } from './repo/chunk-store.js';

export function imageReader(chunks: ChunkReader, index: ImageIndex): BlockReader {
  let cached: { i: number; data: Buffer } | null = null;
  const chunk = async (i: number): Promise<Buffer> => {
    if (cached?.i === i) return cached.data;
    const length = chunkLength(index, i);
    const digest = digestAt(index, i);
    let data: Buffer;
    if (!digest) data = Buffer.alloc(length);
    else {
      const hex = digest.toString('hex');
      data = decodeFrame(await chunks.getFrame(hex), length, `chunk ${i} (${hex})`);
      if (createHash('sha256').update(data).digest('hex') !== hex) throw integrityError(`chunk ${i} (${hex}) is damaged: its content does not match its name`);
    }
    cached = { i, data };
    return data;
  };
  return {
    size: index.diskSize,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > index.diskSize) {
        throw new LayoutProblem('image', `read of ${length} bytes at ${offset} is outside the ${index.diskSize}-byte image`);
      }
      const out = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const pos = offset + done;
        const i = Math.floor(pos / index.chunkSize);
        const within = pos - i * index.chunkSize;
        const data = await chunk(i);
        const n = Math.min(length - done, data.length - within);
        data.copy(out, done, within, within + n);
        done += n;
      }
      return out;
    },
  };
}
