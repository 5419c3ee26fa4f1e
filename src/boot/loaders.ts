// The network boot loaders, copied from Debian's packages into the boot root at install
// time (nothing binary is committed): iPXE for BIOS (`undionly.kpxe`) and UEFI without
// Secure Boot (`snponly.efi`, `ipxe.efi`), and Debian's signed chain for UEFI with Secure
// Boot: `shimx64.efi` (signed by Microsoft's UEFI CA) loads `grubx64.efi` from the same
// TFTP directory (Debian's signed netboot GRUB, whose prefix is `(tftp,<next-server>)/grub`).
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { userError } from '../errors.js';

export interface Loader {
  /** File name in the boot root, as DHCP hands it out. */
  name: string;
  /** Where Debian's package puts it. */
  source: string;
  /** The Debian package (`make apt` installs it). */
  debianPackage: string;
}

export const LOADERS: readonly Loader[] = [
  { name: 'undionly.kpxe', source: '/usr/lib/ipxe/undionly.kpxe', debianPackage: 'ipxe' },
  { name: 'snponly.efi', source: '/usr/lib/ipxe/snponly.efi', debianPackage: 'ipxe' },
  { name: 'ipxe.efi', source: '/usr/lib/ipxe/ipxe.efi', debianPackage: 'ipxe' },
  { name: 'shimx64.efi', source: '/usr/lib/shim/shimx64.efi.signed', debianPackage: 'shim-signed' },
  { name: 'grubx64.efi', source: '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed', debianPackage: 'grub-efi-amd64-signed' },
];

export interface InstalledLoader {
  name: string;
  sha256: string;
  bytes: number;
}

/**
 * Copies every loader into `bootRoot` (atomically: a temp name, then rename), returning
 * what was installed. A missing source is a user error naming the package to install.
 */
export async function installLoaders(bootRoot: string, loaders: readonly Loader[] = LOADERS): Promise<InstalledLoader[]> {
  await mkdir(bootRoot, { recursive: true, mode: 0o755 });
  const installed: InstalledLoader[] = [];
  for (const loader of loaders) {
    let bytes: Buffer;
    try {
      bytes = await readFile(loader.source);
    } catch {
      throw userError(`boot loader ${loader.name} is missing: ${loader.source} comes with the Debian package ${loader.debianPackage} (apt-get install ${loader.debianPackage}, or make apt)`);
    }
    const target = join(bootRoot, loader.name);
    const temp = `${target}.tmp-${process.pid}`;
    await copyFile(loader.source, temp, constants.COPYFILE_FICLONE);
    await rename(temp, target);
    installed.push({ name: loader.name, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  }
  return installed;
}
