// FAT12/16/32 used-block maps, written from Microsoft's "FAT: General Overview of
// On-Disk Format" (fatgen103). Layout, in sectors from the volume start:
//   reserved region (boot sector, FAT32 FSInfo and backup boot sector)
//   NumFATs copies of the FAT, FATSz sectors each
//   FAT12/16 only: the fixed root directory, RootEntCnt × 32 bytes
//   data region: clusters 2 … CountofClusters+1, SecPerClus sectors each
// The FAT type follows from the cluster count alone (< 4085 → FAT12, < 65525 →
// FAT16, else FAT32), never from the "FAT32   " label string. A data cluster is
// used when its entry in any FAT copy is non-zero (allocated, bad or end of chain).
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, mergeExtents } from './types.js';

const SUBJECT = 'fat';
/** FAT entries decoded per read: 768 KiB of FAT12, 1 MiB of FAT16, 2 MiB of FAT32. */
const ENTRIES_PER_PIECE = 1 << 19;
/** Root-directory bytes scanned for the volume label (FAT12/16 region or FAT32 chain). */
const LABEL_SCAN_BYTES = 1 << 20;

type FatType = 'fat12' | 'fat16' | 'fat32';

interface FatGeometry {
  type: FatType;
  bytesPerSector: number;
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  fatSectors: number;
  rootDirSectors: number;
  totalSectors: number;
  firstDataSector: number;
  clusterCount: number;
  rootCluster: number;
  serial?: number;
  bpbLabel?: string;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** Signature-level checks shared by the probe and the parser; returns a reason or undefined. */
function bootSectorFlaw(boot: Buffer): string | undefined {
  if (boot.length < 512) return 'device is smaller than a boot sector';
  if (boot[0] !== 0xeb && boot[0] !== 0xe9) return `jump instruction 0x${(boot[0] ?? 0).toString(16)} is neither 0xEB nor 0xE9`;
  if (boot.readUInt16LE(510) !== 0xaa55) return 'boot sector signature 0x55AA missing';
  const bps = boot.readUInt16LE(11);
  if (![512, 1024, 2048, 4096].includes(bps)) return `bytes per sector ${bps} is not 512, 1024, 2048 or 4096`;
  const spc = boot[13] ?? 0;
  if (!isPowerOfTwo(spc) || spc > 128) return `sectors per cluster ${spc} is not a power of two up to 128`;
  if (boot.readUInt16LE(14) === 0) return 'reserved sector count is 0';
  if (boot[16] === 0) return 'number of FATs is 0';
  const media = boot[21] ?? 0;
  if (media !== 0xf0 && media < 0xf8) return `media byte 0x${media.toString(16)} is invalid`;
  return undefined;
}

function parseLabel(raw: Buffer): string | undefined {
  const bytes = Buffer.from(raw);
  if (bytes[0] === 0x05) bytes[0] = 0xe5;
  const label = bytes.toString('latin1').replace(/[ \0]+$/, '');
  return label.length > 0 && label !== 'NO NAME' ? label : undefined;
}

function parseGeometry(boot: Buffer, deviceSize: number): FatGeometry {
  const flaw = bootSectorFlaw(boot);
  if (flaw) throw new LayoutProblem(SUBJECT, flaw);
  const bytesPerSector = boot.readUInt16LE(11);
  const sectorsPerCluster = boot[13] ?? 1;
  const reservedSectors = boot.readUInt16LE(14);
  const numFats = boot[16] ?? 1;
  const rootEntries = boot.readUInt16LE(17);
  const fatSz16 = boot.readUInt16LE(22);
  const fatSectors = fatSz16 !== 0 ? fatSz16 : boot.readUInt32LE(36);
  const totalSectors = boot.readUInt16LE(19) !== 0 ? boot.readUInt16LE(19) : boot.readUInt32LE(32);
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  if (fatSectors === 0) throw new LayoutProblem(SUBJECT, 'FAT size is 0 sectors');
  if (totalSectors === 0) throw new LayoutProblem(SUBJECT, 'total sector count is 0');
  if (totalSectors * bytesPerSector > deviceSize) {
    throw new LayoutProblem(SUBJECT, `BPB says ${totalSectors * bytesPerSector} bytes but the device has only ${deviceSize}`);
  }
  const firstDataSector = reservedSectors + numFats * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) {
    throw new LayoutProblem(SUBJECT, `data region starts at sector ${firstDataSector}, beyond the ${totalSectors}-sector volume`);
  }
  const clusterCount = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  if (clusterCount < 1) throw new LayoutProblem(SUBJECT, 'volume has no data clusters');
  const type: FatType = clusterCount < 4085 ? 'fat12' : clusterCount < 65525 ? 'fat16' : 'fat32';
  if (type === 'fat32' && (fatSz16 !== 0 || rootEntries !== 0)) {
    throw new LayoutProblem(SUBJECT, `${clusterCount} clusters make it FAT32, but the BPB has a FAT12/16 root directory or FAT size`);
  }
  if (type !== 'fat32' && (fatSz16 === 0 || rootEntries === 0)) {
    throw new LayoutProblem(SUBJECT, `FAT32-style BPB with only ${clusterCount} clusters (the spec makes that ${type.toUpperCase()}): ambiguous, image it raw`);
  }
  const bits = type === 'fat12' ? 12 : type === 'fat16' ? 16 : 32;
  const fatBytesNeeded = Math.ceil(((clusterCount + 2) * bits) / 8);
  if (fatSectors * bytesPerSector < fatBytesNeeded) {
    throw new LayoutProblem(SUBJECT, `FAT of ${fatSectors * bytesPerSector} bytes cannot map ${clusterCount} clusters`);
  }
  const rootCluster = type === 'fat32' ? boot.readUInt32LE(44) : 0;
  if (type === 'fat32' && (rootCluster < 2 || rootCluster > clusterCount + 1)) {
    throw new LayoutProblem(SUBJECT, `root directory cluster ${rootCluster} is outside clusters 2…${clusterCount + 1}`);
  }
  const geometry: FatGeometry = {
    type, bytesPerSector, clusterSize: sectorsPerCluster * bytesPerSector, reservedSectors, numFats,
    fatSectors, rootDirSectors, totalSectors, firstDataSector, clusterCount, rootCluster,
  };
  const ext = type === 'fat32' ? 64 : 36;
  const bootSig = boot[ext + 2];
  if (bootSig === 0x29 || bootSig === 0x28) geometry.serial = boot.readUInt32LE(ext + 3);
  if (bootSig === 0x29) {
    const label = parseLabel(boot.subarray(ext + 7, ext + 18));
    if (label !== undefined) geometry.bpbLabel = label;
  }
  return geometry;
}

const entryBits = (g: FatGeometry): number => (g.type === 'fat12' ? 12 : g.type === 'fat16' ? 16 : 32);

/**
 * Whether entry `index` of a FAT piece that starts at an even entry (so FAT12 pairs align to
 * 3 bytes) is non-zero: in use, bad or reserved. FAT32's top four bits are reserved, not part
 * of the entry. Bytes are read directly (this runs for every cluster of the volume).
 */
function entryInUse(type: FatType, b: Buffer, index: number): boolean {
  if (type === 'fat32') {
    const o = index * 4;
    return ((b[o] as number) | (b[o + 1] as number) | (b[o + 2] as number) | ((b[o + 3] as number) & 0x0f)) !== 0;
  }
  if (type === 'fat16') return ((b[index * 2] as number) | (b[index * 2 + 1] as number)) !== 0;
  const o = Math.floor((index * 3) / 2);
  const pair = (b[o] as number) | ((b[o + 1] ?? 0) << 8);
  return (index % 2 === 0 ? pair & 0xfff : pair >> 4) !== 0;
}

/** Entries checked at once for being all zero (even, so a FAT12 block is whole bytes). */
const ZERO_BLOCK_ENTRIES = 4096;
const ZERO_BLOCK = Buffer.alloc((ZERO_BLOCK_ENTRIES * 32) / 8);

/**
 * Marks in `used` the entries of a FAT piece (one copy; it starts at an even entry) that are
 * non-zero. A block of entries whose bytes are all zero is skipped with one native compare:
 * free space costs next to nothing however large the volume.
 */
export function markUsedEntries(type: FatType, bytes: Buffer, used: Uint8Array): void {
  const bits = type === 'fat12' ? 12 : type === 'fat16' ? 16 : 32;
  const count = used.length;
  for (let first = 0; first < count; first += ZERO_BLOCK_ENTRIES) {
    const last = Math.min(count, first + ZERO_BLOCK_ENTRIES);
    const from = (first * bits) / 8;
    const to = Math.min(bytes.length, Math.ceil((last * bits) / 8));
    if (bytes.subarray(from, to).equals(ZERO_BLOCK.subarray(0, to - from))) continue;
    for (let i = first; i < last; i++) if (used[i] === 0 && entryInUse(type, bytes, i)) used[i] = 1;
  }
}

/** Byte offset, from the volume start, of data cluster `cluster` (≥ 2). */
const clusterOffset = (g: FatGeometry, cluster: number): number =>
  g.firstDataSector * g.bytesPerSector + (cluster - 2) * g.clusterSize;

/** Appends the data clusters whose entry is non-zero in any FAT copy, reading each FAT in pieces. */
async function usedClusters(reader: BlockReader, g: FatGeometry, out: Extent[]): Promise<void> {
  const bits = entryBits(g);
  const lastEntry = g.clusterCount + 2;
  let run: Extent | undefined;
  for (let first = 0; first < lastEntry; first += ENTRIES_PER_PIECE) {
    const count = Math.min(ENTRIES_PER_PIECE, lastEntry - first);
    const byteStart = (first * bits) / 8;
    const byteLength = Math.ceil(((first + count) * bits) / 8) - byteStart;
    const used = new Uint8Array(count);
    for (let copy = 0; copy < g.numFats; copy++) {
      const fatStart = (g.reservedSectors + copy * g.fatSectors) * g.bytesPerSector;
      markUsedEntries(g.type, await reader.read(fatStart + byteStart, byteLength), used);
    }
    // Runs of used entries, found natively (indexOf), not entry by entry.
    for (let i = used.indexOf(1, first === 0 ? 2 : 0); i !== -1; ) {
      const stop = used.indexOf(0, i);
      const end = stop === -1 ? count : stop;
      const start = clusterOffset(g, first + i);
      const length = (end - i) * g.clusterSize;
      if (run && run.start + run.length === start) run.length += length;
      else {
        run = { start, length };
        out.push(run);
      }
      i = stop === -1 ? -1 : used.indexOf(1, stop);
    }
  }
}

/** Scans directory entries for the volume label; returns null once the end marker is met. */
function labelIn(entries: Buffer): string | null | undefined {
  for (let at = 0; at + 32 <= entries.length; at += 32) {
    const first = entries[at];
    if (first === 0x00) return null;
    const attr = entries[at + 11] ?? 0;
    if (first === 0xe5 || (attr & 0x3f) === 0x0f || (attr & 0x18) !== 0x08) continue;
    return parseLabel(entries.subarray(at, at + 11)) ?? null;
  }
  return undefined;
}

/** The label in the root directory (what Windows shows), else the BPB copy. */
async function volumeLabel(reader: BlockReader, g: FatGeometry): Promise<string | undefined> {
  if (g.type !== 'fat32') {
    const start = (g.reservedSectors + g.numFats * g.fatSectors) * g.bytesPerSector;
    const length = Math.min(g.rootDirSectors * g.bytesPerSector, LABEL_SCAN_BYTES);
    return labelIn(await reader.read(start, length)) ?? g.bpbLabel;
  }
  let cluster = g.rootCluster;
  for (let scanned = 0; scanned < LABEL_SCAN_BYTES; scanned += g.clusterSize) {
    const found = labelIn(await reader.read(clusterOffset(g, cluster), g.clusterSize));
    if (found !== undefined) return found ?? g.bpbLabel;
    const entry = await reader.read(g.reservedSectors * g.bytesPerSector + cluster * 4, 4);
    cluster = entry.readUInt32LE(0) & 0x0fffffff;
    if (cluster < 2 || cluster > g.clusterCount + 1) break;
  }
  return g.bpbLabel;
}

const formatSerial = (serial: number): string => {
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  return `${hex.slice(0, 4)}-${hex.slice(4)}`;
};

/** True if the reader starts with a plausible FAT boot sector (BPB fields in range, 0x55AA). */
export async function probeFat(reader: BlockReader): Promise<boolean> {
  if (reader.size < 512) return false;
  return bootSectorFlaw(await reader.read(0, 512)) === undefined;
}

/**
 * The used-byte map of a FAT12/16/32 volume: reserved sectors, every FAT copy, the
 * FAT12/16 root directory and every data cluster with a non-zero FAT entry. Extents
 * are relative to the volume start. Throws LayoutProblem on damaged or hostile metadata.
 */
export async function fatUsage(reader: BlockReader): Promise<FsUsage> {
  if (reader.size < 512) throw new LayoutProblem(SUBJECT, 'device is smaller than a boot sector');
  const g = parseGeometry(await reader.read(0, 512), reader.size);
  const extents: Extent[] = [{ start: 0, length: g.firstDataSector * g.bytesPerSector }];
  await usedClusters(reader, g, extents);
  const used = mergeExtents(extents);
  const usage: FsUsage = {
    fsType: g.type,
    blockSize: g.clusterSize,
    totalBytes: g.totalSectors * g.bytesPerSector,
    usedBytes: used.reduce((sum, e) => sum + e.length, 0),
    used,
  };
  const label = await volumeLabel(reader, g);
  if (label !== undefined) usage.label = label;
  if (g.serial !== undefined) usage.uuid = formatSerial(g.serial);
  return usage;
}
