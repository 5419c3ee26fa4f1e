// lifeboat image list --store <dir> [--json]  and  lifeboat image show <id> [--json]
import type { Command } from 'commander';
import { formatBytes } from '../imaging/disk.js';
import { Store } from '../imaging/repo/store.js';
import { storeDir, summarize } from './common.js';

export function register(image: Command): void {
  image
    .command('list')
    .description('list the committed images of a store, oldest first')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'a JSON array of image objects')
    .action(async (o: { store?: string; json?: boolean }) => {
      const store = await Store.open(storeDir(o.store));
      const { images, damaged } = await store.listImages();
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
    .description('show one image: source, layout, stats, certification')
    .argument('<image-id>', 'image to show')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'the whole manifest as JSON')
    .action(async (imageId: string, o: { store?: string; json?: boolean }) => {
      const store = await Store.open(storeDir(o.store));
      const m = await store.readManifest(imageId);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const s = m.stats;
      const lines = [
        `image        ${m.id}${m.label ? `  (${m.label})` : ''}`,
        `source       ${m.source.path} (${m.source.kind}${m.source.model ? `, ${m.source.model}` : ''}${m.source.serial ? `, serial ${m.source.serial}` : ''}), ${formatBytes(m.diskSize)}, ${m.source.logicalSectorSize}-byte sectors`,
        `taken        ${m.createdAt} .. ${m.completedAt} on ${m.host}`,
        `parent       ${m.parent ?? '(none: full image)'}`,
        `chunks       ${m.chunkCount} x ${formatBytes(m.chunkSize)}: ${s.chunksNew} new, ${s.chunksReused} reused, ${s.chunksZero} zero`,
        `data         ${formatBytes(s.bytesNew)} new -> ${formatBytes(s.storedBytesNew)} stored (lz4 ${s.compressionRatio.toFixed(2)}x), ${formatBytes(s.bytesReused)} reused, ${formatBytes(s.bytesZero)} zero`,
        `read         ${formatBytes(s.bytesRead)}${s.bytesHashed !== undefined ? `, ${formatBytes(s.bytesHashed)} of it SHA-256'd (the rest known by fingerprint or zero)` : ''}`,
        `content      sha256-of-chunk-sha256 ${m.content.sha256}`,
        `fingerprints ${m.fingerprints ? `${m.fingerprints.alg}, lineage ${m.fingerprints.salt.slice(0, 8)}` : '(none: made before fingerprints)'}`,
        `certified    ${m.certification.alg} by store key ${m.certification.keyId}${m.passphrase ? ', restore passphrase required' : ''}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
