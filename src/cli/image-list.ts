// lifeboat image list --store <dir> [--json]  and  lifeboat image show <id> [--json]
import type { Command } from 'commander';
import { formatBytes } from '../format.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { storeDir, summarize } from './common.js';
import { manifestText } from './image-text.js';

export function register(image: Command): void {
  image
    .command('list')
    .description('list the committed images of a store, newest first')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'a JSON array of image objects')
    .action(async (o: { store?: string; json?: boolean }) => {
      const store = await ImageStore.open(storeDir(o.store));
      const { images: listed, damaged } = await store.listImages();
      const images = [...listed].sort((a, b) => b.completedAt.localeCompare(a.completedAt) || (a.id < b.id ? 1 : -1)); // newest first, as `images list`
      for (const d of damaged) process.stderr.write(`warning: ${d.error}\n`);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(images.map(summarize), null, 2)}\n`);
        return;
      }
      if (images.length === 0) {
        process.stdout.write(`no images in ${store.root}\n`);
        return;
      }
      const rows = images.map((m) => [m.id, m.completedAt.replace('T', ' ').slice(0, 19), formatBytes(m.diskSize), formatBytes(m.stats.storedBytesNew), m.parent ? 'incr' : 'full', m.source.path, m.label ?? '']);
      const head = ['ID', 'COMPLETED (UTC)', 'DISK', 'NEW STORED', 'KIND', 'SOURCE', 'LABEL'];
      const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
      for (const r of [head, ...rows]) process.stdout.write(`${r.map((v, c) => v.padEnd(widths[c] ?? 0)).join('  ').trimEnd()}\n`);
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
