// What every `lifeboat image|store` command shares: the store option, passphrases,
// the summary of an image that list/show/backup print.
import { readFileSync } from 'node:fs';
import { describeSystemError, usageError } from '../errors.js';
import type { Manifest } from '../imaging/repo/manifest.js';

export const DEFAULT_STORE = '/var/lib/lifeboat/store';

export function storeDir(opt: string | undefined): string {
  return opt ?? process.env.LIFEBOAT_STORE ?? DEFAULT_STORE;
}

/** The passphrase from --passphrase-file (first line) or LIFEBOAT_PASSPHRASE, if any. */
export function readPassphrase(file: string | undefined): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw describeSystemError(err, `passphrase file ${file}`);
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line.length === 0) throw usageError(`passphrase file ${file} is empty: put the passphrase on its first line`);
    return line;
  }
  const env = process.env.LIFEBOAT_PASSPHRASE;
  return env !== undefined && env.length > 0 ? env : undefined;
}

export interface ImageSummary {
  id: string;
  label: string | null;
  createdAt: string;
  completedAt: string;
  source: Manifest['source'];
  diskSize: number;
  chunkSize: number;
  parent: string | null;
  /** A passphrase is needed to restore it (not protection from pruning: that is the appliance's `images protect`). */
  hasPassphrase: boolean;
  contentSha256: string;
  stats: Manifest['stats'];
}

export function summarize(m: Manifest): ImageSummary {
  return {
    id: m.id,
    label: m.label,
    createdAt: m.createdAt,
    completedAt: m.completedAt,
    source: m.source,
    diskSize: m.diskSize,
    chunkSize: m.chunkSize,
    parent: m.parent,
    hasPassphrase: m.passphrase !== null,
    contentSha256: m.content.sha256,
    stats: m.stats,
  };
}
