// The kernel's view of block devices, as records, and pure parsers of the text it gives:
// /proc/self/mountinfo, /proc/swaps, sysfs `dev` files. Malformed lines are left out, never
// thrown: the kernel wrote them, but a hostile mount point (spaces, newlines, backslashes)
// must not shift fields. Device numbers are "major:minor" strings, as sysfs writes them.

/** "major:minor", e.g. "254:0". */
export type DevNum = string;

/** What a path is, by identity: a block device by its device numbers, a file by st_dev + st_ino. */
export type Identity = { kind: 'block'; dev: DevNum } | { kind: 'file'; dev: DevNum; ino: bigint };

export interface MountEntry {
  /** st_dev of the mounted filesystem (an anonymous 0:N for btrfs, NFS, tmpfs…). */
  dev: DevNum;
  mountPoint: string;
  /** What mountinfo names as the source, e.g. /dev/vda1 (unescaped). */
  source: string;
  fsType: string;
  /** Neither the mount nor the superblock is read-only. */
  writable: boolean;
}

export interface SwapEntry {
  path: string;
  type: string;
}

/** One node of /sys/class/block. */
export interface BlockNode {
  name: string;
  dev: DevNum;
  /** For a partition: the name of its disk; otherwise null. */
  parent: string | null;
  /** Names in holders/ (device-mapper, md, bcache… built on this one). */
  holders: string[];
  /** Names in slaves/ (what a dm or md device is built on). */
  slaves: string[];
  /** For an attached loop device: its backing file and the window of it that it shows. */
  loop: { backingFile: string; offset: number; sizeLimit: number } | null;
}

/** The kernel's view, with the identities the thin layer resolved by stat. */
export interface KernelView {
  blocks: BlockNode[];
  mounts: Array<MountEntry & { sourceDev: DevNum | null }>;
  swaps: Array<SwapEntry & { id: Identity | null }>;
  /** Loop device name → identity of its backing file (block device or regular file). */
  loopBacking: Map<string, Identity>;
}

/** The 64-bit Linux dev_t (Node's st_dev / st_rdev) as "major:minor". */
export function devNumOf(rdev: number | bigint): DevNum {
  const d = BigInt(rdev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n);
  const minor = (d & 0xffn) | ((d >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/** A sysfs `dev` file's text ("8:1\n"), or null when it is not one. */
export function parseDevNum(text: string): DevNum | null {
  const m = /^(\d{1,10}):(\d{1,10})\n?$/.exec(text);
  return m ? `${Number(m[1])}:${Number(m[2])}` : null;
}

/** Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mountinfo: `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 4) continue;
    const dev = parseDevNum(f[2] ?? '');
    const mountPoint = f[4] ?? '';
    if (dev === null || !mountPoint.startsWith('/')) continue;
    const ro = (opts: string | undefined) => (opts ?? '').split(',').includes('ro');
    out.push({ dev, mountPoint: unescapeOctal(mountPoint), source: unescapeOctal(f[dash + 2] ?? ''), fsType: f[dash + 1] ?? '', writable: !ro(f[5]) && !ro(f[dash + 3]) });
  }
  return out;
}

/** /proc/swaps: a header line, then `Filename Type Size Used Priority` (tabs or spaces). */
export function parseSwaps(text: string): SwapEntry[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(/[ \t]+/))
    .filter((f) => (f[0] ?? '').startsWith('/') && f.length >= 2)
    .map((f) => ({ path: unescapeOctal((f[0] as string).replace(/\\040\(deleted\)$/, '')), type: f[1] as string }));
}

/** A loop device's sysfs backing_file text (a trailing " (deleted)" when the file was removed). */
export function parseBackingFile(text: string): { path: string; deleted: boolean } | null {
  const line = text.replace(/\n$/, '');
  if (!line.startsWith('/') || line.includes('\n')) return null;
  const deleted = line.endsWith(' (deleted)');
  return { path: deleted ? line.slice(0, -' (deleted)'.length) : line, deleted };
}

/** A decimal sysfs number (offset, sizelimit), or 0. */
export function parseSysfsNumber(text: string): number {
  const n = Number(text.trim());
  return /^\d{1,20}$/.test(text.trim()) && Number.isSafeInteger(n) ? n : 0;
}
