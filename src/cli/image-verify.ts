// lifeboat image verify <image-id> --store <dir> [--json]
import type { Command } from 'commander';
import { LifeboatError } from '../errors.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { verifyImage } from '../imaging/verify.js';
import { storeDir } from './common.js';
import type { CommandContext } from './context.js';
import { createRenderer, renderMode } from './render.js';

export function register(image: Command, ctx: CommandContext): void {
  image
    .command('verify')
    .description('re-read and check every chunk of an image; exit 0 only if all is well')
    .argument('<image-id>', 'image to verify')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'progress as JSON lines; the last line is the report')
    .action(async (imageId: string, o: { store?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const renderer = createRenderer(renderMode(o.json === true));
      let report;
      try {
        report = await verifyImage(store, imageId, { onEvent: (e) => renderer.event(e), signal: ctx.signal });
      } finally {
        renderer.close();
      }
      if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
      else if (report.ok) process.stdout.write(`image ${imageId} is intact: ${report.chunksChecked} chunks checked\n`);
      else {
        for (const p of report.problems) {
          const where = p.ranges?.map((r) => `${r.offset}+${r.length}`).join(', ');
          process.stderr.write(`BAD: ${p.message}${where ? ` (disk bytes ${where})` : ''}\n`);
        }
      }
      if (!report.ok) throw new LifeboatError('integrity', `image ${imageId} failed verification: ${report.problems.length} problem(s); restore an older image or back up the disk again`);
    });
}
