// What to say when the management database's filesystem is full at start: how much is
// free, how much the step needed, and what in the database directory can go (copies kept
// by earlier repairs). Opening must write (a repair keeps a copy first; NeDB rewrites each
// datafile as it loads it), so a full disk stops the start; this makes the stop explain itself.
import { readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { type LifeboatError, userError } from '../errors.js';
import { formatBytes } from '../format.js';

export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? (err as { cause?: NodeJS.ErrnoException } | undefined)?.cause?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A user error for a full filesystem under `dir` while `doing` something that needs about `needBytes`. */
export function noSpaceError(dir: string, doing: string, needBytes: number, cause?: unknown): LifeboatError {
  let free = 'nothing';
  try {
    const fs = statfsSync(dir);
    free = formatBytes(fs.bavail * fs.bsize);
  } catch {
    /* the figure is a courtesy */
  }
  const copies: Array<{ name: string; bytes: number }> = [];
  try {
    for (const name of readdirSync(dir)) if (/\.db\.corrupt-/.test(name)) copies.push({ name, bytes: statSync(join(dir, name)).size });
  } catch {
    /* nothing to suggest */
  }
  const copyBytes = copies.reduce((sum, c) => sum + c.bytes, 0);
  const suggest = copies.length > 0 ? ` (the ${copies.length} copies kept by earlier repairs there, ${copies.map((c) => c.name).slice(0, 3).join(', ')}${copies.length > 3 ? ', …' : ''}, take ${formatBytes(copyBytes)} and can go once you no longer need them)` : '';
  return userError(
    `the filesystem holding the management database (${dir}) is full: ${doing} needs about ${formatBytes(Math.max(needBytes, 4096))}, and ${free} is free. Free at least that much on it${suggest} — \`df -h ${dir}\` and \`du -sh ${dir}/*\` show where the space went — then start the daemon again. Nothing was changed or lost.`,
    cause,
  );
}
