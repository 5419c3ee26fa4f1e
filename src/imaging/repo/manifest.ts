// The manifest of an image: what was imaged, how, and the certification that lets a
// restore trust it (an HMAC-SHA256 with the store's key over the canonical JSON of
// everything else, plus an optional restore passphrase kept only as a scrypt verifier).
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { integrityError, userError } from '../../errors.js';
import type { FingerprintsRecord } from './fingerprint.js';
import { IMAGE_ID, MANIFEST_FORMAT, MANIFEST_VERSION } from './formats.js';

export interface SourceIdentity {
  /** Path the image was read from, as given (a device node or a file). */
  path: string;
  kind: 'block' | 'file' | 'stream';
  size: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  model?: string;
  serial?: string;
}

export interface ImageStats {
  bytesRead: number;
  bytesZero: number;
  bytesReused: number;
  bytesNew: number;
  /** Zero chunks, including those in no used region (chunksUnused: not even read). */
  chunksZero: number;
  chunksUnused: number;
  chunksReused: number;
  chunksNew: number;
  /** Bytes whose SHA-256 was computed (unchanged chunks recognised by fingerprint are not); absent in older images. */
  bytesHashed?: number;
  /** Bytes the new chunks take in the store (compressed). */
  storedBytesNew: number;
  /** bytesNew / storedBytesNew (1 when nothing was new). */
  compressionRatio: number;
  durationMs: number;
}

export interface PassphraseVerifier {
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  verifier: string;
}

export interface Certification {
  alg: 'HMAC-SHA256';
  keyId: string;
  mac: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  id: string;
  label: string | null;
  host: string;
  createdAt: string;
  completedAt: string;
  source: SourceIdentity;
  diskSize: number;
  chunkSize: number;
  chunkCount: number;
  /** The image this one was made against (same source), or null. */
  parent: string | null;
  index: { sha256: string; bytes: number };
  /** SHA-256 over the SHA-256 of every chunk in disk order (zero chunks included): binds every byte. */
  content: { alg: 'sha256-of-chunk-sha256'; sha256: string };
  /** The image's chunk fingerprints file (absent in images made before fingerprints). */
  fingerprints?: FingerprintsRecord;
  stats: ImageStats;
  /** How each region was imaged (filled in by filesystem-aware imaging). */
  layout: unknown;
  passphrase: PassphraseVerifier | null;
  certification: Certification;
}

export type UnsignedManifest = Omit<Manifest, 'certification'>;

/** JSON with object keys sorted at every level and no whitespace: the bytes the MAC covers. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export function signManifest(unsigned: UnsignedManifest, key: Buffer): Manifest {
  const mac = createHmac('sha256', key).update(canonicalJson(unsigned)).digest('hex');
  return { ...unsigned, certification: { alg: 'HMAC-SHA256', keyId: keyId(key), mac } };
}

/** Throws an IntegrityError unless the manifest is well-formed and its MAC is the store key's. */
export function verifyManifest(m: Manifest, key: Buffer, subject: string): void {
  const fail = (why: string) =>
    integrityError(`${subject} fails certification: ${why}; do not restore it — run \`lifeboat image verify\` and restore an older image`);
  if (m?.format !== MANIFEST_FORMAT) throw fail('not a Lifeboat manifest');
  if (m.version !== MANIFEST_VERSION) throw fail(`unknown manifest version ${String(m.version)}`);
  const cert = m.certification;
  if (!cert || cert.alg !== 'HMAC-SHA256' || typeof cert.mac !== 'string') throw fail('no certification');
  if (cert.keyId !== keyId(key)) throw fail(`signed with key ${cert.keyId}, not this store's key ${keyId(key)}`);
  const { certification: _c, ...unsigned } = m;
  const expected = createHmac('sha256', key).update(canonicalJson(unsigned)).digest();
  const given = Buffer.from(cert.mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw fail('the manifest was modified after it was signed');
  if (!IMAGE_ID.test(m.id)) throw fail(`invalid image id ${JSON.stringify(m.id)}`);
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const scryptOptions = (v: { N: number; r: number; p: number }) => ({ ...v, maxmem: 256 * v.N * v.r });

export function makePassphraseVerifier(passphrase: string): PassphraseVerifier {
  if (passphrase.length === 0) throw userError('the restore passphrase is empty: give a non-empty passphrase');
  const salt = randomBytes(16);
  const verifier = scryptSync(passphrase, salt, 32, scryptOptions(SCRYPT));
  return { kdf: 'scrypt', ...SCRYPT, salt: salt.toString('hex'), verifier: verifier.toString('hex') };
}

export function checkPassphrase(v: PassphraseVerifier, passphrase: string): boolean {
  if (v.kdf !== 'scrypt' || v.N > 1 << 20 || v.r > 32 || v.p > 16) return false;
  const derived = scryptSync(passphrase, Buffer.from(v.salt, 'hex'), 32, scryptOptions(v));
  const expected = Buffer.from(v.verifier, 'hex');
  return expected.length === derived.length && timingSafeEqual(derived, expected);
}

export function makeImageId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}
