// The loaders' scripts, rendered from a boot decision: an iPXE script (served over HTTP to
// iPXE) and GRUB configs (served over TFTP to Debian's signed GRUB, for Secure Boot).
// Pure: a decision and where the boot OS lives in, text out.
//
// Everything interpolated into a script is checked against a small character set first:
// iPXE expands `${…}` and splits commands on `||`/`&&`, GRUB expands `$…` and quotes, so a
// kernel argument or a name from the database must never carry syntax into the script.
import type { BootAction, Firmware } from './decision.js';

/** Where the boot OS lives in the boot root, and its kernel command line. */
export interface BootOsFiles {
  /** Paths inside the boot root, e.g. `bootos/vmlinuz`. */
  kernel: string;
  initrd: string;
  /** Kernel arguments (the boot parameters); `initrd=` is added for EFI-stub boots. */
  cmdline: readonly string[];
}

const SAFE_ARG = /^[A-Za-z0-9._:/=,+@%~-]+$/;
const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

function checkArgs(args: readonly string[]): string {
  for (const a of args) if (!SAFE_ARG.test(a)) throw new RangeError(`kernel argument ${JSON.stringify(a)} has characters a boot script cannot carry safely`);
  return args.join(' ');
}

function checkPath(path: string): string {
  if (!SAFE_PATH.test(path) || path.split('/').includes('..') || path.startsWith('/')) throw new RangeError(`boot file path ${JSON.stringify(path)} is not a plain relative path`);
  return path;
}

/** A name or reason for an `echo`: printable ASCII without script syntax. */
function echoText(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._:,()-]/g, '_').slice(0, 120);
}

function initrdName(files: BootOsFiles): string {
  return checkPath(files.initrd).split('/').pop() as string;
}

function describe(action: Extract<BootAction, { kind: 'boot-os' }>): string {
  return action.mode === 'job' ? `${action.jobType} job ${action.jobId} for ${action.machine}` : 'inventory (new machine)';
}

/**
 * The iPXE script for one boot. `httpBase` is the appliance's HTTP boot URL (e.g.
 * `http://10.0.0.1`); files are fetched from `<httpBase>/boot/files/<path>`.
 */
export function renderIpxeScript(action: BootAction, firmware: Firmware, httpBase: string, files: BootOsFiles): string {
  if (!/^http:\/\/[A-Za-z0-9.:[\]-]+$/.test(httpBase)) throw new RangeError(`HTTP boot base ${JSON.stringify(httpBase)} is not http://host[:port]`);
  const lines = ['#!ipxe'];
  if (action.kind === 'local-disk') {
    lines.push(`echo Lifeboat: ${echoText(action.reason)}: booting the local disk`);
    if (action.how === 'sanboot' && firmware === 'bios') {
      lines.push('sanboot --no-describe --drive 0x80 || goto failed', ':failed', 'echo Lifeboat: the local disk did not boot', 'exit 1');
    } else lines.push('exit');
    return `${lines.join('\n')}\n`;
  }
  const name = initrdName(files);
  const args = checkArgs([`initrd=${name}`, ...files.cmdline]);
  lines.push(
    `echo Lifeboat: starting the boot OS: ${echoText(describe(action))}`,
    `kernel ${httpBase}/boot/files/${checkPath(files.kernel)} ${args} || goto failed`,
    `initrd --name ${name} ${httpBase}/boot/files/${checkPath(files.initrd)} || goto failed`,
    'boot || goto failed',
    ':failed',
    'echo Lifeboat: the boot OS could not be loaded from the appliance: check its boot services (lifeboat serve) and the network',
    'sleep 30',
    'exit 1',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * GRUB's `$prefix/grub.cfg` (the same for every machine): it sources the per-machine file
 * the TFTP server renders, `mac/<mac>.cfg`. Over TFTP `[ -e file ]` is always false and a
 * missing file is skipped silently, so the per-machine file sets a variable and this
 * checks it.
 */
export function renderGrubMain(): string {
  return [
    'set timeout=0',
    'set lifeboat_config=',
    'source $prefix/mac/${net_default_mac}.cfg',
    'if [ -z "$lifeboat_config" ]; then',
    '  echo "Lifeboat: the appliance gave no boot configuration for ${net_default_mac}; booting the next device"',
    '  sleep 5',
    '  exit',
    'fi',
    '',
  ].join('\n');
}

/** GRUB's per-machine config: the boot OS over TFTP (Secure Boot allows no HTTP), or the local disk. */
export function renderGrubMachine(action: BootAction, files: BootOsFiles): string {
  const lines = ['set lifeboat_config=1'];
  if (action.kind === 'local-disk') {
    lines.push(`echo "Lifeboat: ${echoText(action.reason)}: booting the local disk"`, 'exit');
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    `echo "Lifeboat: starting the boot OS: ${echoText(describe(action))}"`,
    `linux /${checkPath(files.kernel)} ${checkArgs(files.cmdline)}`,
    `initrd /${checkPath(files.initrd)}`,
    'boot',
  );
  return `${lines.join('\n')}\n`;
}
