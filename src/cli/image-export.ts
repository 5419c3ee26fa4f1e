// lifeboat image export <id> --out <file> --store <dir>: a sparse raw disk file.
import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { restoreImage } from '../imaging/restore.js';
import { readPassphrase, storeDir } from './common.js';
import type { CommandContext } from './context.js';
import { createRenderer, renderMode } from './render.js';

export function register(image: Command, ctx: CommandContext): void {
  image
    .command('export')
    .description('write an image as a new sparse raw disk file')
    .argument('<image-id>', 'image to export')
    .requiredOption('--out <file>', 'the raw file to create (must not exist)')
    .option('--store <dir>', 'image store directory')
    .option('--passphrase-file <file>', 'the image\'s restore passphrase (or LIFEBOAT_PASSPHRASE)')
    .option('--json', 'progress as JSON lines')
    .action(async (imageId: string, o: { out: string; store?: string; passphraseFile?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const renderer = createRenderer(renderMode(o.json === true));
      const passphrase = readPassphrase(o.passphraseFile);
      let report;
      try {
        report = await restoreImage({ store, imageId, target: o.out, operation: 'export', ...(passphrase !== undefined ? { passphrase } : {}), onEvent: (e) => renderer.event(e), signal: ctx.signal });
      } finally {
        renderer.close();
      }
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(`exported image ${imageId} to ${o.out} (${formatBytes(report.bytesTotal)}, sparse)\n`);
    });
}
