// Chunk fingerprints: a fast keyed check that a chunk's content is unchanged since the
// parent image, so an incremental backup need not SHA-256 what it has seen before.
//
// fingerprint(chunk) = AES-256_K2( GMAC_K1(chunk) )
//   GMAC_K1: AES-256-GCM under K1 with a fixed 96-bit zero nonce, the chunk as additional
//   data and no plaintext; its tag is GHASH_H(chunk ‖ lengths) ⊕ AES_K1(J0), H = AES_K1(0),
//   a polynomial universal hash (two different chunks of ℓ 16-byte blocks collide with
//   probability ≤ ℓ/2^128: 2^-110 for 4 MiB). A fixed nonce would let anyone who sees tags
//   solve for H, so the tag never leaves this function: it is enciphered under an
//   independent key K2 (AES as a pseudorandom permutation). Universal hash, then PRP: a
//   MAC; without the keys nobody can make new content match an old fingerprint.
//   K1 ‖ K2 = HKDF-SHA256(store key, salt, "lifeboat chunk fingerprint v1"), one salt per
//   lineage of images (an image takes its parent's), so a key given to a client's agent
//   some day covers that client's disk only.
// Speed: AES-NI + carry-less multiply make it ~5× faster than SHA-256 with SHA-NI, and far
// faster on client CPUs without SHA extensions. A match is trusted only together with the
// digest the parent's certified index holds at the same position; anything else is hashed.
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { integrityError } from '../../errors.js';
import { FINGERPRINTS_ALG, FINGERPRINTS_HEADER_SIZE, FINGERPRINTS_MAGIC, FINGERPRINTS_VERSION, FINGERPRINT_SIZE, NO_FINGERPRINT } from './formats.js';

const INFO = 'lifeboat chunk fingerprint v1';
const NONCE = Buffer.alloc(12);

/** What a manifest records of an image's fingerprints file. */
export interface FingerprintsRecord {
  alg: typeof FINGERPRINTS_ALG;
  /** HKDF salt, 16 bytes hex: shared along a lineage of images. */
  salt: string;
  sha256: string;
  bytes: number;
}

export function newFingerprintSalt(): string {
  return randomBytes(16).toString('hex');
}

/** K1 ‖ K2 (64 bytes) for `salt` under the store key. */
export function fingerprintKey(storeKey: Buffer, salt: string): Buffer {
  return Buffer.from(hkdfSync('sha256', storeKey, Buffer.from(salt, 'hex'), INFO, 64));
}

/** Computes fingerprints under one key (64 bytes: K1 ‖ K2). */
export class Fingerprinter {
  private readonly macKey: Buffer;
  private readonly sealKey: Buffer;

  constructor(key: Uint8Array) {
    if (key.byteLength !== 64) throw new RangeError(`fingerprint key must be 64 bytes, not ${key.byteLength}`);
    const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    this.macKey = Buffer.from(k.subarray(0, 32));
    this.sealKey = Buffer.from(k.subarray(32, 64));
  }

  /** The 16-byte fingerprint of `data`. */
  of(data: Uint8Array): Buffer {
    const gcm = createCipheriv('aes-256-gcm', this.macKey, NONCE);
    gcm.setAAD(data);
    gcm.final();
    const seal = createCipheriv('aes-256-ecb', this.sealKey, null);
    seal.setAutoPadding(false);
    const out = seal.update(gcm.getAuthTag());
    seal.final();
    return out;
  }
}

export function encodeFingerprints(chunkCount: number, prints: Buffer): Buffer {
  if (prints.length !== chunkCount * FINGERPRINT_SIZE) throw new RangeError(`${prints.length} bytes of fingerprints for ${chunkCount} chunks`);
  const header = Buffer.alloc(FINGERPRINTS_HEADER_SIZE);
  FINGERPRINTS_MAGIC.copy(header, 0);
  header.writeUInt32LE(FINGERPRINTS_VERSION, 8);
  header.writeUInt32LE(FINGERPRINT_SIZE, 12);
  header.writeBigUInt64LE(BigInt(chunkCount), 16);
  return Buffer.concat([header, prints]);
}

/** The fingerprints (16 bytes per chunk) of a file that must describe `chunkCount` chunks. */
export function decodeFingerprints(buf: Buffer, chunkCount: number, subject = 'fingerprints'): Buffer {
  if (buf.length < FINGERPRINTS_HEADER_SIZE) throw integrityError(`${subject} is truncated: ${buf.length} bytes, no full header`);
  if (!buf.subarray(0, 8).equals(FINGERPRINTS_MAGIC)) throw integrityError(`${subject} is not a Lifeboat fingerprints file (bad magic)`);
  const version = buf.readUInt32LE(8);
  if (version !== FINGERPRINTS_VERSION) throw integrityError(`${subject} has unknown version ${version}: upgrade Lifeboat`);
  if (buf.readUInt32LE(12) !== FINGERPRINT_SIZE) throw integrityError(`${subject} has entries of ${buf.readUInt32LE(12)} bytes, not ${FINGERPRINT_SIZE}`);
  const count = buf.readBigUInt64LE(16);
  if (count !== BigInt(chunkCount)) throw integrityError(`${subject} describes ${count} chunks, the image has ${chunkCount}`);
  if (!buf.subarray(24, FINGERPRINTS_HEADER_SIZE).equals(Buffer.alloc(FINGERPRINTS_HEADER_SIZE - 24))) throw integrityError(`${subject} has non-zero reserved header bytes`);
  if (buf.length !== FINGERPRINTS_HEADER_SIZE + chunkCount * FINGERPRINT_SIZE) {
    throw integrityError(`${subject} is ${buf.length} bytes but must be ${FINGERPRINTS_HEADER_SIZE + chunkCount * FINGERPRINT_SIZE} for ${chunkCount} chunks (truncated or padded)`);
  }
  return buf.subarray(FINGERPRINTS_HEADER_SIZE);
}

const PAIR = FINGERPRINT_SIZE + 32;

/**
 * Fingerprint → digest of a parent image, as one sorted Buffer of 48-byte pairs (12 MB
 * for a 1 TB disk), looked up by binary search. Built from the parent's fingerprints and
 * its index at the same positions; chunks without a fingerprint (zero, unused) are left out.
 */
export class FingerprintMap {
  private readonly pairs: Buffer;
  readonly size: number;

  constructor(pairs: Uint8Array) {
    this.pairs = Buffer.from(pairs.buffer, pairs.byteOffset, pairs.byteLength - (pairs.byteLength % PAIR));
    this.size = this.pairs.length / PAIR;
  }

  /** Pairs for a map: `prints` 16 bytes and `digests` 32 bytes per chunk, same order; sorted, markers dropped. */
  static pairsOf(prints: Buffer, digests: Buffer, isMarker: (digest: Buffer) => boolean): Buffer {
    const n = Math.min(prints.length / FINGERPRINT_SIZE, digests.length / 32);
    const views: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const f = prints.subarray(i * FINGERPRINT_SIZE, (i + 1) * FINGERPRINT_SIZE);
      const d = digests.subarray(i * 32, (i + 1) * 32);
      if (f.equals(NO_FINGERPRINT) || isMarker(d)) continue;
      views.push(Buffer.concat([f, d]));
    }
    views.sort(Buffer.compare);
    return Buffer.concat(views);
  }

  /** The digest recorded with fingerprint `f` (a view), or null. */
  get(f: Buffer): Buffer | null {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = mid * PAIR;
      const c = this.pairs.compare(f, 0, FINGERPRINT_SIZE, at, at + FINGERPRINT_SIZE);
      if (c === 0) return this.pairs.subarray(at + FINGERPRINT_SIZE, at + PAIR);
      if (c > 0) hi = mid - 1;
      else lo = mid + 1;
    }
    return null;
  }
}
