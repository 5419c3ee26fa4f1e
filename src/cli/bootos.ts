// lifeboat bootos build [--data-dir <dir>] [--kernels <dir>] [--node <file>] [--cache <dir>] [--compress zstd|xz] [--level <n>] [--json]
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { join } from 'node:path';
import { buildBootOs } from '../bootos/build.js';
import { installLoaders } from '../boot/loaders.js';
import { formatBytes } from '../format.js';
import type { CompressionKind } from '../bootos/initramfs.js';

export const DEFAULT_DATA_DIR = '/var/lib/lifeboat';

export function register(program: Command): void {
  const bootos = program.command('bootos').description('the boot OS client computers boot into');
  bootos
    .command('build')
    .description('write the boot OS (kernel + initramfs) into <data-dir>/boot/lifeboat/ and the network loaders into <data-dir>/boot/')
    .option('--data-dir <dir>', 'the appliance data directory', process.env.LIFEBOAT_DATA_DIR ?? DEFAULT_DATA_DIR)
    .option('--kernels <dir>', 'kernel set made by `make kernels` (default: var/kernels/current)')
    .option('--node <file>', 'Node 24 executable to ship (default: var/node24/node/bin/node)')
    .option('--agent <file>', 'agent bundle, its chunk-worker.cjs beside it (default: dist/agent/agent.cjs)')
    .option('--cache <dir>', 'keeps the compressed Node runtime archive between builds (default: <data-dir>/cache/bootos)')
    .option('--compress <kind>', 'zstd or xz', 'zstd')
    .option('--level <n>', 'compression level (zstd 1-19, xz 0-9)')
    .option('--json', 'the report as JSON')
    .action(async (o: { dataDir: string; kernels?: string; node?: string; agent?: string; cache?: string; compress: string; level?: string; json?: boolean }) => {
      if (o.compress !== 'zstd' && o.compress !== 'xz') throw usageError(`--compress ${o.compress}: use zstd or xz`);
      const kind = o.compress as CompressionKind;
      const level = o.level === undefined ? (kind === 'zstd' ? 19 : 9) : Number(o.level);
      if (!Number.isInteger(level)) throw usageError(`--level ${o.level} is not a whole number`);
      const r = await buildBootOs({ dataDir: o.dataDir, kernelsDir: o.kernels, nodePath: o.node, agentPath: o.agent, cacheDir: o.cache, compression: { kind, level } });
      // The network loaders beside it (iPXE, shim, signed GRUB), from Debian's packages.
      const loaders = await installLoaders(join(o.dataDir, 'boot'));
      if (o.json) process.stdout.write(`${JSON.stringify({ ...r, loaders })}\n`);
      else
        process.stdout.write(
          `boot OS in ${r.dir}: kernel ${r.kernelVersion} (${formatBytes(r.vmlinuz.bytes)}), initrd.img ${formatBytes(r.initrd.bytes)} ${kind} -${level} ` +
            `(Node ${r.node}, ${r.modules} modules; ${r.segments.map((s) => `${s.name} ${formatBytes(s.rawBytes)}→${formatBytes(s.bytes)}${s.cached ? ' cached' : ''}`).join(', ')}) in ${r.seconds.toFixed(1)} s\n` +
            `initrd.img sha256 ${r.initrd.sha256}\n` +
            `loaders: ${loaders.map((l) => l.name).join(', ')}\n`,
        );
    });
}
