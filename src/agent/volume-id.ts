// Which filesystem a partition (or a whole disk) holds, and its label and UUID, from its
// first 64 KiB: what `blkid` shows, for the filesystems the boot OS can mount read-write
// (ext2/3/4, FAT12/16/32, exFAT) and NTFS (recognised, so the agent can say it cannot write
// there). A pure decoder over a Buffer: any bytes give a value or null, never a throw.

export type VolumeType = 'ext2' | 'ext3' | 'ext4' | 'vfat' | 'exfat' | 'ntfs';

export interface VolumeId {
  type: VolumeType;
  /** The filesystem's label, trimmed; null when it has none (or it is kept where this does not read: exFAT, NTFS). */
  label: string | null;
  /** As blkid prints it: ext 8-4-4-4-12 lowercase hex; FAT/exFAT XXXX-XXXX; NTFS 16 hex digits. Null when none. */
  uuid: string | null;
}

/** Bytes of a device's start that volumeId() reads. */
export const VOLUME_HEAD_BYTES = 64 * 1024;

const EXT_SUPER = 1024;
const EXT_MAGIC = 0xef53;

/** Printable ASCII of a fixed field (NUL-terminated or space-padded), or null. */
function fieldText(b: Buffer, start: number, length: number): string | null {
  const raw = b.subarray(start, start + length);
  const end = raw.indexOf(0);
  const text = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1').replace(/ +$/, '');
  if (text.length === 0 || !/^[\x20-\x7e]+$/.test(text)) return null;
  return text;
}

function ext(b: Buffer): VolumeId | null {
  if (b.length < EXT_SUPER + 1024 || b.readUInt16LE(EXT_SUPER + 0x38) !== EXT_MAGIC) return null;
  const logBlock = b.readUInt32LE(EXT_SUPER + 0x18);
  if (logBlock > 6) return null; // blocks of 1 KiB to 64 KiB
  const compat = b.readUInt32LE(EXT_SUPER + 0x5c);
  const incompat = b.readUInt32LE(EXT_SUPER + 0x60);
  const roCompat = b.readUInt32LE(EXT_SUPER + 0x64);
  // extents, 64bit, flex_bg, huge_file, dir_nlink, extra_isize… mark ext4; a journal alone, ext3
  const type: VolumeType = incompat & (0x40 | 0x80 | 0x200) || roCompat & (0x8 | 0x20 | 0x40) ? 'ext4' : compat & 0x4 ? 'ext3' : 'ext2';
  const hex = b.subarray(EXT_SUPER + 0x68, EXT_SUPER + 0x78).toString('hex');
  const uuid = /^0+$/.test(hex) ? null : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { type, label: fieldText(b, EXT_SUPER + 0x78, 16), uuid };
}

const serial32 = (v: number) => {
  const h = v.toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
};

function bootSector(b: Buffer): VolumeId | null {
  if (b.length < 512) return null;
  const oem = b.subarray(3, 11).toString('latin1');
  if (oem === 'EXFAT   ') return { type: 'exfat', label: null, uuid: serial32(b.readUInt32LE(0x64)) };
  if (oem === 'NTFS    ') return { type: 'ntfs', label: null, uuid: b.readBigUInt64LE(0x48).toString(16).toUpperCase().padStart(16, '0') };
  if (b[0x1fe] !== 0x55 || b[0x1ff] !== 0xaa) return null;
  const bytesPerSector = b.readUInt16LE(11);
  const perCluster = b.readUInt8(13);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || perCluster === 0 || (perCluster & (perCluster - 1)) !== 0 || b.readUInt16LE(14) === 0 || b.readUInt8(16) === 0) return null;
  const fat32 = b.subarray(0x52, 0x5a).toString('latin1') === 'FAT32   ' && b[0x42] === 0x29;
  const fat16 = b.subarray(0x36, 0x3a).toString('latin1') === 'FAT1' && b[0x26] === 0x29;
  if (!fat32 && !fat16) return null;
  const at = fat32 ? 0x43 : 0x27;
  const label = fieldText(b, at + 4, 11);
  return { type: 'vfat', label: label === 'NO NAME' ? null : label, uuid: serial32(b.readUInt32LE(at)) };
}

/** The filesystem at the start of `head` (a device's first bytes), or null when none is recognised. Pure. */
export function volumeId(head: Buffer): VolumeId | null {
  return ext(head) ?? bootSector(head);
}

/** True when `v` is what a destination names: its label exactly, or its UUID (either case). Pure. */
export function volumeMatches(v: VolumeId, want: { label?: string; uuid?: string }): boolean {
  if (want.label !== undefined) return v.label === want.label;
  if (want.uuid !== undefined) return v.uuid !== null && v.uuid.toLowerCase() === want.uuid.toLowerCase();
  return false;
}
