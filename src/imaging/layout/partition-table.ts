// Which partition table a disk has, and its partitions as byte ranges. GPT wins when
// sector 0 is a protective (or hybrid) MBR; a plain MBR is followed through its EBR
// chain; a FAT/NTFS/exFAT boot sector or no signature at all means 'none' (a bare
// filesystem image). Everything returned is JSON-serialisable.

import { GPT_SIGNATURE, type Gpt, gptTypeName, readGpt } from './gpt.js';
import { decodeMbr, hasBootSignature, isFilesystemBootSector, isProtective, type Mbr, mbrTypeName, readMbr } from './mbr.js';
import { type BlockReader, type Extent, LayoutProblem, mergeExtents } from './types.js';

/** A partition as a byte range of the disk. */
export interface DiskPartition {
  /** Linux's number: MBR slots 1–4, logical partitions 5, 6, …; GPT entry slot. */
  number: number;
  /** Byte offset from the start of the disk. */
  start: number;
  /** Bytes (clipped to the disk, with a warning, when the table says more). */
  size: number;
  /** MBR type as '0x83', or the GPT type GUID (upper case). */
  type: string;
  /** 'linux', 'efi-system', 'bios-boot', 'ntfs/basic-data', 'swap', 'extended', 'lvm', 'luks', … or 'unknown'. */
  typeName: string;
  /** GPT partition name. */
  name?: string;
  /** GPT unique partition GUID, or for MBR Linux's PARTUUID ('<disk signature>-<number>'). */
  uuid?: string;
  /** MBR boot flag (0x80), or GPT "legacy BIOS bootable" attribute (bit 2). */
  bootable?: boolean;
}

/** The partition table of a disk. */
export interface DiskLayout {
  table: 'gpt' | 'mbr' | 'none';
  sectorSize: number;
  /** GPT disk GUID, or the MBR disk signature as '0x1234abcd'. */
  diskId?: string;
  partitions: DiskPartition[];
  /** Byte ranges holding partition-table structures: MBR, EBRs, GPT headers and entry arrays. */
  reserved: Extent[];
  /**
   * Byte ranges outside every partition that boot loaders use and that must be imaged
   * as they are: on an MBR disk, the gap after sector 0 up to the first partition
   * (at most 1 MiB), where GRUB keeps its core image.
   */
  bootCode: Extent[];
  warnings: string[];
}

const MIB = 1024 * 1024;
/** GPT attribute bit 2: legacy BIOS bootable. */
const LEGACY_BIOS_BOOTABLE = 1n << 2n;

function checkSectorSize(sectorSize: number): void {
  if (!Number.isInteger(sectorSize) || sectorSize < 512 || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
    throw new RangeError(`bug: sector size ${sectorSize} is not a power of two in 512..65536`);
  }
}

async function readAt(reader: BlockReader, offset: number, length: number): Promise<Buffer | undefined> {
  if (offset + length > reader.size) return undefined;
  const buf = await reader.read(offset, length);
  if (buf.length !== length) throw new LayoutProblem('partition table', `short read of ${length} bytes at ${offset}`);
  return buf;
}

async function hasGptSignature(reader: BlockReader, sectorSize: number): Promise<boolean> {
  const buf = await readAt(reader, sectorSize, GPT_SIGNATURE.length);
  return buf !== undefined && buf.equals(GPT_SIGNATURE);
}

/**
 * A partition placed on the disk: null (with a warning) when it starts past the end,
 * clipped (with a warning) when it runs past it.
 */
function place(
  label: string,
  firstLba: number,
  sectors: number,
  sectorSize: number,
  diskSize: number,
  warnings: string[],
): { start: number; size: number } | null {
  const diskSectors = Math.floor(diskSize / sectorSize);
  if (firstLba >= diskSectors) {
    warnings.push(`${label} starts at sector ${firstLba}, beyond the disk's last sector ${diskSectors - 1}: ignored`);
    return null;
  }
  let endLba = firstLba + sectors;
  if (endLba > diskSectors) {
    warnings.push(`${label} ends at sector ${endLba - 1}, beyond the disk's last sector ${diskSectors - 1}: clipped to the disk`);
    endLba = diskSectors;
  }
  return { start: firstLba * sectorSize, size: (endLba - firstLba) * sectorSize };
}

function warnOverlaps(partitions: DiskPartition[], warnings: string[]): void {
  const data = partitions.filter((p) => p.typeName !== 'extended').sort((a, b) => a.start - b.start);
  for (let i = 1; i < data.length; i++) {
    const prev = data[i - 1];
    const cur = data[i];
    if (prev && cur && cur.start < prev.start + prev.size) warnings.push(`partitions ${prev.number} and ${cur.number} overlap`);
  }
}

function fromGpt(gpt: Gpt, diskSize: number, warnings: string[]): DiskLayout {
  const partitions: DiskPartition[] = [];
  for (const p of gpt.partitions) {
    const where = place(`GPT partition ${p.number}`, p.firstLba, p.lastLba - p.firstLba + 1, gpt.sectorSize, diskSize, warnings);
    if (!where) continue;
    const bootable = (p.attributes & LEGACY_BIOS_BOOTABLE) !== 0n;
    partitions.push({ number: p.number, ...where, type: p.typeGuid, typeName: gptTypeName(p.typeGuid), name: p.name, uuid: p.uniqueGuid, bootable });
  }
  warnOverlaps(partitions, warnings);
  const all = [...warnings, ...gpt.warnings];
  return { table: 'gpt', sectorSize: gpt.sectorSize, diskId: gpt.header.diskGuid, partitions, reserved: gpt.reserved, bootCode: [], warnings: all };
}

async function fromMbr(reader: BlockReader, sectorSize: number, mbr: Mbr, warnings: string[]): Promise<DiskLayout> {
  const layout = await readMbr(reader, sectorSize, mbr);
  warnings.push(...layout.warnings);
  const signature = layout.diskSignature.toString(16).padStart(8, '0');
  const partitions: DiskPartition[] = [];
  for (const p of layout.partitions) {
    const where = place(`MBR partition ${p.number}`, p.firstLba, p.sectors, sectorSize, reader.size, warnings);
    if (!where) continue;
    const type = `0x${p.type.toString(16).padStart(2, '0')}`;
    const uuid = `${signature}-${p.number.toString(16).padStart(2, '0')}`;
    partitions.push({ number: p.number, ...where, type, typeName: mbrTypeName(p.type), uuid, bootable: p.bootable });
  }
  warnOverlaps(partitions, warnings);
  const reserved = mergeExtents([{ start: 0, length: sectorSize }, ...layout.ebrLbas.map((lba) => ({ start: lba * sectorSize, length: sectorSize }))]);
  const firstUsed = Math.min(MIB, reader.size, ...partitions.map((p) => p.start), ...layout.ebrLbas.map((lba) => lba * sectorSize));
  const bootCode = firstUsed > sectorSize ? [{ start: sectorSize, length: firstUsed - sectorSize }] : [];
  return { table: 'mbr', sectorSize, diskId: `0x${signature}`, partitions, reserved, bootCode, warnings };
}

/**
 * Read the partition table of a disk through `reader`. Returns table 'none' for a disk
 * without one (e.g. a bare filesystem image). Damage that leaves a usable table becomes
 * a warning; a GPT disk whose primary and backup GPT are both damaged throws LayoutProblem.
 * If a protective MBR is present and the GPT is found at a different sector size
 * (512 vs 4096), that size is used and reported.
 */
export async function readPartitionTable(reader: BlockReader, sectorSize = 512): Promise<DiskLayout> {
  checkSectorSize(sectorSize);
  const warnings: string[] = [];
  const none = (): DiskLayout => ({ table: 'none', sectorSize, partitions: [], reserved: [], bootCode: [], warnings });
  if (reader.size % sectorSize !== 0) warnings.push(`disk size ${reader.size} is not a multiple of the ${sectorSize}-byte sector size`);
  const sector0 = await readAt(reader, 0, sectorSize);
  if (!sector0) {
    warnings.push(`disk of ${reader.size} bytes is smaller than one sector`);
    return none();
  }
  let mbr: Mbr | undefined;
  if (hasBootSignature(sector0) && !isFilesystemBootSector(sector0)) {
    try {
      mbr = decodeMbr(sector0);
    } catch (err) {
      if (!(err instanceof LayoutProblem)) throw err;
      warnings.push(err.message);
    }
  }
  if (mbr && isProtective(mbr)) {
    let size = sectorSize;
    if (!(await hasGptSignature(reader, sectorSize))) {
      for (const other of [512, 4096]) {
        if (other !== sectorSize && (await hasGptSignature(reader, other))) {
          warnings.push(`GPT found with ${other}-byte sectors, not ${sectorSize}: using ${other}`);
          size = other;
          break;
        }
      }
    }
    if (mbr.entries.some((e) => e.sectors > 0 && e.type !== 0xee)) warnings.push('hybrid MBR: its non-GPT entries are ignored');
    return fromGpt(await readGpt(reader, size), reader.size, warnings);
  }
  const gptSigned = await hasGptSignature(reader, sectorSize);
  if (mbr) {
    if (gptSigned) warnings.push('a GPT header sits at LBA 1 but the MBR is not protective: the GPT is ignored (stale?)');
    return fromMbr(reader, sectorSize, mbr, warnings);
  }
  if (gptSigned) {
    try {
      const gpt = await readGpt(reader, sectorSize);
      warnings.push('GPT without a protective MBR');
      return fromGpt(gpt, reader.size, warnings);
    } catch (err) {
      if (!(err instanceof LayoutProblem)) throw err;
      warnings.push(`GPT without a protective MBR is unusable: ${err.message}`);
    }
  }
  return none();
}
