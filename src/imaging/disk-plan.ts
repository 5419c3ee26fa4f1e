// The disk plan: which bytes of a disk a backup must read. Everything else — free
// filesystem blocks, space outside every partition, swap contents — is imaged as zeros
// and never read. Kept always: the first MiB (boot code, GRUB's core image in the MBR
// gap), partition-table structures, BIOS boot partitions, and every partition whose
// filesystem is unknown or whose metadata does not parse (imaged raw, with a warning).
import { extUsage, probeExt } from './layout/ext4.js';
import { fatUsage, probeFat } from './layout/fat.js';
import { ntfsUsage, probeNtfs } from './layout/ntfs.js';
import { type DiskLayout, type DiskPartition, readPartitionTable } from './layout/partition-table.js';
import { probeSwap, swapUsage } from './layout/swap.js';
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, mergeExtents, sliceReader } from './layout/types.js';
export { UsedCursor } from './extents.js';

const MIB = 1024 * 1024;

export type ImagingMethod = 'used-blocks' | 'header' | 'raw' | 'none';

export interface PlannedPartition extends DiskPartition {
  filesystem: FsUsage['fsType'] | null;
  method: ImagingMethod;
  /** Bytes of this partition the backup reads. */
  usedBytes: number;
  fsLabel?: string;
  fsUuid?: string;
  warning?: string;
}

export interface DiskPlan {
  diskSize: number;
  table: DiskLayout['table'];
  sectorSize: number;
  diskId?: string;
  /** For table 'none': what the whole disk holds. */
  wholeDisk?: { filesystem: FsUsage['fsType'] | null; method: ImagingMethod; warning?: string };
  partitions: PlannedPartition[];
  /** Partition-table structures (kept, and rewritten for other disks on restore). */
  reserved: Extent[];
  /** Disk byte ranges to read; sorted, merged. */
  used: Extent[];
  usedBytes: number;
  warnings: string[];
}

type Prober = { probe: (r: BlockReader) => Promise<boolean>; usage: (r: BlockReader) => Promise<FsUsage> };
const PROBERS: Prober[] = [
  { probe: probeExt, usage: extUsage },
  { probe: probeNtfs, usage: ntfsUsage },
  { probe: probeFat, usage: fatUsage },
  { probe: probeSwap, usage: swapUsage },
];

/** The filesystem in `reader` and what it uses, null when none is recognised. */
export async function filesystemUsage(reader: BlockReader): Promise<FsUsage | null> {
  for (const p of PROBERS) {
    let found = false;
    try {
      found = await p.probe(reader);
    } catch (err) {
      if (!(err instanceof LayoutProblem)) throw err;
    }
    if (!found) continue;
    const usage = await p.usage(reader);
    if (usage.totalBytes > reader.size) throw new LayoutProblem(usage.fsType, `claims ${usage.totalBytes} bytes but its partition holds only ${reader.size}`);
    for (const e of usage.used) {
      if (e.start < 0 || e.length < 0 || e.start + e.length > reader.size) throw new LayoutProblem(usage.fsType, `used extent ${e.start}+${e.length} lies outside its ${reader.size}-byte partition`);
    }
    return usage;
  }
  return null;
}

interface Analysis {
  filesystem: FsUsage['fsType'] | null;
  method: ImagingMethod;
  used: Extent[];
  fsLabel?: string;
  fsUuid?: string;
  warning?: string;
}

async function analyze(reader: BlockReader, subject: string): Promise<Analysis> {
  const raw: Analysis = { filesystem: null, method: 'raw', used: [{ start: 0, length: reader.size }] };
  try {
    const usage = await filesystemUsage(reader);
    if (!usage) return raw;
    return {
      filesystem: usage.fsType,
      method: usage.fsType === 'swap' ? 'header' : 'used-blocks',
      used: usage.used,
      ...(usage.label ? { fsLabel: usage.label } : {}),
      ...(usage.uuid ? { fsUuid: usage.uuid } : {}),
    };
  } catch (err) {
    if (!(err instanceof LayoutProblem)) throw err;
    return { ...raw, warning: `${subject}: ${err.message}; imaged raw (all of it)` };
  }
}

const shift = (extents: Extent[], by: number): Extent[] => extents.map((e) => ({ start: e.start + by, length: e.length }));

/** Reads the partition table and every filesystem on the disk, and decides what to image. */
export async function planDisk(disk: BlockReader, sectorSize = 512): Promise<DiskPlan> {
  const warnings: string[] = [];
  let layout: DiskLayout;
  try {
    layout = await readPartitionTable(disk, sectorSize);
  } catch (err) {
    if (!(err instanceof LayoutProblem)) throw err;
    return {
      diskSize: disk.size,
      table: 'none',
      sectorSize,
      partitions: [],
      reserved: [],
      used: disk.size > 0 ? [{ start: 0, length: disk.size }] : [],
      usedBytes: disk.size,
      warnings: [`partition table: ${err.message}; the whole disk is imaged raw`],
    };
  }
  warnings.push(...layout.warnings);
  const used: Extent[] = [{ start: 0, length: Math.min(MIB, disk.size) }, ...layout.reserved, ...layout.bootCode];
  const plan: DiskPlan = { diskSize: disk.size, table: layout.table, sectorSize: layout.sectorSize, ...(layout.diskId ? { diskId: layout.diskId } : {}), partitions: [], reserved: layout.reserved, used: [], usedBytes: 0, warnings };

  if (layout.table === 'none') {
    const a = await analyze(disk, 'disk');
    if (a.warning) warnings.push(a.warning);
    plan.wholeDisk = { filesystem: a.filesystem, method: a.method, ...(a.warning ? { warning: a.warning } : {}) };
    used.push(...a.used);
  }
  for (const p of layout.partitions) {
    if (p.typeName === 'extended') {
      plan.partitions.push({ ...p, filesystem: null, method: 'none', usedBytes: 0 });
      continue;
    }
    let a: Analysis;
    if (p.typeName === 'bios-boot') a = { filesystem: null, method: 'raw', used: [{ start: 0, length: p.size }] };
    else a = await analyze(sliceReader(disk, p.start, p.size), `partition ${p.number}`);
    if (a.warning) warnings.push(a.warning);
    const extents = mergeExtents(a.used);
    const usedBytes = extents.reduce((s, e) => s + e.length, 0);
    const { used: _u, ...rest } = a;
    plan.partitions.push({ ...p, ...rest, usedBytes });
    used.push(...shift(extents, p.start));
  }
  plan.used = mergeExtents(used.map((e) => ({ start: Math.max(0, e.start), length: Math.min(e.length, disk.size - Math.max(0, e.start)) })));
  plan.usedBytes = plan.used.reduce((s, e) => s + e.length, 0);
  return plan;
}

/** A plan that reads everything (for --raw backups). */
export function rawPlan(diskSize: number, sectorSize: number): DiskPlan {
  return { diskSize, table: 'none', sectorSize, wholeDisk: { filesystem: null, method: 'raw' }, partitions: [], reserved: [], used: diskSize > 0 ? [{ start: 0, length: diskSize }] : [], usedBytes: diskSize, warnings: [] };
}

/** What the manifest records of a plan: everything but the (possibly long) extent list. */
export function describePlan(plan: DiskPlan): Omit<DiskPlan, 'used'> {
  const { used: _used, ...rest } = plan;
  return rest;
}
