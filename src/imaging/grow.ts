// --grow-last: after a restore onto a larger disk, enlarge the last partition to the
// disk's end and its filesystem with the filesystem's own tool (resize2fs, ntfsresize).
// The table edits are pure functions; the tools run on a loop device attached at the
// partition's offset (no udev needed).
import { spawnSync } from 'node:child_process';
import { externalError } from '../errors.js';
import { type Gpt, entryArraySectors } from './layout/gpt.js';
import type { DiskPartition } from './layout/partition-table.js';
import type { ImageShape } from './retarget.js';

export interface GrowPlan {
  partition: number;
  start: number;
  oldSize: number;
  newSize: number;
  filesystem: string | null;
}

export type GrowOutcome = ({ grown: true; tool: string } & GrowPlan) | { grown: false; reason: string };

/** The partition that ends last on the disk (extended containers aside). */
export function lastPartition(partitions: Array<DiskPartition & { method?: string }>): (DiskPartition & { method?: string }) | null {
  const data = partitions.filter((p) => p.typeName !== 'extended' && p.method !== 'none');
  return data.reduce<(DiskPartition & { method?: string }) | null>((a, p) => (!a || p.start + p.size > a.start + a.size ? p : a), null);
}

/** A copy of `gpt` whose last partition reaches the last usable LBA of a disk of `targetSectors`; null when it cannot grow. */
export function growGpt(gpt: Gpt, targetSectors: number): { gpt: Gpt; partition: number; newLastLba: number } | null {
  const last = gpt.partitions.reduce<Gpt['partitions'][number] | null>((a, p) => (!a || p.lastLba > a.lastLba ? p : a), null);
  if (!last) return null;
  const lastUsable = targetSectors - 1 - entryArraySectors(gpt.header, gpt.sectorSize) - 1;
  // End on a 1 MiB boundary, as partitioning tools do (sgdisk -v warns otherwise).
  const align = Math.max(1, Math.floor((1 << 20) / gpt.sectorSize));
  const aligned = Math.floor((lastUsable + 1) / align) * align - 1;
  const newLastUsable = aligned > last.lastLba ? aligned : lastUsable;
  if (newLastUsable <= last.lastLba) return null;
  const entries = Buffer.from(gpt.entries);
  entries.writeBigUInt64LE(BigInt(newLastUsable), (last.number - 1) * gpt.header.entrySize + 40);
  return {
    gpt: { ...gpt, entries, partitions: gpt.partitions.map((p) => (p.number === last.number ? { ...p, lastLba: newLastUsable } : p)) },
    partition: last.number,
    newLastLba: newLastUsable,
  };
}

/** A copy of MBR sector 0 whose primary partition `number` reaches the end of a disk of `targetSectors`; null when it cannot. */
export function growMbrPrimary(sector0: Buffer, number: number, targetSectors: number): { sector: Buffer; newSectors: number } | null {
  if (number < 1 || number > 4) return null;
  const off = 446 + (number - 1) * 16;
  const first = sector0.readUInt32LE(off + 8);
  const sectors = sector0.readUInt32LE(off + 12);
  const newSectors = Math.min(targetSectors, 0xffffffff) - first;
  if (newSectors <= sectors) return null;
  const sector = Buffer.from(sector0);
  sector.writeUInt32LE(newSectors, off + 12);
  return { sector, newSectors };
}

function run(command: string, args: string[], okCodes = [0]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', input: '' });
  if (r.error) throw externalError(`${command} ${args.join(' ')}`, r.error.message, null);
  if (!okCodes.includes(r.status ?? -1)) throw externalError(`${command} ${args.join(' ')}`, `${r.stdout}\n${r.stderr}`, r.status);
  return r.stdout;
}

/** Which tool grows a filesystem in place, or why none does. */
export function growTool(fs: string | null): { tool: string } | { reason: string } {
  if (fs === 'ext2' || fs === 'ext3' || fs === 'ext4') return { tool: 'resize2fs' };
  if (fs === 'ntfs') return { tool: 'ntfsresize' };
  if (fs === null) return { reason: 'its filesystem is unknown to Lifeboat (imaged raw), so there is no tool to grow it' };
  if (fs.startsWith('fat')) return { reason: 'FAT cannot be grown in place by a standard Linux tool' };
  if (fs === 'swap') return { reason: 'a swap area is not grown; run mkswap on it to use the new space' };
  return { reason: `no tool grows ${fs} in place` };
}

/** Grows the filesystem of the partition at `start`+`size` of `target` to fill it. */
export function growFilesystem(target: string, start: number, size: number, fs: string): string {
  const which = growTool(fs);
  if ('reason' in which) throw externalError('grow', which.reason, null);
  const loop = run('losetup', ['-f', '--show', '-o', String(start), '--sizelimit', String(size), target]).trim();
  try {
    if (which.tool === 'resize2fs') {
      run('e2fsck', ['-f', '-p', loop], [0, 1]);
      run('resize2fs', [loop]);
    } else {
      run('ntfsresize', ['-f', '-P', loop]);
    }
  } finally {
    spawnSync('losetup', ['-d', loop]);
  }
  return which.tool;
}

export type Growth = { reason: string; shape?: undefined; mbrSector?: undefined } | { plan: GrowPlan; shape: ImageShape; mbrSector?: Buffer };

/** What --grow-last will change in the partition table, or why it will not. Pure. */
export function planGrowth(shape: ImageShape, sector0: Buffer, targetSize: number, diskSize: number): Growth {
  if (targetSize <= diskSize) return { reason: 'the target is not larger than the image' };
  const layout = shape.layout;
  const last = layout ? lastPartition(layout.partitions) : null;
  if (!layout || !last) return { reason: 'the image has no partition table' };
  const fs = (last as { filesystem?: string | null }).filesystem ?? null;
  const tool = growTool(fs);
  if ('reason' in tool) return { reason: `partition ${last.number}: ${tool.reason}` };
  const ss = layout.sectorSize;
  const targetSectors = Math.floor(targetSize / ss);
  if (shape.gpt) {
    const g = growGpt(shape.gpt, targetSectors);
    if (!g) return { reason: `partition ${last.number} already reaches the end of the target` };
    if (g.partition !== last.number) return { reason: `the partition ending last (${g.partition}) is not the one the layout names (${last.number})` };
    const newSize = (g.newLastLba + 1) * ss - last.start;
    return { plan: { partition: last.number, start: last.start, oldSize: last.size, newSize, filesystem: fs }, shape: { ...shape, gpt: g.gpt } };
  }
  if (layout.table !== 'mbr') return { reason: 'the image has no partition table' };
  if (last.number > 4) return { reason: `partition ${last.number} is a logical partition inside an extended one; growing it is not supported` };
  const m = growMbrPrimary(sector0, last.number, targetSectors);
  if (!m) return { reason: `partition ${last.number} already reaches the end of the target` };
  return { plan: { partition: last.number, start: last.start, oldSize: last.size, newSize: m.newSectors * ss, filesystem: fs }, shape, mbrSector: m.sector };
}
