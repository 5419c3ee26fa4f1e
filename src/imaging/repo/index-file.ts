// The binary index of an image (layout in formats.ts): pure encode/decode.
import { integrityError } from '../../errors.js';
import {
  INDEX_ENTRY_SIZE,
  INDEX_HEADER_SIZE,
  INDEX_MAGIC,
  INDEX_VERSION,
  UNUSED_DIGEST,
  ZERO_DIGEST,
  isValidChunkSize,
} from './formats.js';

export interface IndexHeader {
  chunkSize: number;
  diskSize: number;
  chunkCount: number;
}

export function chunkCountFor(diskSize: number, chunkSize: number): number {
  return Math.ceil(diskSize / chunkSize);
}

/** Length in bytes of chunk `i` of a disk. */
export function chunkLength(header: IndexHeader, i: number): number {
  return Math.min(header.chunkSize, header.diskSize - i * header.chunkSize);
}

export function encodeIndexHeader(h: IndexHeader): Buffer {
  const out = Buffer.alloc(INDEX_HEADER_SIZE);
  INDEX_MAGIC.copy(out, 0);
  out.writeUInt32LE(INDEX_VERSION, 8);
  out.writeUInt32LE(h.chunkSize, 12);
  out.writeBigUInt64LE(BigInt(h.diskSize), 16);
  out.writeBigUInt64LE(BigInt(h.chunkCount), 24);
  return out;
}

/** Decodes and checks the header; `fileSize` (when known) must match the entry count. */
export function decodeIndexHeader(buf: Buffer, fileSize?: number, subject = 'index'): IndexHeader {
  if (buf.length < INDEX_HEADER_SIZE) throw integrityError(`${subject} is truncated: ${buf.length} bytes, no full header`);
  if (!buf.subarray(0, 8).equals(INDEX_MAGIC)) throw integrityError(`${subject} is not a Lifeboat index (bad magic)`);
  const version = buf.readUInt32LE(8);
  if (version !== INDEX_VERSION) throw integrityError(`${subject} has unknown version ${version}: upgrade Lifeboat`);
  const chunkSize = buf.readUInt32LE(12);
  const diskSize = buf.readBigUInt64LE(16);
  const chunkCount = buf.readBigUInt64LE(24);
  if (!isValidChunkSize(chunkSize)) throw integrityError(`${subject} has invalid chunk size ${chunkSize}`);
  if (diskSize > BigInt(Number.MAX_SAFE_INTEGER)) throw integrityError(`${subject} has absurd disk size ${diskSize}`);
  const header = { chunkSize, diskSize: Number(diskSize), chunkCount: Number(chunkCount) };
  if (BigInt(chunkCountFor(header.diskSize, chunkSize)) !== chunkCount) {
    throw integrityError(`${subject} claims ${chunkCount} chunks for a ${diskSize}-byte disk`);
  }
  if (!buf.subarray(32, 64).equals(ZERO_DIGEST)) throw integrityError(`${subject} has non-zero reserved header bytes`);
  if (fileSize !== undefined && fileSize !== INDEX_HEADER_SIZE + header.chunkCount * INDEX_ENTRY_SIZE) {
    throw integrityError(
      `${subject} is ${fileSize} bytes but must be ${INDEX_HEADER_SIZE + header.chunkCount * INDEX_ENTRY_SIZE} for ${header.chunkCount} chunks (truncated or padded)`,
    );
  }
  return header;
}

/** A whole index in memory: header plus `chunkCount` 32-byte digests. */
export interface ImageIndex extends IndexHeader {
  digests: Buffer;
}

export function encodeIndex(index: ImageIndex): Buffer {
  return Buffer.concat([encodeIndexHeader(index), index.digests]);
}

export function decodeIndex(buf: Buffer, subject = 'index'): ImageIndex {
  const header = decodeIndexHeader(buf, buf.length, subject);
  return { ...header, digests: buf.subarray(INDEX_HEADER_SIZE) };
}

/** Digest of chunk i (a view), or null for a zero or unused chunk (zeros in the image). */
export function digestAt(index: ImageIndex, i: number): Buffer | null {
  const d = index.digests.subarray(i * INDEX_ENTRY_SIZE, (i + 1) * INDEX_ENTRY_SIZE);
  return d.equals(ZERO_DIGEST) || d.equals(UNUSED_DIGEST) ? null : d;
}

/** Chunk i lies in no used region: a restore may skip it. */
export function isUnused(index: ImageIndex, i: number): boolean {
  return index.digests.subarray(i * INDEX_ENTRY_SIZE, (i + 1) * INDEX_ENTRY_SIZE).equals(UNUSED_DIGEST);
}
