// lifeboat bootmedia --out <file.iso> --server <url> --token <token> [--fingerprint <sha256>]
//   [--ip <addr/prefix> [--gw <addr>] [--dns <a,b>]] [--debug] [--data-dir <dir>] [--efi <dir>]
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { writeBootMedia } from '../bootos/boot-media.js';
import { BOOT_SUBDIR, ROOT } from '../bootos/build.js';
import { formatBytes } from '../format.js';
import { DEFAULT_DATA_DIR } from './bootos.js';

interface Options {
  out: string;
  server?: string;
  token?: string;
  fingerprint?: string;
  ip?: string;
  gw?: string;
  dns?: string;
  debug?: boolean;
  dataDir: string;
  efi?: string;
  machine?: string;
}

export function register(program: Command): void {
  program
    .command('bootmedia')
    .description('write a hybrid ISO (CD or USB; BIOS and UEFI with Secure Boot) that boots the boot OS with its parameters embedded')
    .requiredOption('--out <file.iso>', 'the image to write (copy it to a USB stick with dd, or burn it)')
    .option('--server <url>', "the appliance's agent URL, e.g. https://192.168.1.10:8443")
    .option('--token <token>', 'the job token the agent presents')
    .option('--fingerprint <sha256>', "SHA-256 of the appliance's TLS certificate (required for https)")
    .option('--ip <addr/prefix>', 'static address instead of DHCP')
    .option('--gw <addr>', 'default gateway (with --ip)')
    .option('--dns <servers>', 'comma-separated DNS servers (with --ip)')
    .option('--debug', 'a shell on the console if the boot fails')
    .option('--machine <name>', 'take URL, token and fingerprint from the daemon (not yet: comes with the agent API)')
    .option('--data-dir <dir>', 'the appliance data directory (its boot/lifeboat/ holds the boot OS)', process.env.LIFEBOAT_DATA_DIR ?? DEFAULT_DATA_DIR)
    .option('--efi <dir>', 'signed shim and GRUB from `make kernels` (default: var/kernels/efi)')
    .action((o: Options) => {
      if (o.machine !== undefined) throw usageError('--machine needs the agent API of the daemon, which is not there yet: give --server, --token and --fingerprint');
      if (o.server === undefined || o.token === undefined) throw usageError('give --server <url> and --token <token> (and --fingerprint for https)');
      let isBlock = false;
      try {
        isBlock = statSync(o.out).isBlockDevice();
      } catch {
        // a new file
      }
      if (isBlock) throw usageError(`${o.out} is a block device: write the image to a file, then copy it to the stick (dd if=<file.iso> of=${o.out} bs=4M conv=fsync)`);
      const r = writeBootMedia({
        bootDir: join(o.dataDir, 'boot', BOOT_SUBDIR),
        efiDir: o.efi ?? join(ROOT, 'var/kernels/efi'),
        out: o.out,
        params: {
          url: o.server,
          token: o.token,
          fingerprint: o.fingerprint ?? null,
          network: o.ip === undefined ? null : { address: o.ip, gateway: o.gw ?? null, dns: (o.dns ?? '').split(',').filter((d) => d !== '') },
          debug: o.debug === true,
        },
      });
      process.stdout.write(`boot medium ${o.out}: ${formatBytes(r.bytes)}, sha256 ${r.sha256}\n`);
    });
}
