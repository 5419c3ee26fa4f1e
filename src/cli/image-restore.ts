// lifeboat image restore <image-id> <device-or-file> --store <dir> [--yes] [--verify] [--verify-first]
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { restoreImage } from '../imaging/restore.js';
import { readPassphrase, storeDir } from './common.js';
import type { CommandContext } from './context.js';
import { createRenderer, formatDuration, renderMode } from './render.js';

export function register(image: Command, ctx: CommandContext): void {
  image
    .command('restore')
    .description('certify an image, then write it onto a disk or file (a missing file is created)')
    .argument('<image-id>', 'image to restore (see `lifeboat image list`)')
    .argument('<device-or-file>', 'target block device or file')
    .option('--store <dir>', 'image store directory')
    .option('--yes', 'overwrite an existing target without asking')
    .option('--verify', 'read the target back and compare every chunk')
    .option('--verify-first', 'read and check every chunk before the first write, so a damaged image leaves the target unchanged (a second pass over the store)')
    .option('--grow-last', 'on a larger target, enlarge the last partition and its filesystem (resize2fs, ntfsresize) to the end of the disk')
    .option('--passphrase-file <file>', 'the image\'s restore passphrase, first line of <file> (or LIFEBOAT_PASSPHRASE)')
    .option('--json', 'progress as JSON lines; the last line is the result')
    .action(async (imageId: string, target: string, o: { store?: string; yes?: boolean; verify?: boolean; verifyFirst?: boolean; growLast?: boolean; passphraseFile?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const renderer = createRenderer(renderMode(o.json === true));
      const passphrase = readPassphrase(o.passphraseFile);
      let report;
      try {
        report = await restoreImage({
          store,
          imageId,
          target,
          verify: o.verify === true,
          verifyFirst: o.verifyFirst === true,
          growLast: o.growLast === true,
          ...(passphrase !== undefined ? { passphrase } : {}),
          onEvent: (e) => renderer.event(e),
          signal: ctx.signal,
          confirm: async ({ manifest, targetSize, fresh }) => {
            if (fresh || o.yes) return true;
            const question = `Overwrite ${target} (${formatBytes(targetSize)}) with image ${manifest.id} of ${manifest.source.path} (${formatBytes(manifest.diskSize)})? Everything on ${target} is lost.`;
            if (!process.stdin.isTTY) throw usageError(`restoring onto the existing ${target} overwrites it: add --yes to confirm`);
            return ctx.confirm(question);
          },
        });
      } finally {
        renderer.close();
      }
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        process.stdout.write(`restored image ${report.imageId} onto ${report.target}: ${formatBytes(report.bytesTotal)} in ${formatDuration(report.durationMs / 1000)}${report.checkedFirst ? ', every chunk checked before writing' : ''}${report.verified ? ', read back and verified' : ''}\n`);
        if (report.adapted) process.stdout.write(`partition table adapted to the ${formatBytes(report.targetSize)} target (backup GPT at its end)\n`);
        const g = report.grow;
        if (g?.grown) process.stdout.write(`partition ${g.partition} grown from ${formatBytes(g.oldSize)} to ${formatBytes(g.newSize)}; ${g.filesystem} grown with ${g.tool}\n`);
        else if (g) process.stdout.write(`--grow-last: nothing grown: ${g.reason}\n`);
      }
    });
}
