// The writing part for boot media: a hybrid ISO image (a CD, or written to a USB stick as
// is) that boots the boot OS with this machine's parameters embedded in the initramfs, so it
// needs no DHCP option:
//   BIOS: El Torito + isohybrid MBR → ISOLINUX → vmlinuz + initrd.img
//   UEFI (Secure Boot on or off): El Torito EFI image / GPT EFI partition holding
//     EFI/BOOT/BOOTX64.EFI = shim (Microsoft-signed) → grubx64.efi = Debian's signed GRUB for
//     removable media (gcdx64) → /boot/grub/grub.cfg → Debian's signed kernel
// Built with mkfs.vfat + mtools (the EFI image) and xorriso (the ISO). The configs are pure.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalError, integrityError, userError } from '../errors.js';
import { withParams } from './initramfs.js';
import { type BootParams, DEFAULT_CONSOLES, validateParams } from './params.js';

export const VOLUME_ID = 'LIFEBOAT';
const ISOLINUX = '/usr/lib/ISOLINUX';
const SYSLINUX_BIOS = '/usr/lib/syslinux/modules/bios';

const consoleArgs = (consoles: readonly string[]) => consoles.map((c) => `console=${c}`).join(' ');

export function grubConfig(consoles: readonly string[] = DEFAULT_CONSOLES): string {
  return [
    'set timeout=0',
    'set default=0',
    'serial --unit=0 --speed=115200',
    'terminal_output console serial',
    'menuentry "Lifeboat boot OS" {',
    `  linux /lifeboat/vmlinuz ${consoleArgs(consoles)}`,
    '  initrd /lifeboat/initrd.img',
    '}',
    '',
  ].join('\n');
}

export function isolinuxConfig(consoles: readonly string[] = DEFAULT_CONSOLES): string {
  return ['serial 0 115200', 'default lifeboat', 'prompt 0', 'timeout 0', 'label lifeboat', '  kernel /lifeboat/vmlinuz', `  append initrd=/lifeboat/initrd.img ${consoleArgs(consoles)}`, ''].join('\n');
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw userError(`${cmd} cannot be run (${r.error.message}): make apt installs xorriso, mtools, dosfstools, isolinux`);
  if (r.status !== 0) throw externalError(`${cmd} ${args.join(' ')}`, r.stderr, r.status);
}

export interface BootMediaOptions {
  /** <data-dir>/boot/lifeboat: vmlinuz and initrd.img written by buildBootOs */
  bootDir: string;
  /** var/kernels/efi: shimx64.efi, gcdx64.efi and manifest.json (kernels/efi.sh) */
  efiDir: string;
  params: BootParams;
  out: string;
}

export function writeBootMedia(o: BootMediaOptions): { bytes: number; sha256: string } {
  const params = validateParams(o.params);
  const efiManifest = (() => {
    try {
      return JSON.parse(readFileSync(join(o.efiDir, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    } catch {
      throw userError(`${o.efiDir}/manifest.json is missing: run \`make kernels\` (it fetches Debian's signed shim and GRUB)`);
    }
  })();
  const efi: Record<string, Buffer> = {};
  for (const name of ['shimx64.efi', 'gcdx64.efi']) {
    const data = readFileSync(join(o.efiDir, name));
    if (createHash('sha256').update(data).digest('hex') !== efiManifest.files[name]) throw integrityError(`${o.efiDir}/${name} does not match its SHA-256 in manifest.json: run \`make kernels\` again`);
    efi[name] = data;
  }
  let vmlinuz: Buffer;
  let initrd: Buffer;
  try {
    vmlinuz = readFileSync(join(o.bootDir, 'vmlinuz'));
    initrd = readFileSync(join(o.bootDir, 'initrd.img'));
  } catch {
    throw userError(`${o.bootDir} holds no boot OS: run \`lifeboat bootos build\` first`);
  }
  const stage = mkdtempSync(join(tmpdir(), 'lifeboat-media-'));
  try {
    const tree = join(stage, 'tree');
    for (const d of ['.disk', 'boot/grub', 'lifeboat', 'isolinux']) mkdirSync(join(tree, d), { recursive: true });
    writeFileSync(join(tree, '.disk/info'), 'Lifeboat boot medium\n'); // what Debian's removable-media GRUB searches for
    writeFileSync(join(tree, 'boot/grub/grub.cfg'), grubConfig());
    writeFileSync(join(tree, 'lifeboat/vmlinuz'), vmlinuz);
    writeFileSync(join(tree, 'lifeboat/initrd.img'), withParams(initrd, params));
    copyFileSync(join(ISOLINUX, 'isolinux.bin'), join(tree, 'isolinux/isolinux.bin'));
    copyFileSync(join(SYSLINUX_BIOS, 'ldlinux.c32'), join(tree, 'isolinux/ldlinux.c32'));
    writeFileSync(join(tree, 'isolinux/isolinux.cfg'), isolinuxConfig());
    // The EFI system partition image: shim as the removable-media default loader, GRUB beside it.
    const img = join(tree, 'boot/grub/efi.img');
    writeFileSync(img, Buffer.alloc(0));
    const size = Math.ceil((efi['shimx64.efi']!.length + efi['gcdx64.efi']!.length) / 1024 / 1024) + 2;
    run('truncate', ['-s', `${size}M`, img]);
    run('mkfs.vfat', ['-n', 'LIFEBOAT', '-i', '4c424f41', img]);
    writeFileSync(join(stage, 'BOOTX64.EFI'), efi['shimx64.efi']!);
    writeFileSync(join(stage, 'grubx64.efi'), efi['gcdx64.efi']!);
    run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT']);
    run('mcopy', ['-i', img, join(stage, 'BOOTX64.EFI'), join(stage, 'grubx64.efi'), '::/EFI/BOOT/']);
    run('xorriso', [
      '-as', 'mkisofs', '-quiet', '-o', o.out, '-r', '-J', '-V', VOLUME_ID,
      '-isohybrid-mbr', join(ISOLINUX, 'isohdpfx.bin'),
      '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
      '-eltorito-alt-boot', '-e', 'boot/grub/efi.img', '-no-emul-boot', '-isohybrid-gpt-basdat',
      tree,
    ]);
    const iso = readFileSync(o.out);
    return { bytes: iso.length, sha256: createHash('sha256').update(iso).digest('hex') };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
