// The disks attached to the appliance itself (an operator docks a drive to back it up or
// restore onto it): lsblk for the list, our own layout parsers for what is on each one.
// Loop devices count (a disk-image file attached with losetup is a disk to us); zram,
// optical drives and empty devices do not. Disk-image files in the docked directory are
// listed too. A device that is mounted, used as swap or held (by device numbers, through
// partitions, dm/md and loop devices) is `inUse`; the disk(s) holding the appliance's own
// system are `system`: neither is ever offered as a target.
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'node:fs/promises';
import { externalError } from '../errors.js';
import type { LocalDevice } from '../api/contract.js';
import { planDisk } from '../imaging/disk-plan.js';
import { fileReader } from '../imaging/disk.js';
import { type Usage, inUseRefusal, inspectDevice, readKernelView } from '../devices/index.js';
import { type DevicePolicyConfig, applianceSystemDevices, resolvedDockedDir } from './device-policy.js';

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

export async function partitionsOf(path: string, size: number, sectorSize: number): Promise<LocalDevice['partitions']> {
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

/** Whether `d` is (or is built on, or carries) a device that holds the appliance's own system: what it holds, or null. */
function systemRolesOf(d: Usage, system: Map<string, string[]>): string | null {
  const names = d.name !== null && system.has(d.name) ? [d.name] : [...d.below, ...d.above].filter((n) => system.has(n));
  const roles = [...new Set(names.flatMap((n) => system.get(n) ?? []))];
  return roles.length > 0 ? roles.join(', ') : null;
}

/** Disk-image files directly in the docked directory (regular files, no symlinks), by name. */
function dockedFiles(dockedDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dockedDir);
  } catch {
    return []; // not created yet, or unreadable: nothing docked
  }
  return names
    .sort()
    .map((n) => join(dockedDir, n))
    .filter((p) => {
      try {
        return lstatSync(p).isFile();
      } catch {
        return false;
      }
    });
}

/**
 * The appliance's disks (lsblk) and the disk-image files in the docked directory. "In use" and
 * "system disk" are decided by device numbers over the kernel's view (src/devices), not by
 * lsblk's mount points: a disk holding /, /boot, swap, the data directory or the store is
 * listed as the system disk, never as a target.
 */
export async function listLocalDevices(cfg: DevicePolicyConfig): Promise<LocalDevice[]> {
  const r = spawnSync('lsblk', ['-J', '-b', '-o', 'NAME,PATH,SIZE,MODEL,SERIAL,TYPE,MOUNTPOINTS,LOG-SEC'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw externalError('lsblk (listing the appliance\'s disks)', r.error?.message ?? r.stderr, r.status);
  const view = readKernelView();
  const system = applianceSystemDevices(cfg, view);
  const out: LocalDevice[] = [];
  for (const disk of disksFromLsblk(JSON.parse(r.stdout))) {
    const { mountpoints: _m, ...device } = disk;
    const d = inspectDevice(device.path, view);
    const role = systemRolesOf(d, system);
    out.push({ ...device, kind: 'disk', inUse: role !== null || inUseRefusal('restore', d) !== null, system: role, partitions: await partitionsOf(device.path, device.sizeBytes, device.logicalSectorSize) });
  }
  for (const path of dockedFiles(resolvedDockedDir(cfg.dockedDir))) {
    const d = inspectDevice(path, view);
    if (d.type !== 'file' || d.resolved === null) continue;
    const sizeBytes = Number(statSync(d.resolved).size);
    out.push({ path: d.resolved, kind: 'file', model: null, serial: null, sizeBytes, logicalSectorSize: 512, inUse: inUseRefusal('restore', d) !== null, system: null, partitions: sizeBytes > 0 ? await partitionsOf(d.resolved, sizeBytes, 512) : [] });
  }
  return out;
}
