// The disks attached to the appliance itself (an operator docks a drive to back it up or
// restore onto it): lsblk for the list, our own layout parsers for what is on each one.
// Loop devices count (a disk-image file attached with losetup is a disk to us); zram,
// optical drives and empty devices do not. A device that is mounted, used as swap, or
// holds a partition that is, is `inUse`: never offered as a restore target.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { externalError } from '../errors.js';
import type { LocalDevice } from '../api/contract.js';
import { planDisk } from '../imaging/disk-plan.js';
import { fileReader } from '../imaging/disk.js';

interface LsblkDevice {
  name?: string;
  path?: string;
  size?: number | string;
  model?: string | null;
  serial?: string | null;
  type?: string;
  mountpoints?: Array<string | null>;
  'log-sec'?: number | string;
  children?: LsblkDevice[];
}

/** The candidate disks in `lsblk -J -b` output. Pure; anything malformed is left out, never thrown. */
export function disksFromLsblk(json: unknown): Array<Omit<LocalDevice, 'partitions'> & { mountpoints: string[] }> {
  const list = (json as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(list)) return [];
  const isDevice = (d: unknown): d is LsblkDevice => typeof d === 'object' && d !== null && !Array.isArray(d);
  const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
  const mounts = (d: LsblkDevice, depth = 0): string[] => [
    ...(Array.isArray(d.mountpoints) ? d.mountpoints.filter((m): m is string => typeof m === 'string') : []),
    ...(Array.isArray(d.children) && depth < 8 ? d.children.filter(isDevice).flatMap((c) => mounts(c, depth + 1)) : []),
  ];
  return list
    .filter(isDevice)
    .filter((d) => (d.type === 'disk' || d.type === 'loop') && typeof d.path === 'string' && d.path.startsWith('/dev/') && !/^\/dev\/(zram|ram)\d/.test(d.path))
    .map((d) => {
      const mountpoints = mounts(d);
      const sector = Number(d['log-sec']);
      return {
        path: d.path as string,
        model: text(d.model),
        serial: text(d.serial),
        sizeBytes: Number(d.size),
        logicalSectorSize: Number.isInteger(sector) && sector >= 512 ? sector : 512,
        inUse: mountpoints.length > 0,
        mountpoints,
      };
    })
    .filter((d) => Number.isSafeInteger(d.sizeBytes) && d.sizeBytes > 0);
}

/** Devices named in /proc/swaps. */
function swapDevices(): Set<string> {
  try {
    return new Set(readFileSync('/proc/swaps', 'utf8').split('\n').slice(1).map((l) => l.split(/\s+/)[0] ?? '').filter(Boolean));
  } catch {
    return new Set();
  }
}

async function partitionsOf(path: string, size: number, sectorSize: number): Promise<LocalDevice['partitions']> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return []; // not readable (permissions, a vanished device): shown without partitions
  try {
    const plan = await planDisk(fileReader(fh, size, path), sectorSize);
    const sep = /\d$/.test(path) ? 'p' : '';
    return plan.partitions.map((p) => ({ path: `${path}${sep}${p.number}`, sizeBytes: p.size, fsType: p.filesystem ?? (p.typeName !== 'unknown' ? p.typeName : null), label: p.fsLabel ?? p.name ?? null }));
  } catch {
    return []; // unreadable or no table: shown without partitions
  } finally {
    await fh.close();
  }
}

export async function listLocalDevices(): Promise<LocalDevice[]> {
  const r = spawnSync('lsblk', ['-J', '-b', '-o', 'NAME,PATH,SIZE,MODEL,SERIAL,TYPE,MOUNTPOINTS,LOG-SEC'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw externalError('lsblk (listing the appliance\'s disks)', r.error?.message ?? r.stderr, r.status);
  const swaps = swapDevices();
  const disks = disksFromLsblk(JSON.parse(r.stdout));
  const out: LocalDevice[] = [];
  for (const d of disks) {
    const { mountpoints: _m, ...device } = d;
    const inUse = d.inUse || [...swaps].some((s) => s === d.path || (s.startsWith(d.path) && /^p?\d+$/.test(s.slice(d.path.length))));
    out.push({ ...device, inUse, partitions: await partitionsOf(d.path, d.sizeBytes, d.logicalSectorSize) });
  }
  return out;
}
