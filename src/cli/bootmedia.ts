// lifeboat bootmedia --out <file.iso|/dev/sdX> [--machine <name>] [--server <url>] [--fingerprint <sha256>]
//   [--ip <addr/prefix> [--gw <addr>] [--dns <a,b>]] [--debug] [--data-dir <dir>] [--efi <dir>] [--yes]
// lifeboat bootmedia list | revoke <id>
// The daemon makes a medium's token (it owns tokens: one machine's, or registration without
// --machine); --token writes a medium by hand without the daemon. A medium that could not be
// written is revoked again.
import { join } from 'node:path';
import type { Command } from 'commander';
import { LifeboatError, usageError } from '../errors.js';
import { writeBootMedia } from '../bootos/boot-media.js';
import { BOOT_SUBDIR, ROOT } from '../bootos/build.js';
import type { BootParams } from '../bootos/params.js';
import { formatBytes } from '../format.js';
import { shown } from '../text.js';
import { DEFAULT_DATA_DIR } from './bootos.js';
import { client, table } from './client-common.js';
import { checkMediumTarget, isBlockDevice, writeMediumToDevice } from '../bootos/medium-device.js';
import type { CommandContext } from './context.js';

interface Options {
  out?: string;
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
  yes?: boolean;
  socket?: string;
  json?: boolean;
}

export function register(program: Command, ctx: CommandContext): void {
  const media = program
    .command('bootmedia')
    .description('write a boot medium: a hybrid ISO (CD or USB; BIOS and UEFI with Secure Boot) with its parameters embedded, to a file or a whole USB disk')
    .option('--out <file.iso|/dev/sdX>', 'an ISO file to write, or a whole USB disk (after a typed confirmation, or --yes)')
    .option('--machine <name>', 'a medium for this machine: it gets its waiting job when it boots from it (without: a registration medium, which adds whatever boots it)')
    .option('--server <url>', "the agent URL the medium reaches (default: the daemon's own boot interface), e.g. https://lifeboat.example.org:8443")
    .option('--fingerprint <sha256>', "SHA-256 of the appliance's TLS certificate (required for https)")
    .option('--token <token>', 'write this token by hand instead of asking the daemon for one (then --server is required)')
    .option('--ip <addr/prefix>', 'static address instead of DHCP')
    .option('--gw <addr>', 'default gateway (with --ip)')
    .option('--dns <servers>', 'comma-separated DNS servers (with --ip)')
    .option('--debug', 'a shell on the console if the boot fails')
    .option('--yes', 'with a disk as --out: overwrite it without asking')
    .option('--data-dir <dir>', 'the appliance data directory (its boot/lifeboat/ holds the boot OS)', process.env.LIFEBOAT_DATA_DIR ?? DEFAULT_DATA_DIR)
    .option('--efi <dir>', 'signed shim and GRUB from `make kernels` (default: var/kernels/efi)')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: Options) => {
      if (o.out === undefined) throw usageError('say where the medium goes: --out <file.iso> or --out /dev/sdX (a whole USB disk)');
      const toDevice = isBlockDevice(o.out);
      if (toDevice) checkMediumTarget(o.out, o.dataDir); // refused before a token is made (and checked again before writing)
      const base = { network: o.ip === undefined ? null : { address: o.ip, gateway: o.gw ?? null, dns: (o.dns ?? '').split(',').filter((d) => d !== '') }, debug: o.debug === true };
      let params: BootParams;
      let made: { id: string; what: string } | null = null;
      if (o.token !== undefined) {
        if (o.machine !== undefined) throw usageError('--token writes a token by hand; --machine asks the daemon for one: give one of them');
        if (o.server === undefined) throw usageError('with --token, give --server <url> (and --fingerprint for https)');
        params = { url: o.server, token: o.token, fingerprint: o.fingerprint ?? null, ...base };
      } else {
        const r = await client(o.socket).createMedium({ ...(o.machine !== undefined ? { machine: o.machine } : {}), ...(o.server !== undefined ? { server: o.server } : {}) });
        params = { url: r.params.url, token: r.params.token, fingerprint: o.fingerprint ?? r.params.fingerprint, ...base, ...(r.params.retrySeconds !== undefined ? { retrySeconds: r.params.retrySeconds } : {}) };
        made = { id: r.medium.id, what: r.medium.scope === 'machine' ? `machine ${r.medium.machine ?? o.machine}` : 'registration (adds the machine that boots it)' };
      }
      try {
        const options = { bootDir: join(o.dataDir, 'boot', BOOT_SUBDIR), efiDir: o.efi ?? join(ROOT, 'var/kernels/efi'), params };
        const r = toDevice ? await writeMediumToDevice(o.out, options, { yes: o.yes === true, confirm: (q) => ctx.confirm(q), interactive: process.stdin.isTTY === true, dataDir: o.dataDir }) : writeBootMedia({ ...options, out: o.out });
        process.stdout.write(`boot medium ${o.out}: ${formatBytes(r.bytes)}, sha256 ${r.sha256}${toDevice ? ', read back and compared' : ''}\n`);
        if (made) process.stdout.write(`medium ${made.id}: ${made.what}, reaching ${params.url}; revoke it with \`lifeboat bootmedia revoke ${made.id}\`\n`);
      } catch (err) {
        // Nothing usable was written: its token goes again.
        if (made) await client(o.socket).revokeMedium(made.id).catch(() => null);
        if (made && err instanceof LifeboatError) throw new LifeboatError(err.kind, `${err.message} (medium ${made.id} was revoked again)`);
        throw err;
      }
    });
  media
    .command('list')
    .description('the boot media the daemon made: scope, machine, server, when made, last used, revoked')
    .option('--json', 'a JSON array')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }, cmd: Command) => {
      // --socket after the subcommand may land on `bootmedia` itself (it has one too)
      const list = await client((cmd.optsWithGlobals() as { socket?: string }).socket).media();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) process.stdout.write('no boot media: make one with `lifeboat bootmedia --out <file.iso> [--machine <name>]`\n');
      else process.stdout.write(`${table(list.map((m) => [m.id, m.scope === 'machine' ? `machine ${m.machine ?? m.machineId ?? '?'}` : 'registration', m.server, m.createdAt, m.lastUsedAt ?? 'never', m.revokedAt ? `revoked ${m.revokedAt}` : 'valid']), ['ID', 'FOR', 'SERVER', 'MADE', 'LAST USED', 'STATE'])}\n`);
    });
  media
    .command('revoke')
    .description("refuse a boot medium's token from now on (a lost or retired stick)")
    .argument('<id>', 'medium id (see `lifeboat bootmedia list`)')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, _o: { socket?: string }, cmd: Command) => {
      const m = await client((cmd.optsWithGlobals() as { socket?: string }).socket).revokeMedium(id);
      process.stdout.write(`revoked boot medium ${shown(m.id)} (${m.scope === 'machine' ? `machine ${shown(m.machine ?? m.machineId ?? '?')}` : 'registration'}): machines booting it are refused\n`);
    });
}
