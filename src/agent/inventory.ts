// The machine as the agent finds it inside the boot OS: identity from SMBIOS, disks from
// /sys/block, NICs from /sys/class/net, CPU and memory from /proc. Read from `root` (the
// real "/" in the boot OS; a fake tree in tests). Libraries such as systeminformation see
// no disk in a busybox-only root, so this reads the kernel's own files. Every value read
// is hostile: trimmed, printable ASCII, length-limited; an unreadable file is a null.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type SmbiosInfo, parseSmbios } from './smbios.js';

export interface DiskInfo {
  name: string;
  sizeBytes: number;
  model: string | null;
  serial: string | null;
  wwid: string | null;
  logicalSectorSize: number;
  physicalSectorSize: number;
  transport: 'nvme' | 'virtio' | 'usb' | 'sata' | 'scsi' | 'mmc' | 'other';
  removable: boolean;
  rotational: boolean;
}

export interface NicInfo {
  name: string;
  mac: string;
  driver: string | null;
  operstate: string | null;
}

export interface Inventory {
  smbios: SmbiosInfo;
  disks: DiskInfo[];
  nics: NicInfo[];
  cpu: { model: string | null; count: number };
  memoryBytes: number | null;
}

function read(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** Printable ASCII of a sysfs attribute, trimmed, at most 128 characters; null if empty. */
export function clean(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const t = text.replace(/[^\x20-\x7e]/g, ' ').trim().replace(/\s+/g, ' ').slice(0, 128);
  return t === '' ? null : t;
}

const attr = (path: string) => clean(read(path)?.toString('latin1'));

function num(path: string): number | null {
  const t = attr(path);
  return t !== null && /^\d{1,20}$/.test(t) ? Number(t) : null;
}

/** SCSI VPD page 0x80 (unit serial number): 4-byte header, length at bytes 2-3, then ASCII. */
export function parseVpdPage80(b: Buffer | null): string | null {
  if (b === null || b.length < 4 || b[1] !== 0x80) return null;
  const len = b.readUInt16BE(2);
  return clean(b.toString('latin1', 4, Math.min(b.length, 4 + len)));
}

function transportOf(name: string, devicePath: string): DiskInfo['transport'] {
  if (name.startsWith('nvme')) return 'nvme';
  if (name.startsWith('mmcblk')) return 'mmc';
  if (devicePath.includes('/usb')) return 'usb';
  if (name.startsWith('vd') || devicePath.includes('/virtio')) return 'virtio';
  if (/\/ata\d+\//.test(devicePath)) return 'sata';
  if (name.startsWith('sd')) return 'scsi';
  return 'other';
}

/** Whole disks: /sys/block entries backed by a device (no loop, ram, zram, dm, md), not partitions. */
export function readDisks(root = '/'): DiskInfo[] {
  const sysBlock = join(root, 'sys/block');
  let names: string[];
  try {
    names = readdirSync(sysBlock).sort();
  } catch {
    return [];
  }
  const disks: DiskInfo[] = [];
  for (const name of names) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name) || /^(loop|ram|zram|dm-|md|sr|fd|nbd)/.test(name)) continue;
    const dir = join(sysBlock, name);
    if (!hasDevice(dir)) continue;
    let devicePath = '';
    try {
      devicePath = readlinkSync(dir);
    } catch {
      // not a symlink in a fake tree
    }
    const sectors = num(join(dir, 'size'));
    if (sectors === null || sectors === 0) continue;
    const serial =
      attr(join(dir, 'device/serial')) ?? // NVMe (the controller's serial) and some SCSI/USB
      attr(join(dir, 'serial')) ?? // virtio-blk
      parseVpdPage80(read(join(dir, 'device/vpd_pg80'))); // SCSI/SATA behind libata
    disks.push({
      name,
      sizeBytes: sectors * 512, // /sys/block/*/size counts 512-byte sectors whatever the disk's own
      model: attr(join(dir, 'device/model')),
      serial,
      wwid: attr(join(dir, 'wwid')) ?? attr(join(dir, 'device/wwid')),
      logicalSectorSize: num(join(dir, 'queue/logical_block_size')) ?? 512,
      physicalSectorSize: num(join(dir, 'queue/physical_block_size')) ?? 512,
      transport: transportOf(name, devicePath),
      removable: attr(join(dir, 'removable')) === '1',
      rotational: attr(join(dir, 'queue/rotational')) === '1',
    });
  }
  return disks;
}

function hasDevice(dir: string): boolean {
  try {
    readdirSync(join(dir, 'device'));
    return true;
  } catch {
    return false;
  }
}

export function readNics(root = '/'): NicInfo[] {
  const dir = join(root, 'sys/class/net');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const nics: NicInfo[] = [];
  for (const name of names) {
    if (name === 'lo' || !/^[A-Za-z0-9_.-]{1,15}$/.test(name)) continue;
    const mac = attr(join(dir, name, 'address'));
    if (mac === null || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) || mac === '00:00:00:00:00:00') continue;
    let driver: string | null = null;
    try {
      driver = clean(basename(readlinkSync(join(dir, name, 'device/driver'))));
    } catch {
      // virtual interface without a driver link
    }
    nics.push({ name, mac, driver, operstate: attr(join(dir, name, 'operstate')) });
  }
  return nics;
}

export function parseCpuinfo(text: string): { model: string | null; count: number } {
  const models = text.split('\n').filter((l) => /^model name\s*:/.test(l));
  const count = text.split('\n').filter((l) => /^processor\s*:/.test(l)).length;
  return { model: clean(models[0]?.split(':').slice(1).join(':')), count };
}

export function parseMeminfo(text: string): number | null {
  const m = /^MemTotal:\s+(\d{1,15}) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

export function readInventory(root = '/'): Inventory {
  const dmi = join(root, 'sys/firmware/dmi/tables');
  const table = read(join(dmi, 'DMI'));
  return {
    smbios: parseSmbios(table ?? Buffer.alloc(0), read(join(dmi, 'smbios_entry_point'))),
    disks: readDisks(root),
    nics: readNics(root),
    cpu: parseCpuinfo(read(join(root, 'proc/cpuinfo'))?.toString('latin1') ?? ''),
    memoryBytes: parseMeminfo(read(join(root, 'proc/meminfo'))?.toString('latin1') ?? ''),
  };
}
