// Which file a network-booting client gets, from what it says it is (option 93, the iPXE
// user class) and the loader its machine is set to. Pure and table-tested.
//
//   client                 loader                      boot file
//   iPXE (user class)      any                         the HTTP script URL
//   BIOS (arch 0, or none) any                         undionly.kpxe
//   x64 UEFI (7, 9)        auto | signed               shimx64.efi (Secure Boot chain)
//                          ipxe                        snponly.efi
//                          ipxe-full                   ipxe.efi
//   anything else          —                           none (said why)
import { ARCHITECTURE } from './options.js';

export const LOADERS = ['auto', 'ipxe', 'ipxe-full', 'signed'] as const;
export type Loader = (typeof LOADERS)[number];

export const BOOT_FILES = {
  bios: 'undionly.kpxe',
  signed: 'shimx64.efi',
  snponly: 'snponly.efi',
  ipxeFull: 'ipxe.efi',
} as const;

export interface BootClient {
  /** Option 93 values (empty when the client sent none). */
  architectures: number[];
  /** The client is iPXE already (user class "iPXE"). */
  ipxe: boolean;
}

export type BootFileChoice =
  | { file: string; firmware: 'bios' | 'uefi' | 'ipxe'; via: 'tftp' | 'http' }
  | { file: null; reason: string };

/** `http://<server>:<port>/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}`: iPXE expands the settings (platform: pcbios or efi, for the way to the local disk). */
export function ipxeScriptUrl(server: string, httpPort: number): string {
  const host = httpPort === 80 ? server : `${server}:${httpPort}`;
  return `http://${host}/boot/ipxe?mac=\${net0/mac}&uuid=\${uuid}&platform=\${platform}`;
}

const X64_UEFI: readonly number[] = [ARCHITECTURE.efiX64, ARCHITECTURE.efiBc];

export function chooseBootFile(client: BootClient, loader: Loader, scriptUrl: string): BootFileChoice {
  if (client.ipxe) return { file: scriptUrl, firmware: 'ipxe', via: 'http' };
  const arch = client.architectures;
  // PXE 2.1 ROMs older than RFC 4578 send no option 93: they are BIOS.
  if (arch.length === 0 || arch.includes(ARCHITECTURE.biosX86)) return { file: BOOT_FILES.bios, firmware: 'bios', via: 'tftp' };
  if (arch.some((a) => X64_UEFI.includes(a))) {
    switch (loader) {
      case 'auto':
      case 'signed':
        return { file: BOOT_FILES.signed, firmware: 'uefi', via: 'tftp' };
      case 'ipxe':
        return { file: BOOT_FILES.snponly, firmware: 'uefi', via: 'tftp' };
      case 'ipxe-full':
        return { file: BOOT_FILES.ipxeFull, firmware: 'uefi', via: 'tftp' };
    }
  }
  const names: Record<number, string> = {
    [ARCHITECTURE.efiIa32]: '32-bit x86 UEFI',
    [ARCHITECTURE.efiArm64]: 'ARM64 UEFI',
    [ARCHITECTURE.efiX64Http]: 'x64 UEFI HTTP boot',
    [ARCHITECTURE.efiArm64Http]: 'ARM64 UEFI HTTP boot',
  };
  const said = arch.map((a) => names[a] ?? `architecture ${a}`).join(', ');
  return { file: null, reason: `client architecture ${said} is not one Lifeboat boots (BIOS and x64 UEFI PXE are)` };
}

export function isLoader(value: unknown): value is Loader {
  return typeof value === 'string' && (LOADERS as readonly string[]).includes(value);
}
