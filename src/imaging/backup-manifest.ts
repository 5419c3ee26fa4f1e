// The manifest of a finished backup, built from what the backup gathered: a pure function
// (no clock, no host lookup, no I/O), so every field can be tested from its inputs. The
// caller signs it (signManifest) and writes it last.
import { createHash } from 'node:crypto';
import { FINGERPRINTS_ALG, MANIFEST_FORMAT, MANIFEST_VERSION } from './repo/formats.js';
import type { ImageStats, PassphraseVerifier, SourceIdentity, UnsignedManifest } from './repo/manifest.js';

export interface BackupFacts {
  id: string;
  label: string | null;
  host: string;
  startedAt: number;
  finishedAt: number;
  source: SourceIdentity;
  /** Bytes imaged (a stream's length, known at its end). */
  imageBytes: number;
  chunkSize: number;
  chunkCount: number;
  parentId: string | null;
  /** The index file and fingerprints file as written. */
  indexBytes: Buffer;
  fingerprintsBytes: Buffer;
  fingerprintSalt: string;
  contentSha256: string;
  stats: ImageStats;
  layout: unknown;
  passphrase: PassphraseVerifier | null;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function backupManifest(f: BackupFacts): UnsignedManifest {
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    id: f.id,
    label: f.label,
    host: f.host,
    createdAt: new Date(f.startedAt).toISOString(),
    completedAt: new Date(f.finishedAt).toISOString(),
    source: { ...f.source, size: f.imageBytes },
    diskSize: f.imageBytes,
    chunkSize: f.chunkSize,
    chunkCount: f.chunkCount,
    parent: f.parentId,
    index: { sha256: sha256(f.indexBytes), bytes: f.indexBytes.length },
    content: { alg: 'sha256-of-chunk-sha256', sha256: f.contentSha256 },
    fingerprints: { alg: FINGERPRINTS_ALG, salt: f.fingerprintSalt, sha256: sha256(f.fingerprintsBytes), bytes: f.fingerprintsBytes.length },
    stats: f.stats,
    layout: f.layout,
    passphrase: f.passphrase,
  };
}
