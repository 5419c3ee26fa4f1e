// What a prune did, or in a dry run would do, in words: one line per image (newest first per
// source disk) with the rules that keep it, as PBS's prune simulator shows it. Pure; and the
// --keep-* options the commands that take a retention policy share.
import type { Command } from 'commander';
import type { PruneReport, Schedule } from '../api/contract.js';
import { destinationText } from '../api/destination.js';
import { shown } from '../text.js';
import { formatBytes } from '../format.js';
import { positiveCount, table } from './client-common.js';
import { when } from './job-text.js';

export function pruneText(r: PruneReport): string {
  const lines: string[] = [];
  if (r.decisions.length === 0) lines.push('no images to consider');
  else {
    const action = (d: PruneReport['decisions'][number]) => (d.action === 'remove' ? (r.dryRun ? 'would remove' : 'removed') : d.action === 'protected' ? 'kept (protected)' : 'keep');
    lines.push(table(r.decisions.map((d) => [d.source, d.id, when(d.completedAt), action(d), d.reasons.filter((x) => x !== 'protected').join(',')]), ['SOURCE', 'IMAGE', 'COMPLETED', 'ACTION', 'KEPT BY']));
  }
  const verb = r.dryRun ? 'would remove' : 'removed';
  lines.push(`${r.dryRun ? 'dry run: ' : ''}${verb} ${r.removed.length} image(s), kept ${r.kept.length}${r.protectedKept.length ? ` and ${r.protectedKept.length} protected` : ''}${r.dryRun ? '; nothing was removed' : ''}`);
  if (r.destination) lines.push(`backups go to ${shown(destinationText(r.destination))}: the images there are not pruned (retention prunes the appliance's store only)`);
  if (!r.dryRun && !('skipped' in r.gc)) lines.push(`gc removed ${r.gc.chunksRemoved} chunk(s), ${formatBytes(r.gc.bytesRemoved)}`);
  return lines.join('\n');
}

export interface KeepOptions {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

/** Adds --keep-last/daily/weekly/monthly to a command. */
export function keepOptions(c: Command): Command {
  return c
    .option('--keep-last <n>', 'keep the newest n images', positiveCount('--keep-last'))
    .option('--keep-daily <n>', 'keep the newest image of each of the last n days that have one', positiveCount('--keep-daily'))
    .option('--keep-weekly <n>', 'keep the newest image of each of the last n weeks that have one', positiveCount('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep the newest image of each of the last n months that have one', positiveCount('--keep-monthly'));
}

/** The policy the options give; null when none was given. */
export function retentionOf(o: KeepOptions): Schedule['retention'] | null {
  const r = {
    ...(o.keepLast ? { keepLast: o.keepLast } : {}),
    ...(o.keepDaily ? { daily: o.keepDaily } : {}),
    ...(o.keepWeekly ? { weekly: o.keepWeekly } : {}),
    ...(o.keepMonthly ? { monthly: o.keepMonthly } : {}),
  };
  return Object.keys(r).length > 0 ? r : null;
}
