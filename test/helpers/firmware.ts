// The firmware a QEMU lab machine starts with, one name each, the same for every lab test:
//   bios     SeaBIOS (QEMU's default; a NIC's iPXE option ROM network-boots it)
//   uefi     OVMF without Secure Boot (OVMF_CODE_4M.fd + a copy of OVMF_VARS_4M.fd)
//   uefi-sb  OVMF with Secure Boot on and Microsoft's keys enrolled (OVMF_CODE_4M.secboot.fd +
//            a copy of OVMF_VARS_4M.ms.fd, q35 with SMM, the flash locked to SMM)
// Each UEFI machine gets its own copy of the variable store (the firmware writes to it).
import { copyFileSync } from 'node:fs';

export const OVMF = '/usr/share/OVMF';
export type FirmwareKind = 'bios' | 'uefi' | 'uefi-sb';
export const FIRMWARES: readonly FirmwareKind[] = ['bios', 'uefi', 'uefi-sb'];

/** QEMU arguments for `kind`; UEFI copies its variable store to `varsCopy` first. */
export function firmwareArgs(kind: FirmwareKind, varsCopy: string): string[] {
  if (kind === 'bios') return [];
  if (kind === 'uefi') {
    copyFileSync(`${OVMF}/OVMF_VARS_4M.fd`, varsCopy);
    return ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`, '-drive', `if=pflash,format=raw,unit=1,file=${varsCopy}`];
  }
  copyFileSync(`${OVMF}/OVMF_VARS_4M.ms.fd`, varsCopy);
  return [
    '-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/OVMF_CODE_4M.secboot.fd`, '-drive', `if=pflash,format=raw,unit=1,file=${varsCopy}`,
  ];
}
