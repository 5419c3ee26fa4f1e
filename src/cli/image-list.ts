// lifeboat image list --store <dir> [--json]  and  lifeboat image show <id> [--json]
import type { Command } from 'commander';
import { formatBytes } from '../imaging/disk.js';
import { Store } from '../imaging/repo/store.js';
import { integrityError } from '../errors.js';
import { escapeForTerminal } from '../text.js';
import { table } from './client-common.js';
import { storeDir, summarize } from './common.js';

export function register(image: Command): void {
  image
    .command('list')
    .description('list the committed images of a store, oldest first; damaged ones too (then it exits 1)')
    .option('--store <dir>', 'image store directory')
    .option('--json', 'a JSON array of image objects')
    .action(async (o: { store?: string; json?: boolean }) => {
      const store = await Store.open(storeDir(o.store));
      const { images, damaged } = await store.listImages();
      // A damaged image is listed as such (never left out, never "no images") and makes the command fail.
      const failed = () => {
        if (damaged.length === 0) return;
        for (const d of damaged) process.stderr.write(`lifeboat: image ${d.id} is damaged: ${escapeForTerminal(d.error)}\n`);
        throw integrityError(`${damaged.length} image(s) of ${store.root} failed certification: remove the damaged one (\`lifeboat image rm <id>\`) or restore an older image of that disk`);
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify([...images.map(summarize), ...damaged.map((d) => ({ id: d.id, damaged: true, error: d.error }))], null, 2)}\n`);
        return failed();
      }
      if (images.length === 0 && damaged.length === 0) {
        process.stdout.write(`no images in ${escapeForTerminal(store.root)}\n`);
        return;
      }
      const rows = images.map((m) => [m.id, m.completedAt.replace('T', ' ').slice(0, 19), formatBytes(m.diskSize), formatBytes(m.stats.storedBytesNew), m.parent ? 'incr' : 'full', m.source.path, m.label ?? '']);
      rows.push(...damaged.map((d) => [d.id, 'DAMAGED', '-', '-', '-', '-', 'fails certification (see below)']));
      const head = ['ID', 'COMPLETED (UTC)', 'DISK', 'NEW STORED', 'KIND', 'SOURCE', 'LABEL'];
      process.stdout.write(`${table(rows, head)}\n`);
      failed();
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
        `image        ${m.id}${m.label ? `  (${escapeForTerminal(m.label)})` : ''}`,
        `source       ${escapeForTerminal(m.source.path)} (${m.source.kind}${m.source.model ? `, ${escapeForTerminal(m.source.model)}` : ''}${m.source.serial ? `, serial ${escapeForTerminal(m.source.serial)}` : ''}), ${formatBytes(m.diskSize)}, ${m.source.logicalSectorSize}-byte sectors`,
        `taken        ${m.createdAt} .. ${m.completedAt} on ${escapeForTerminal(m.host)}`,
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
