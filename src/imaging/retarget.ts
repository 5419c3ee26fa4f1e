// Restoring onto a disk of another size: what the target must hold at least, and the
// fix-ups after the chunks are written — the GPT's backup header and entry array moved
// to the target's real end (primary header updated, CRCs recomputed), the protective
// MBR resized, the stale backup GPT of the source zeroed, and filesystem signatures in
// unassigned regions of an existing target wiped so no ghost of the old disk shows up.
// Decisions are pure functions of the image's layout and the target's size.
import type { DiskPlan } from './disk-plan.js';
import { type DiskWrite, type Gpt, entryArraySectors, readGpt, relocateGpt } from './layout/gpt.js';
import { resizeProtectiveMbr } from './layout/mbr.js';
import { type BlockReader, type Extent, mergeExtents } from './layout/types.js';
import { type ImageIndex, isUnused } from './repo/index-file.js';

const MIB = 1024 * 1024;
export type LayoutSummary = Omit<DiskPlan, 'used'>;

export interface ImageShape {
  layout: LayoutSummary | null;
  gpt: Gpt | null;
  /** The fewest bytes a target needs: every partition must end inside it (plus the backup GPT). */
  minimumSize: number;
}

/**
 * The fewest bytes a target needs, from the manifest's layout alone (what the operator API
 * shows before a restore is asked). Assumes the usual 16 KiB GPT entry array; the restore
 * itself reads the image's real table (imageShape) and checks again before any write.
 */
export function minimumTargetSize(layout: LayoutSummary | null, diskSize: number): number {
  if (!layout || layout.table === 'none' || layout.partitions.length === 0) return diskSize;
  const partitionEnd = Math.max(...layout.partitions.map((p) => p.start + p.size));
  // A GPT's reserved areas are its own copies (moved on restore); an MBR's are its EBRs.
  if (layout.table === 'gpt') return Math.min(diskSize, partitionEnd + 16 * 1024 + layout.sectorSize);
  return Math.max(partitionEnd, ...layout.reserved.map((r) => r.start + r.length), Math.min(MIB, diskSize));
}

/** Reads what restoring onto another disk needs to know from the image itself. */
export async function imageShape(layout: LayoutSummary | null, image: BlockReader): Promise<ImageShape> {
  if (!layout || layout.table === 'none' || layout.partitions.length === 0) return { layout, gpt: null, minimumSize: image.size };
  if (layout.table === 'gpt') {
    const gpt = await readGpt(image, layout.sectorSize);
    const highest = gpt.partitions.reduce((max, p) => Math.max(max, p.lastLba), gpt.header.firstUsableLba);
    const minimumSize = (highest + 2 + entryArraySectors(gpt.header, gpt.sectorSize)) * gpt.sectorSize;
    return { layout, gpt, minimumSize: Math.min(minimumSize, image.size) };
  }
  const ends = [...layout.partitions.map((p) => p.start + p.size), ...layout.reserved.map((r) => r.start + r.length), Math.min(MIB, image.size)];
  return { layout, gpt: null, minimumSize: Math.max(...ends) };
}

export interface Fixups {
  /** Byte ranges of the target to zero, before `writes`. */
  zero: Extent[];
  /** Structures to write last. */
  writes: DiskWrite[];
}

/** Byte ranges of the target whose content the chunk writes left alone: unused chunks, and space past the image. */
function skippedRanges(index: ImageIndex, targetSize: number): Extent[] {
  const out: Extent[] = [];
  for (let i = 0; i < index.chunkCount; i++) {
    const start = i * index.chunkSize;
    if (start >= targetSize) break;
    if (isUnused(index, i)) out.push({ start, length: Math.min(index.chunkSize, index.diskSize - start, targetSize - start) });
  }
  if (targetSize > index.diskSize) out.push({ start: index.diskSize, length: targetSize - index.diskSize });
  return mergeExtents(out);
}

function intersect(a: Extent[], b: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const x of a) {
    for (const y of b) {
      const s = Math.max(x.start, y.start);
      const e = Math.min(x.start + x.length, y.start + y.length);
      if (e > s) out.push({ start: s, length: e - s });
    }
  }
  return mergeExtents(out);
}

/**
 * What to zero and write on the target after the chunks: pure. `fresh` targets (new files)
 * hold nothing old, so they need no signature wipes, only the GPT fix-ups. On an existing
 * target, the first and last MiB of every unassigned region, of every new partition and of
 * every partition of the target's old table (`oldPartitions`) are zeroed wherever the
 * restore itself did not write, so neither blkid nor the OS finds a ghost of the old disk.
 */
export function planFixups(shape: ImageShape, index: ImageIndex, sector0: Buffer | null, targetSize: number, fresh: boolean, oldPartitions: Extent[] = []): Fixups {
  const zero: Extent[] = [];
  const writes: DiskWrite[] = [];
  const { layout, gpt } = shape;
  if (gpt && targetSize !== index.diskSize) {
    const ss = gpt.sectorSize;
    const targetSectors = Math.floor(targetSize / ss);
    // The source's backup GPT, now stale in the middle (or past the end) of the target.
    const arrayBytes = entryArraySectors(gpt.header, ss) * ss;
    const oldLast = gpt.header.myLba === 1 ? gpt.header.alternateLba : gpt.header.myLba;
    const stale = [{ start: oldLast * ss - arrayBytes, length: arrayBytes + ss }];
    zero.push(...intersect(stale, [{ start: 0, length: targetSectors * ss }]));
    writes.push(...relocateGpt(gpt, targetSectors));
    if (sector0) writes.push({ offset: 0, data: resizeProtectiveMbr(sector0, targetSectors) });
  }
  if (!fresh && layout) {
    // Unassigned regions and partition tails of the target: zero the first and last MiB
    // wherever the restore did not write, so no old signature is found there.
    const parts = layout.partitions.filter((p) => p.method !== 'none').map((p) => ({ start: p.start, length: p.size }));
    const gaps: Extent[] = [];
    let pos = 0;
    for (const p of mergeExtents(parts)) {
      if (p.start > pos) gaps.push({ start: pos, length: p.start - pos });
      pos = Math.max(pos, p.start + p.length);
    }
    if (pos < targetSize) gaps.push({ start: pos, length: targetSize - pos });
    const zones: Extent[] = [];
    // Where the target's old partition table put filesystems: their heads and tails too.
    for (const g of [...gaps, ...parts, ...oldPartitions]) {
      zones.push({ start: g.start, length: Math.min(MIB, g.length) });
      zones.push({ start: Math.max(g.start, g.start + g.length - MIB), length: Math.min(MIB, g.length) });
    }
    zones.push({ start: Math.max(0, targetSize - MIB), length: Math.min(MIB, targetSize) });
    zero.push(...intersect(mergeExtents(zones), skippedRanges(index, targetSize)));
  }
  return { zero: mergeExtents(zero.filter((z) => z.start < targetSize).map((z) => ({ start: z.start, length: Math.min(z.length, targetSize - z.start) }))), writes };
}
