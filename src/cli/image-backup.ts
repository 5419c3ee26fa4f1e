// lifeboat image backup <device-or-file> --store <dir> [--label <text>] [--json]
import type { Command } from 'commander';
import { backupImage } from '../imaging/backup.js';
import { describeDisk } from '../imaging/disk.js';
import { formatBytes } from '../format.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { readPassphrase, storeDir, summarize } from './common.js';
import { createRenderer, formatDuration, renderMode } from './render.js';
import type { CommandContext } from './context.js';

export function register(image: Command, ctx: CommandContext): void {
  image
    .command('backup')
    .description('image a disk or disk-image file into the store (incremental against its previous image)')
    .argument('<device-or-file>', 'block device or disk-image file to read; - reads a raw disk stream from standard input')
    .option('--store <dir>', 'image store directory (created if missing; default $LIFEBOAT_STORE or /var/lib/lifeboat/store)')
    .option('--label <text>', 'a note kept with the image')
    .option('--passphrase-file <file>', 'protect restores of this image with the passphrase on the first line of <file> (or set LIFEBOAT_PASSPHRASE)')
    .option('--full', 'do not use the previous image of this source to skip unchanged chunks')
    .option('--raw', 'image every byte: ignore partition tables and filesystems (free space is normally imaged as zeros)')
    .option('--json', 'progress as JSON lines; the last line is the committed image')
    .action(async (source: string, o: { store?: string; label?: string; passphraseFile?: string; full?: boolean; raw?: boolean; json?: boolean }) => {
      describeDisk(source); // a missing or unusable source is reported before a store is created
      const store = await ImageStore.open(storeDir(o.store), { create: true });
      const renderer = createRenderer(renderMode(o.json === true));
      const passphrase = readPassphrase(o.passphraseFile);
      let manifest;
      try {
        manifest = await backupImage({
          store,
          source,
          ...(o.label !== undefined ? { label: o.label } : {}),
          ...(passphrase !== undefined ? { passphrase } : {}),
          incremental: o.full !== true,
          raw: o.raw === true,
          onEvent: (e) => renderer.event(e),
          signal: ctx.signal,
        });
      } finally {
        renderer.close();
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summarize(manifest))}\n`);
        return;
      }
      const s = manifest.stats;
      process.stdout.write(
        `image ${manifest.id} committed: ${formatBytes(manifest.diskSize)} disk, ${formatBytes(s.bytesNew)} new -> ${formatBytes(s.storedBytesNew)} stored (lz4 ${s.compressionRatio.toFixed(2)}x), ` +
          `${formatBytes(s.bytesReused)} reused, ${formatBytes(s.bytesZero)} zero, in ${formatDuration(s.durationMs / 1000)}\n`,
      );
    });
}
