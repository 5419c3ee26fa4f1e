// The DOS/MBR partition table: sector 0 holds four primary entries; an extended
// partition (type 0x05, 0x0F or 0x85) holds a chain of EBRs, each describing one
// logical partition (numbered 5, 6, … as Linux does) and a link to the next EBR.
//
// Layout of sector 0: boot code, disk signature (u32 LE at 440), four 16-byte
// entries at 446, 0x55 0xAA at 510. Entry: boot indicator (+0), CHS start (+1),
// type (+4), CHS end (+5), first LBA (u32 LE, +8), sector count (u32 LE, +12).
// CHS fields are ignored, as every current OS does.

import { type BlockReader, LayoutProblem } from './types.js';

const DISK_SIGNATURE_OFFSET = 440;
const TABLE_OFFSET = 446;
const ENTRY_SIZE = 16;
const BOOT_SIGNATURE_OFFSET = 510;
/** The most EBRs followed on one disk (Linux allows 256 partitions per disk). */
export const MAX_EBRS = 256;

/** MBR type of a protective (or hybrid) MBR's GPT entry. */
export const PROTECTIVE_TYPE = 0xee;

/** One raw 16-byte entry of an MBR or EBR. `slot` is 1–4. */
export interface MbrEntry {
  slot: number;
  bootIndicator: number;
  type: number;
  firstLba: number;
  sectors: number;
}

/** A decoded sector 0 (or EBR): disk signature and the four entries, empty ones included. */
export interface Mbr {
  diskSignature: number;
  entries: MbrEntry[];
}

/** A primary, extended or logical partition in sectors; `firstLba` is absolute. */
export interface MbrPartition {
  number: number;
  type: number;
  firstLba: number;
  sectors: number;
  bootable: boolean;
  /** True for a primary extended partition (a container of logical ones). */
  extended: boolean;
}

/** What readMbr found: partitions in number order, the EBR sectors it read, and warnings. */
export interface MbrLayout {
  diskSignature: number;
  partitions: MbrPartition[];
  ebrLbas: number[];
  warnings: string[];
}

/** True when the sector ends in the 0x55 0xAA boot signature (MBR, EBR, or a filesystem boot sector). */
export function hasBootSignature(sector: Buffer): boolean {
  return sector.length >= 512 && sector[BOOT_SIGNATURE_OFFSET] === 0x55 && sector[BOOT_SIGNATURE_OFFSET + 1] === 0xaa;
}

/**
 * True when the sector is the boot sector of a FAT, NTFS or exFAT filesystem rather
 * than a partition table (a "superfloppy" image). Same idea as libblkid: a valid BPB wins.
 */
export function isFilesystemBootSector(sector: Buffer): boolean {
  if (sector.length < 512) return false;
  const oem = sector.toString('latin1', 3, 11);
  if (oem === 'NTFS    ' || oem === 'EXFAT   ') return true;
  const jump = (sector[0] === 0xeb && sector[2] === 0x90) || sector[0] === 0xe9;
  const bytesPerSector = sector.readUInt16LE(11);
  const sectorsPerCluster = sector[13] ?? 0;
  const reservedSectors = sector.readUInt16LE(14);
  const fats = sector[16] ?? 0;
  const media = sector[21] ?? 0;
  return (
    jump &&
    [512, 1024, 2048, 4096].includes(bytesPerSector) &&
    sectorsPerCluster > 0 &&
    (sectorsPerCluster & (sectorsPerCluster - 1)) === 0 &&
    reservedSectors > 0 &&
    (fats === 1 || fats === 2) &&
    (media === 0xf0 || media >= 0xf8)
  );
}

function decodeEntries(sector: Buffer): MbrEntry[] {
  const entries: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const off = TABLE_OFFSET + i * ENTRY_SIZE;
    entries.push({
      slot: i + 1,
      bootIndicator: sector[off] ?? 0,
      type: sector[off + 4] ?? 0,
      firstLba: sector.readUInt32LE(off + 8),
      sectors: sector.readUInt32LE(off + 12),
    });
  }
  return entries;
}

/**
 * Decode sector 0 as an MBR. Throws LayoutProblem when it has no 0x55AA signature or
 * a boot indicator other than 0x00/0x80 (Linux then sees no DOS table either).
 */
export function decodeMbr(sector: Buffer): Mbr {
  if (!hasBootSignature(sector)) throw new LayoutProblem('MBR', 'sector 0 has no 0x55AA boot signature');
  const entries = decodeEntries(sector);
  for (const e of entries) {
    if (e.bootIndicator !== 0 && e.bootIndicator !== 0x80) {
      const flag = `0x${e.bootIndicator.toString(16)}`;
      throw new LayoutProblem('MBR', `entry ${e.slot} has boot indicator ${flag} (only 0x00 and 0x80 are valid): not a partition table`);
    }
  }
  return { diskSignature: sector.readUInt32LE(DISK_SIGNATURE_OFFSET), entries };
}

/** True when the MBR has a GPT protective (0xEE) entry: the disk is GPT (protective or hybrid MBR). */
export function isProtective(mbr: Mbr): boolean {
  return mbr.entries.some((e) => e.type === PROTECTIVE_TYPE && e.sectors > 0);
}

/** True for the MBR types that hold an EBR chain: 0x05 (CHS), 0x0F (LBA), 0x85 (Linux). */
export function isExtendedType(type: number): boolean {
  return type === 0x05 || type === 0x0f || type === 0x85;
}

const TYPE_NAMES: Record<number, string> = {
  0x00: 'empty', 0x01: 'fat12', 0x04: 'fat16', 0x05: 'extended', 0x06: 'fat16', 0x07: 'ntfs',
  0x0b: 'fat32', 0x0c: 'fat32', 0x0e: 'fat16', 0x0f: 'extended', 0x11: 'fat12', 0x12: 'diagnostics',
  0x14: 'fat16', 0x16: 'fat16', 0x17: 'ntfs', 0x1b: 'fat32', 0x1c: 'fat32', 0x1e: 'fat16',
  0x27: 'windows-recovery', 0x42: 'windows-ldm', 0x82: 'swap', 0x83: 'linux', 0x85: 'extended',
  0x8e: 'lvm', 0xa5: 'freebsd', 0xa6: 'openbsd', 0xa8: 'apple-ufs', 0xa9: 'netbsd', 0xab: 'apple-boot',
  0xaf: 'apple-hfs', 0xbf: 'solaris', 0xda: 'non-fs', 0xde: 'dell-utility', 0xe8: 'luks',
  0xee: 'gpt-protective', 0xef: 'efi-system', 0xfd: 'linux-raid',
};

/** A short name for an MBR partition type ('linux', 'swap', 'ntfs', 'extended', …; 'unknown' otherwise). */
export function mbrTypeName(type: number): string {
  return TYPE_NAMES[type] ?? 'unknown';
}

async function readSector(reader: BlockReader, lba: number, sectorSize: number): Promise<Buffer> {
  const offset = lba * sectorSize;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + sectorSize > reader.size) {
    throw new LayoutProblem('MBR', `sector ${lba} is outside the ${reader.size}-byte disk`);
  }
  const buf = await reader.read(offset, sectorSize);
  if (buf.length !== sectorSize) throw new LayoutProblem('MBR', `short read of sector ${lba}`);
  return buf;
}

/**
 * Primary partitions of `mbr` (sector 0, already decoded) plus the logical partitions
 * found by following every extended partition's EBR chain. Loops, EBRs outside the disk
 * or the extended partition, and over-long chains end the chain with a warning.
 * Partition extents are not checked against the disk here (the caller clips them).
 */
export async function readMbr(reader: BlockReader, sectorSize: number, mbr: Mbr): Promise<MbrLayout> {
  const diskSectors = Math.floor(reader.size / sectorSize);
  const out: MbrLayout = { diskSignature: mbr.diskSignature, partitions: [], ebrLbas: [], warnings: [] };
  const extended: MbrPartition[] = [];
  for (const e of mbr.entries) {
    if (e.sectors === 0) continue;
    if (e.firstLba === 0) {
      out.warnings.push(`MBR entry ${e.slot} starts at sector 0 (over the MBR itself): ignored`);
      continue;
    }
    const bootable = e.bootIndicator === 0x80;
    const p: MbrPartition = { number: e.slot, type: e.type, firstLba: e.firstLba, sectors: e.sectors, bootable, extended: isExtendedType(e.type) };
    out.partitions.push(p);
    if (p.extended) extended.push(p);
  }
  if (extended.length > 1) out.warnings.push(`MBR has ${extended.length} extended partitions; following each`);
  const seen = new Set<number>();
  let next = 5;
  for (const ext of extended) {
    const extEnd = ext.firstLba + ext.sectors;
    let ebr = ext.firstLba;
    let regionSectors = ext.sectors;
    for (;;) {
      if (seen.has(ebr)) {
        out.warnings.push(`EBR chain of partition ${ext.number} loops back to sector ${ebr}: chain ended there`);
        break;
      }
      if (out.ebrLbas.length >= MAX_EBRS) {
        out.warnings.push(`more than ${MAX_EBRS} EBRs: chain ended`);
        break;
      }
      if (ebr >= diskSectors) {
        out.warnings.push(`EBR at sector ${ebr} is beyond the disk's last sector ${diskSectors - 1}: chain ended`);
        break;
      }
      if (ebr < ext.firstLba || ebr >= extEnd) {
        out.warnings.push(`EBR at sector ${ebr} is outside extended partition ${ext.number}: chain ended`);
        break;
      }
      seen.add(ebr);
      const sector = await readSector(reader, ebr, sectorSize);
      if (!hasBootSignature(sector)) {
        out.warnings.push(`EBR at sector ${ebr} has no 0x55AA signature: chain ended`);
        break;
      }
      out.ebrLbas.push(ebr);
      const entries = decodeEntries(sector);
      entries.forEach((e, i) => {
        if (e.sectors === 0 || isExtendedType(e.type)) return;
        // Entries 3 and 4 of an EBR are often garbage; take them only when they lie inside this EBR's region.
        if (i >= 2 && (e.firstLba + e.sectors > regionSectors || ebr + e.firstLba + e.sectors > extEnd)) return;
        if (e.firstLba === 0) {
          out.warnings.push(`logical partition ${next} in the EBR at sector ${ebr} starts on the EBR itself: ignored`);
          return;
        }
        const firstLba = ebr + e.firstLba;
        if (firstLba + e.sectors > extEnd) out.warnings.push(`logical partition ${next} ends past extended partition ${ext.number}`);
        out.partitions.push({ number: next++, type: e.type, firstLba, sectors: e.sectors, bootable: e.bootIndicator === 0x80, extended: false });
      });
      const link = entries.find((e) => e.sectors > 0 && isExtendedType(e.type));
      if (!link) break;
      ebr = ext.firstLba + link.firstLba;
      regionSectors = link.sectors;
    }
  }
  return out;
}

/**
 * A copy of a protective MBR sector with its 0xEE entry resized to cover a disk of
 * `diskSectors` sectors (capped at 0xFFFFFFFF, as the spec says). A hybrid MBR (other
 * entries besides the 0xEE one) is returned unchanged: its layout is deliberate.
 */
export function resizeProtectiveMbr(sector: Buffer, diskSectors: number): Buffer {
  const copy = Buffer.from(sector);
  if (!hasBootSignature(copy)) return copy;
  const entries = decodeEntries(copy).filter((e) => e.sectors > 0 || e.type !== 0);
  const only = entries[0];
  if (entries.length !== 1 || !only || only.type !== PROTECTIVE_TYPE || only.firstLba !== 1) return copy;
  const size = Math.min(Math.max(diskSectors - 1, 0), 0xffffffff);
  copy.writeUInt32LE(size, TABLE_OFFSET + (only.slot - 1) * ENTRY_SIZE + 12);
  return copy;
}
