// Every on-disk format of the image store, declared in one place: magic numbers,
// versions, header layouts. Never change a layout in place: a new layout gets a
// new version number and the readers keep understanding the old ones.
// Golden-byte tests (formats.test.ts) pin these bytes.

/** store.json at the root of a store directory. */
export const STORE_FORMAT = 'lifeboat-store';
export const STORE_VERSION = 1;

/** manifest.json of each image. */
export const MANIFEST_FORMAT = 'lifeboat-manifest';
export const MANIFEST_VERSION = 1;

/**
 * Chunk file: one standard LZ4 frame (lz4.org frame format 1.6.x), so `lz4 -d` opens it.
 *   magic 04 22 4D 18 · FLG 0x68 (version 01, independent blocks, content size present,
 *   no block or content checksum) · BD 0x70 (4 MiB max block) · content size u64 LE ·
 *   header checksum (second byte of xxh32 of FLG..content size) · blocks · end mark 00 00 00 00.
 * A block whose size word has the high bit set is stored uncompressed.
 * The chunk is named by the SHA-256 of its uncompressed bytes; that is the integrity check.
 */
export const LZ4_FRAME_MAGIC = 0x184d2204;
export const LZ4_SKIPPABLE_MAGIC_MASK = 0xfffffff0;
export const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
export const LZ4_FLG_WRITTEN = 0x68;
export const LZ4_BD_WRITTEN = 0x70;
export const LZ4_BLOCK_MAX_BY_BD: Readonly<Record<number, number>> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
export const LZ4_UNCOMPRESSED_BIT = 0x80000000;

/**
 * Index file (images/<id>/index): the chunk digests of one image in disk order.
 *   offset size  field
 *        0    8  magic "LBOATIDX"
 *        8    4  version u32 LE (1)
 *       12    4  chunk size in bytes u32 LE
 *       16    8  disk size in bytes u64 LE
 *       24    8  chunk count u64 LE (= ceil(disk size / chunk size))
 *       32   32  reserved, zero
 *       64  32·n chunk i's SHA-256 of its uncompressed bytes, or a marker (neither is stored):
 *               32 × 0x00  an all-zero chunk inside used space: a restore writes zeros there
 *               32 × 0xFF  a chunk in no used region (free blocks, unassigned space): zeros in
 *                          the image, and a restore may leave the target's bytes there alone
 * Chunk i covers disk bytes [i·chunk size, min((i+1)·chunk size, disk size)).
 */
export const INDEX_MAGIC = Buffer.from('LBOATIDX', 'ascii');
export const INDEX_VERSION = 1;
export const INDEX_HEADER_SIZE = 64;
export const INDEX_ENTRY_SIZE = 32;
export const ZERO_DIGEST = Buffer.alloc(32);
export const UNUSED_DIGEST = Buffer.alloc(32, 0xff);

/**
 * Fingerprints file (images/<id>/fingerprints, recorded in the manifest as `fingerprints`):
 * one keyed 16-byte fingerprint per chunk (repo/fingerprint.ts), so the next backup of the
 * same disk can recognise unchanged chunks without SHA-256.
 *   offset size  field
 *        0    8  magic "LBOATFPR"
 *        8    4  version u32 LE (1)
 *       12    4  entry size u32 LE (16)
 *       16    8  chunk count u64 LE (the index's)
 *       24    8  reserved, zero
 *       32  16·n chunk i's fingerprint, or 16 × 0x00 for a zero or unused chunk
 * Images made before fingerprints existed have no such file and no manifest entry.
 */
export const FINGERPRINTS_MAGIC = Buffer.from('LBOATFPR', 'ascii');
export const FINGERPRINTS_VERSION = 1;
export const FINGERPRINTS_HEADER_SIZE = 32;
export const FINGERPRINT_SIZE = 16;
export const NO_FINGERPRINT = Buffer.alloc(16);
export const FINGERPRINTS_ALG = 'aes256-gmac-aes256';

/** Chunk sizes a store accepts: powers of two from 64 KiB to 4 MiB (one LZ4 block per chunk). */
export const DEFAULT_CHUNK_SIZE = 4 << 20;
export const MIN_CHUNK_SIZE = 64 << 10;
export const MAX_CHUNK_SIZE = 4 << 20;

export function isValidChunkSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CHUNK_SIZE && n <= MAX_CHUNK_SIZE && (n & (n - 1)) === 0;
}

/** Directory layout of a store. */
export const STORE_LAYOUT = {
  config: 'store.json',
  key: 'keys/manifest.key',
  chunks: 'chunks',
  images: 'images',
  tmp: 'tmp',
  locks: 'locks',
} as const;

/** A chunk's path inside the store: chunks/<first 4 hex digits>/<64 hex digits>. */
export function chunkRelativePath(digestHex: string): string {
  return `${STORE_LAYOUT.chunks}/${digestHex.slice(0, 4)}/${digestHex}`;
}

export const DIGEST_HEX = /^[0-9a-f]{64}$/;
/** Image ids: UTC time of the backup plus randomness, e.g. 20261125T181200Z-3fa9c2d1. */
export const IMAGE_ID = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$/;
