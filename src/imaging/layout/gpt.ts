// The GUID Partition Table (UEFI spec, chapter 5.3). LBA 1 holds the primary header,
// followed by the partition-entry array; the backup entry array and the backup
// header sit at the end of the disk, the header in the last LBA.
//
// Header (little-endian): 0 signature "EFI PART", 8 revision u32, 12 header size u32,
// 16 header CRC32 u32 (over header-size bytes with this field zeroed), 20 reserved u32,
// 24 my LBA, 32 alternate LBA, 40 first usable LBA, 48 last usable LBA (u64 each),
// 56 disk GUID, 72 entry-array LBA u64, 80 entry count u32, 84 entry size u32,
// 88 entry-array CRC32 u32. Entry: 0 type GUID, 16 unique GUID, 32 first LBA u64,
// 40 last LBA u64 (inclusive), 48 attributes u64, 56 name (36 UTF-16LE code units).

import { crc32 } from './crc32.js';
import { type BlockReader, type Extent, LayoutProblem, mergeExtents } from './types.js';

export const GPT_SIGNATURE = Buffer.from('EFI PART', 'latin1');
const MIN_HEADER_SIZE = 92;
const MIN_ENTRY_SIZE = 128;
/** The largest entry array accepted (sgdisk's default is 16 KiB; hostile counts are refused). */
export const MAX_ENTRY_ARRAY_BYTES = 4 * 1024 * 1024;

/** A decoded GPT header; LBAs are Numbers (values past 2^53 are refused). */
export interface GptHeader {
  revision: number;
  headerSize: number;
  myLba: number;
  alternateLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  diskGuid: string;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

/** A used entry of the array; `number` is its 1-based slot, as Linux and sgdisk number it. */
export interface GptPartition {
  number: number;
  typeGuid: string;
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  attributes: bigint;
  name: string;
}

/** A GPT read from a disk: the header in use, the verified entry array, and where the structures lie. */
export interface Gpt {
  sectorSize: number;
  diskSectors: number;
  source: 'primary' | 'backup';
  header: GptHeader;
  /** LBA of the primary entry array (from the primary header, or 2 when only the backup was usable). */
  primaryEntriesLba: number;
  /** The raw entry array, entryCount × entrySize bytes, its CRC verified. */
  entries: Buffer;
  partitions: GptPartition[];
  /** Byte ranges of the protective MBR, both headers and both entry arrays (where known). */
  reserved: Extent[];
  warnings: string[];
}

/** One write of a relocation: `data` goes at byte `offset` of the target disk. */
export interface DiskWrite { offset: number; data: Buffer }

/** Format 16 GUID bytes (mixed-endian, as GPT stores them) as an upper-case GUID string. */
export function guidToString(buf: Buffer, offset = 0): string {
  const hex = (start: number, end: number): string => buf.subarray(offset + start, offset + end).toString('hex');
  const le = (value: number, digits: number): string => value.toString(16).padStart(digits, '0');
  const fields = [le(buf.readUInt32LE(offset), 8), le(buf.readUInt16LE(offset + 4), 4), le(buf.readUInt16LE(offset + 6), 4), hex(8, 10), hex(10, 16)];
  return fields.join('-').toUpperCase();
}

/** The 16 on-disk bytes of a GUID string (inverse of guidToString). */
export function guidToBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (!m) throw new LayoutProblem('GPT', `"${guid}" is not a GUID`);
  const out = Buffer.alloc(16);
  out.writeUInt32LE(parseInt(m[1] as string, 16), 0);
  out.writeUInt16LE(parseInt(m[2] as string, 16), 4);
  out.writeUInt16LE(parseInt(m[3] as string, 16), 6);
  Buffer.from(`${m[4] as string}${m[5] as string}`, 'hex').copy(out, 8);
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'efi-system', '21686148-6449-6E6F-744E-656564454649': 'bios-boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'linux', '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'linux-root',
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': 'linux-root', '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'linux-home',
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D': 'linux-var', 'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'linux-extended-boot',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'swap', 'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'lvm',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'luks', 'A19D880F-05FC-4D3B-A006-743F0F84911E': 'linux-raid',
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'ntfs/basic-data', 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'microsoft-reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'windows-recovery', '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3': 'windows-ldm-metadata',
  'AF9B60A0-1431-4F62-BC68-3311714A69AD': 'windows-ldm-data', '48465300-0000-11AA-AA11-00306543ECAC': 'apple-hfs',
  '7C3457EF-0000-11AA-AA11-00306543ECAC': 'apple-apfs', '6A898CC3-1DD2-11B2-99A6-080020736631': 'zfs',
  '516E7CB6-6ECF-11D6-8FF8-00022D09712B': 'freebsd',
};

/** A short name for a GPT partition type GUID ('efi-system', 'linux', 'swap', …; 'unknown' otherwise). */
export function gptTypeName(typeGuid: string): string {
  return TYPE_NAMES[typeGuid.toUpperCase()] ?? 'unknown';
}

function safeU64(buf: Buffer, offset: number, what: string, subject: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LayoutProblem(subject, `${what} ${v} is beyond 2^53`);
  return Number(v);
}

/** Sectors occupied by the entry array of `h`. */
export function entryArraySectors(h: GptHeader, sectorSize: number): number {
  return Math.ceil((h.entryCount * h.entrySize) / sectorSize);
}

/**
 * Decode and validate the GPT header in `sector`, read from `lba` of a disk of
 * `diskSectors` sectors: signature, size, CRC32, my-LBA, field ranges, and an entry
 * array that lies on the disk clear of LBA 0, of the header and of the usable area.
 * Throws LayoutProblem naming what is wrong.
 */
export function decodeGptHeader(sector: Buffer, lba: number, sectorSize: number, diskSectors: number): GptHeader {
  const subject = `GPT header at LBA ${lba}`;
  if (sector.length < MIN_HEADER_SIZE) throw new LayoutProblem(subject, 'sector too short');
  if (!sector.subarray(0, 8).equals(GPT_SIGNATURE)) throw new LayoutProblem(subject, 'no "EFI PART" signature');
  const headerSize = sector.readUInt32LE(12);
  if (headerSize < MIN_HEADER_SIZE || headerSize > Math.min(sectorSize, sector.length)) {
    throw new LayoutProblem(subject, `header size ${headerSize} is outside ${MIN_HEADER_SIZE}..${sectorSize}`);
  }
  const copy = Buffer.from(sector.subarray(0, headerSize));
  copy.writeUInt32LE(0, 16);
  const stored = sector.readUInt32LE(16);
  const computed = crc32(copy);
  if (stored !== computed) {
    throw new LayoutProblem(subject, `header CRC32 mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  }
  const h: GptHeader = {
    revision: sector.readUInt32LE(8),
    headerSize,
    myLba: safeU64(sector, 24, 'my LBA', subject),
    alternateLba: safeU64(sector, 32, 'alternate LBA', subject),
    firstUsableLba: safeU64(sector, 40, 'first usable LBA', subject),
    lastUsableLba: safeU64(sector, 48, 'last usable LBA', subject),
    diskGuid: guidToString(sector, 56),
    entriesLba: safeU64(sector, 72, 'entry array LBA', subject),
    entryCount: sector.readUInt32LE(80),
    entrySize: sector.readUInt32LE(84),
    entriesCrc: sector.readUInt32LE(88),
  };
  if (h.myLba !== lba) throw new LayoutProblem(subject, `header says it is at LBA ${h.myLba}`);
  if (h.entrySize < MIN_ENTRY_SIZE || (h.entrySize & (h.entrySize - 1)) !== 0) {
    throw new LayoutProblem(subject, `entry size ${h.entrySize} is not 128 × a power of two`);
  }
  if (h.entryCount * h.entrySize > MAX_ENTRY_ARRAY_BYTES) {
    throw new LayoutProblem(subject, `entry array of ${h.entryCount} × ${h.entrySize} bytes is larger than ${MAX_ENTRY_ARRAY_BYTES}`);
  }
  if (h.firstUsableLba > h.lastUsableLba + 1) {
    throw new LayoutProblem(subject, `first usable LBA ${h.firstUsableLba} is after last usable LBA ${h.lastUsableLba}`);
  }
  const arrayEnd = h.entriesLba + entryArraySectors(h, sectorSize);
  if (arrayEnd > diskSectors) throw new LayoutProblem(subject, `entry array at LBA ${h.entriesLba}..${arrayEnd - 1} is outside the ${diskSectors}-sector disk`);
  if (h.entriesLba < 2) throw new LayoutProblem(subject, `entry array at LBA ${h.entriesLba} overlaps the protective MBR or the primary header`);
  if (h.entriesLba <= lba && lba < arrayEnd) throw new LayoutProblem(subject, 'entry array overlaps the header');
  if (h.firstUsableLba <= h.lastUsableLba && h.entriesLba <= h.lastUsableLba && arrayEnd > h.firstUsableLba) {
    throw new LayoutProblem(subject, `entry array at LBA ${h.entriesLba}..${arrayEnd - 1} overlaps the usable area`);
  }
  return h;
}

/**
 * Decode the used entries (type GUID not all zero) of an entry array. Entries whose
 * LBAs are past 2^53 or inverted are skipped with a warning pushed onto `warnings`.
 */
export function decodeGptEntries(array: Buffer, h: GptHeader, warnings: string[]): GptPartition[] {
  const out: GptPartition[] = [];
  const count = Math.min(h.entryCount, Math.floor(array.length / h.entrySize));
  for (let i = 0; i < count; i++) {
    const e = array.subarray(i * h.entrySize, i * h.entrySize + MIN_ENTRY_SIZE);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const number = i + 1;
    try {
      const firstLba = safeU64(e, 32, 'first LBA', `GPT partition ${number}`);
      const lastLba = safeU64(e, 40, 'last LBA', `GPT partition ${number}`);
      if (lastLba < firstLba) throw new LayoutProblem(`GPT partition ${number}`, `last LBA ${lastLba} is before first LBA ${firstLba}`);
      const raw = e.toString('utf16le', 56, 128);
      const nul = raw.indexOf('\0');
      const name = nul < 0 ? raw : raw.slice(0, nul);
      out.push({ number, typeGuid: guidToString(e, 0), uniqueGuid: guidToString(e, 16), firstLba, lastLba, attributes: e.readBigUInt64LE(48), name });
    } catch (err) {
      if (!(err instanceof LayoutProblem)) throw err;
      warnings.push(`${err.message}: entry ignored`);
    }
  }
  return out;
}

async function readLbas(reader: BlockReader, lba: number, count: number, sectorSize: number, subject: string): Promise<Buffer> {
  const offset = lba * sectorSize;
  const length = count * sectorSize;
  if (!Number.isSafeInteger(offset + length) || offset < 0 || offset + length > reader.size) {
    throw new LayoutProblem(subject, `LBA ${lba}+${count} is outside the ${reader.size}-byte disk`);
  }
  const buf = await reader.read(offset, length);
  if (buf.length !== length) throw new LayoutProblem(subject, `short read at LBA ${lba}`);
  return buf;
}

/** One copy (primary or backup) as read: the header if it decoded, the entries if their CRC matched too. */
interface GptCopy {
  h?: GptHeader;
  entries?: Buffer;
  failure: string;
}

async function readCopy(reader: BlockReader, lba: number, sectorSize: number, diskSectors: number): Promise<GptCopy> {
  let h: GptHeader | undefined;
  try {
    h = decodeGptHeader(await readLbas(reader, lba, 1, sectorSize, `GPT header at LBA ${lba}`), lba, sectorSize, diskSectors);
    const subject = `GPT entry array at LBA ${h.entriesLba}`;
    const array = await readLbas(reader, h.entriesLba, entryArraySectors(h, sectorSize), sectorSize, subject);
    const entries = Buffer.from(array.subarray(0, h.entryCount * h.entrySize));
    const crc = crc32(entries);
    if (crc !== h.entriesCrc) throw new LayoutProblem(subject, `CRC32 mismatch (header says 0x${h.entriesCrc.toString(16)}, computed 0x${crc.toString(16)})`);
    return { h, entries, failure: '' };
  } catch (err) {
    if (!(err instanceof LayoutProblem)) throw err;
    return { h, failure: err.message };
  }
}

/**
 * Read the GPT of a disk: the primary at LBA 1, or — when the primary header or its
 * entries are damaged — the backup at the disk's last LBA (or where the primary header
 * points), with a warning. Throws LayoutProblem when neither copy is usable.
 */
export async function readGpt(reader: BlockReader, sectorSize = 512): Promise<Gpt> {
  const diskSectors = Math.floor(reader.size / sectorSize);
  if (diskSectors < 3) throw new LayoutProblem('GPT', `disk of ${reader.size} bytes is too small for a GPT`);
  const last = diskSectors - 1;
  const warnings: string[] = [];
  const primary = await readCopy(reader, 1, sectorSize, diskSectors);
  const backupLbas = primary.entries ? [primary.h?.alternateLba ?? last] : [last];
  if (!primary.entries && primary.h && primary.h.alternateLba !== last) backupLbas.push(primary.h.alternateLba);
  let backup: GptCopy = { failure: '' };
  for (const lba of backupLbas) {
    const onDisk = lba > 1 && lba <= last;
    backup = onDisk
      ? await readCopy(reader, lba, sectorSize, diskSectors)
      : { failure: `alternate LBA ${lba} is not a backup location on the ${diskSectors}-sector disk` };
    if (backup.entries) break;
  }
  let used = primary;
  if (!primary.entries) {
    if (!backup.entries) {
      throw new LayoutProblem('GPT', `primary damaged (${primary.failure}) and backup damaged (${backup.failure}): no usable partition table`);
    }
    warnings.push(`primary GPT is damaged (${primary.failure}); using the backup GPT at LBA ${backup.h?.myLba}`);
    used = backup;
  } else if (!backup.entries) {
    warnings.push(`backup GPT is damaged or missing (${backup.failure}); the primary is intact`);
  } else if (backup.h?.entriesCrc !== primary.h?.entriesCrc || backup.h?.alternateLba !== 1 || backup.h.diskGuid !== primary.h?.diskGuid) {
    warnings.push(`backup GPT at LBA ${backup.h?.myLba} does not match the primary`);
  }
  const { h, entries } = used;
  if (!h || !entries) throw new Error('bug: GPT copy without header or entries');
  const backupLba = backup.entries ? backup.h?.myLba : undefined;
  if (backupLba !== undefined && backupLba !== last) warnings.push(`backup GPT is at LBA ${backupLba}, not at the disk's last LBA ${last} (disk resized?)`);
  if (h.lastUsableLba > last) warnings.push(`GPT's last usable LBA ${h.lastUsableLba} is beyond the disk's last LBA ${last} (image of a larger disk?)`);
  const partitions = decodeGptEntries(entries, h, warnings);
  for (const p of partitions) {
    if (p.firstLba < h.firstUsableLba || p.lastLba > h.lastUsableLba) {
      warnings.push(`GPT partition ${p.number} (LBA ${p.firstLba}..${p.lastLba}) is outside the usable area ${h.firstUsableLba}..${h.lastUsableLba}`);
    }
  }
  const source = used === primary ? 'primary' : 'backup';
  const primaryEntriesLba = primary.h?.entriesLba ?? 2;
  const arraySectors = entryArraySectors(h, sectorSize);
  const lbas = (lba: number, count: number): Extent => ({ start: lba * sectorSize, length: Math.max(0, Math.min(count, diskSectors - lba)) * sectorSize });
  const reserved = [lbas(0, 2), lbas(primaryEntriesLba, arraySectors)];
  if (backupLba !== undefined && backup.h) reserved.push(lbas(backup.h.entriesLba, arraySectors), lbas(backupLba, 1));
  return { sectorSize, diskSectors, source, header: h, primaryEntriesLba, entries, partitions, reserved: mergeExtents(reserved), warnings };
}

/** The fewest sectors a disk needs to hold every partition of `gpt` plus the backup GPT after them. */
export function gptMinimumSectors(gpt: Gpt): number {
  const highest = gpt.partitions.reduce((max, p) => Math.max(max, p.lastLba), gpt.header.firstUsableLba);
  return highest + 2 + entryArraySectors(gpt.header, gpt.sectorSize);
}

/** True when every partition of `gpt` fits on a disk of `diskSectors` sectors (backup GPT included). */
export function gptFits(gpt: Gpt, diskSectors: number): boolean {
  return diskSectors >= gptMinimumSectors(gpt);
}

/** The `sectorSize` bytes of a header sector for `h`, CRC32 computed (reserved bytes zero). */
export function encodeGptHeader(h: GptHeader, sectorSize: number): Buffer {
  if (h.headerSize < MIN_HEADER_SIZE || h.headerSize > sectorSize) {
    throw new LayoutProblem('GPT', `header size ${h.headerSize} does not fit a ${sectorSize}-byte sector`);
  }
  const out = Buffer.alloc(sectorSize);
  GPT_SIGNATURE.copy(out, 0);
  out.writeUInt32LE(h.revision, 8);
  out.writeUInt32LE(h.headerSize, 12);
  out.writeBigUInt64LE(BigInt(h.myLba), 24);
  out.writeBigUInt64LE(BigInt(h.alternateLba), 32);
  out.writeBigUInt64LE(BigInt(h.firstUsableLba), 40);
  out.writeBigUInt64LE(BigInt(h.lastUsableLba), 48);
  guidToBytes(h.diskGuid).copy(out, 56);
  out.writeBigUInt64LE(BigInt(h.entriesLba), 72);
  out.writeUInt32LE(h.entryCount, 80);
  out.writeUInt32LE(h.entrySize, 84);
  out.writeUInt32LE(h.entriesCrc, 88);
  out.writeUInt32LE(crc32(out.subarray(0, h.headerSize)), 16);
  return out;
}

/**
 * The GPT of `gpt` adapted to a disk of `diskSectors` sectors: primary header (LBA 1),
 * primary entry array, backup entry array and backup header at the disk's real end,
 * last usable LBA moved accordingly, CRCs recomputed. Partitions keep their places;
 * throws LayoutProblem when they do not fit (see gptFits). The protective MBR is not
 * included (see resizeProtectiveMbr in mbr.ts).
 */
export function relocateGpt(gpt: Gpt, diskSectors: number): DiskWrite[] {
  const ss = gpt.sectorSize;
  if (!Number.isSafeInteger(diskSectors * ss)) throw new LayoutProblem('GPT', `disk of ${diskSectors} sectors is too large`);
  const need = gptMinimumSectors(gpt);
  if (diskSectors < need) {
    throw new LayoutProblem('GPT', `disk of ${diskSectors} sectors is too small: the partitions need at least ${need} sectors (${need * ss} bytes)`);
  }
  const arraySectors = entryArraySectors(gpt.header, ss);
  if (gpt.primaryEntriesLba < 2 || gpt.primaryEntriesLba + arraySectors > gpt.header.firstUsableLba) {
    throw new LayoutProblem('GPT', `primary entry array at LBA ${gpt.primaryEntriesLba} does not fit before first usable LBA ${gpt.header.firstUsableLba}`);
  }
  const array = Buffer.alloc(arraySectors * ss);
  gpt.entries.copy(array);
  const last = diskSectors - 1;
  const common = { ...gpt.header, lastUsableLba: last - arraySectors - 1, entriesCrc: crc32(gpt.entries) };
  const primary = encodeGptHeader({ ...common, myLba: 1, alternateLba: last, entriesLba: gpt.primaryEntriesLba }, ss);
  const backup = encodeGptHeader({ ...common, myLba: last, alternateLba: 1, entriesLba: last - arraySectors }, ss);
  return [
    { offset: ss, data: primary },
    { offset: gpt.primaryEntriesLba * ss, data: array },
    { offset: (last - arraySectors) * ss, data: array },
    { offset: last * ss, data: backup },
  ];
}
