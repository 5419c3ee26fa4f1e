// lifeboat image list --store <dir> [--json]  and  lifeboat image show <id> [--json]
import { when } from './job-text.js';
import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { integrityError } from '../errors.js';
import { escapeForTerminal } from '../text.js';
import { table } from './client-common.js';
import { storeDir, summarize } from './common.js';
import { manifestText } from './image-text.js';

export function register(image: Command): void {
  image
    .command('list')
    .description('list the committed images of a store, newest first; damaged ones too (then it exits 1)')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'a JSON array of image objects')
    .action(async (o: { store?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const { images: listed, damaged } = await store.listImages();
      const images = [...listed].sort((a, b) => b.completedAt.localeCompare(a.completedAt) || (a.id < b.id ? 1 : -1)); // newest first, as `images list`
      // A damaged image is listed as such (never left out, never "no images") and makes the command fail.
      const failed = () => {
        if (damaged.length === 0) return;
        for (const d of damaged) process.stderr.write(`lifeboat: image ${d.id} is damaged: ${escapeForTerminal(d.error)}\n`);
        throw integrityError(`${damaged.length} image(s) of ${store.root} failed certification: remove the damaged one (\`lifeboat local rm <id>\`) or restore an older image of that disk`);
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify([...images.map(summarize), ...damaged.map((d) => ({ id: d.id, damaged: true, error: d.error }))], null, 2)}\n`);
        return failed();
      }
      if (images.length === 0 && damaged.length === 0) {
        process.stdout.write(`no images in ${escapeForTerminal(store.root)}\n`);
        return;
      }
      const rows = images.map((m) => [m.id, when(m.completedAt), formatBytes(m.diskSize), formatBytes(m.stats.storedBytesNew), m.parent ? 'incr' : 'full', m.source.path, m.label ?? '']);
      rows.push(...damaged.map((d) => [d.id, 'DAMAGED', '-', '-', '-', '-', 'fails certification (see below)']));
      const head = ['ID', 'COMPLETED', 'DISK', 'NEW STORED', 'KIND', 'SOURCE', 'LABEL'];
      process.stdout.write(`${table(rows, head)}\n`);
      failed();
    });

  image
    .command('show')
    .description('one image in words: source, figures, certification, partition layout (--json: the manifest)')
    .argument('<image-id>', 'image to show')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'the whole manifest as JSON')
    .action(async (imageId: string, o: { store?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const m = await store.readManifest(imageId);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${manifestText(m)}\n`);
    });
}
