// lifeboat store gc --store <dir> [--dry-run] [--json]
import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { collectGarbage } from '../imaging/repo/gc.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { storeDir } from './common.js';

export function register(storeCmd: Command): void {
  storeCmd
    .command('gc')
    .description('remove chunks no committed image uses (never while a backup runs)')
    .option('--store <dir>', 'image store directory')
    .option('--dry-run', 'only report what would be removed')
    .option('--json', 'the report as JSON')
    .action(async (o: { store?: string; dryRun?: boolean; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const r = await collectGarbage(store, { dryRun: o.dryRun === true });
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`${r.dryRun ? 'would remove' : 'removed'} ${r.chunksRemoved} chunk(s), ${formatBytes(r.bytesRemoved)}; kept ${r.chunksKept} chunk(s) used by ${r.images} image(s); ${r.tempFilesRemoved} temp file(s) cleared\n`);
    });
}
