// LZ4 frames written and read by Lifeboat itself around a raw LZ4 block codec: our
// Node-API addon over liblz4 (native/lz4.c), one build for Node 20 and 24. Pure functions
// over Buffers. Every length is checked against what the caller expects, so a damaged
// frame is an IntegrityError, never a crash or an over-read.
//
// Where the addon is: dist/native/lz4.node of the tree this module runs from, two levels
// up from the module itself. That holds for src/imaging/*.ts (tsx, tests), for
// dist/imaging/*.js (the installed appliance) and for the agent bundle, whose files keep
// the same layout (dist/agent/{agent,chunk-worker}.cjs beside dist/native/lz4.node, in the
// boot OS under /usr/lib/lifeboat/) and whose import.meta.url is the bundle file's URL.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { integrityError, userError } from '../errors.js';
import {
  LZ4_BD_WRITTEN,
  LZ4_BLOCK_MAX_BY_BD,
  LZ4_FLG_WRITTEN,
  LZ4_FRAME_MAGIC,
  LZ4_UNCOMPRESSED_BIT,
} from './repo/formats.js';
import { xxh32 } from './xxh32.js';

/** The addon's block codec (native/lz4.c). */
interface Lz4Blocks {
  /** Bytes written to `dst`, 0 when the block does not fit. */
  compress(src: Uint8Array, dst: Uint8Array): number;
  /** Bytes written to `dst`, negative when `src` is not one valid block that fits. */
  decompress(src: Uint8Array, dst: Uint8Array): number;
  version: string;
}

/** The addon's path under the rule above. */
export const LZ4_ADDON = fileURLToPath(new URL('../../dist/native/lz4.node', import.meta.url));
let codec: Lz4Blocks | null = null;

/** The codec, loaded on first use (once per thread). */
export function lz4Codec(): Lz4Blocks {
  if (codec) return codec;
  if (!existsSync(LZ4_ADDON)) throw userError(`the LZ4 codec ${LZ4_ADDON} is missing: run \`make build\` (it compiles src/imaging/native/lz4.c against liblz4-dev)`);
  let loaded: Partial<Lz4Blocks>;
  try {
    loaded = createRequire(import.meta.url)(LZ4_ADDON) as Partial<Lz4Blocks>;
  } catch (err) {
    throw userError(`the LZ4 codec ${LZ4_ADDON} does not load (${(err as Error).message}): liblz4.so.1 must be installed (Debian: liblz4-1); rebuild it with \`make build\``, err);
  }
  if (typeof loaded.compress !== 'function' || typeof loaded.decompress !== 'function') throw userError(`${LZ4_ADDON} is not Lifeboat's LZ4 codec: rebuild it with \`make build\``);
  codec = loaded as Lz4Blocks;
  return codec;
}

/** LZ4_COMPRESSBOUND: the most one block of `n` bytes can take compressed. */
const compressBound = (n: number) => n + Math.floor(n / 255) + 16;

const HEADER_SIZE = 4 + 2 + 8 + 1;
const MAX_BLOCK = 4 << 20;

/** Bytes a frame for `rawLength` bytes may need at most. */
export function frameBound(rawLength: number): number {
  const blocks = Math.max(1, Math.ceil(rawLength / MAX_BLOCK));
  return HEADER_SIZE + blocks * 4 + compressBound(rawLength) + blocks * 16 + 4;
}

/**
 * Encodes `raw` as one LZ4 frame into `out` (at least frameBound(raw.length) bytes) and
 * returns the frame's length. Blocks that do not shrink are stored uncompressed.
 */
export function encodeFrameInto(raw: Buffer, out: Buffer): number {
  if (out.length < frameBound(raw.length)) throw new RangeError('encodeFrameInto: output buffer too small');
  out.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  out[4] = LZ4_FLG_WRITTEN;
  out[5] = LZ4_BD_WRITTEN;
  out.writeBigUInt64LE(BigInt(raw.length), 6);
  out[14] = (xxh32(out.subarray(4, 14)) >>> 8) & 0xff;
  let pos = HEADER_SIZE;
  const lz4 = lz4Codec();
  for (let start = 0; start < raw.length; start += MAX_BLOCK) {
    const block = raw.subarray(start, Math.min(raw.length, start + MAX_BLOCK));
    // Capacity one byte under the raw size: a block that does not shrink returns 0.
    const n = lz4.compress(block, out.subarray(pos + 4, pos + 4 + block.length - 1));
    if (!Number.isInteger(n) || n < 0 || n >= block.length) throw new Error(`lz4 compress returned ${n}`);
    if (n === 0) {
      out.writeUInt32LE((block.length | LZ4_UNCOMPRESSED_BIT) >>> 0, pos);
      block.copy(out, pos + 4);
      pos += 4 + block.length;
    } else {
      out.writeUInt32LE(n, pos);
      pos += 4 + n;
    }
  }
  out.writeUInt32LE(0, pos);
  return pos + 4;
}

/** Encodes `raw` as a new LZ4 frame buffer. */
export function encodeFrame(raw: Buffer): Buffer {
  const out = Buffer.allocUnsafe(frameBound(raw.length));
  return out.subarray(0, encodeFrameInto(raw, out));
}

/**
 * Decodes one LZ4 frame that must hold exactly `expectedSize` bytes, into `out` when given
 * (at least expectedSize bytes), and returns the decoded bytes. Accepts what `lz4` writes too
 * (content checksum, block checksums, no content size) as long as blocks are independent or
 * the frame has one block. `subject` names the frame in error messages.
 */
export function decodeFrame(frame: Buffer, expectedSize: number, subject = 'LZ4 frame', out?: Buffer): Buffer {
  const fail = (why: string) => integrityError(`${subject} is damaged: ${why}`);
  if (frame.length < 7) throw fail(`only ${frame.length} bytes`);
  if (frame.readUInt32LE(0) !== LZ4_FRAME_MAGIC) throw fail('bad magic number');
  const flg = frame[4] as number;
  const bd = frame[5] as number;
  if (flg >> 6 !== 1) throw fail(`unsupported frame version ${flg >> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw fail('reserved header bits set');
  const independent = (flg & 0x20) !== 0;
  const blockChecksums = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const hasDictId = (flg & 0x01) !== 0;
  const blockMax = LZ4_BLOCK_MAX_BY_BD[(bd >> 4) & 7];
  if (blockMax === undefined) throw fail(`invalid block size code ${(bd >> 4) & 7}`);
  if (hasDictId) throw fail('frames with a dictionary are not used by Lifeboat');
  let pos = 6;
  if (hasContentSize) {
    if (frame.length < pos + 8) throw fail('truncated header');
    const size = frame.readBigUInt64LE(pos);
    if (size !== BigInt(expectedSize)) throw fail(`holds ${size} bytes, expected ${expectedSize}`);
    pos += 8;
  }
  if (frame.length < pos + 1) throw fail('truncated header');
  if (frame[pos] !== ((xxh32(frame.subarray(4, pos)) >>> 8) & 0xff)) throw fail('header checksum mismatch');
  pos += 1;
  const target = out ?? Buffer.allocUnsafe(expectedSize);
  if (target.length < expectedSize) throw new RangeError('decodeFrame: output buffer too small');
  let written = 0;
  let blocks = 0;
  const lz4 = lz4Codec();
  for (;;) {
    if (frame.length < pos + 4) throw fail('truncated (no end mark)');
    const word = frame.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & LZ4_UNCOMPRESSED_BIT) !== 0;
    const size = word & 0x7fffffff;
    if (size > blockMax) throw fail(`block of ${size} bytes exceeds the ${blockMax}-byte maximum`);
    if (frame.length < pos + size + (blockChecksums ? 4 : 0)) throw fail('truncated block');
    if (!independent && blocks > 0) throw fail('linked blocks are not supported');
    const room = Math.min(blockMax, expectedSize - written);
    const data = frame.subarray(pos, pos + size);
    if (stored) {
      if (size > room) throw fail(`decodes to more than ${expectedSize} bytes`);
      data.copy(target, written);
      written += size;
    } else {
      if (room <= 0) throw fail(`decodes to more than ${expectedSize} bytes`);
      const n = lz4.decompress(data, target.subarray(written, written + room));
      if (!Number.isInteger(n) || n < 0) throw fail(`block ${blocks} does not decode (lz4 error at ${n})`);
      written += n;
    }
    pos += size;
    if (blockChecksums) {
      if (frame.readUInt32LE(pos) !== xxh32(data)) throw fail(`block ${blocks} checksum mismatch`);
      pos += 4;
    }
    blocks++;
  }
  if (written !== expectedSize) throw fail(`decodes to ${written} bytes, expected ${expectedSize}`);
  if (contentChecksum) {
    if (frame.length < pos + 4) throw fail('truncated content checksum');
    if (frame.readUInt32LE(pos) !== xxh32(target.subarray(0, written))) throw fail('content checksum mismatch');
    pos += 4;
  }
  if (pos !== frame.length) throw fail(`${frame.length - pos} trailing bytes after the frame`);
  return target.subarray(0, written);
}
