// The cpio "newc" archive (SVR4 without CRC, magic 070701) the kernel unpacks as an
// initramfs. Pure: entries in, bytes out. Deterministic by construction: the writer sorts
// entries by path, numbers inodes in that order, and every header field not given is 0
// (mtime, uid, gid, device numbers), so the same entries always give the same bytes.
//
// Layout of one member: a 110-byte ASCII header (magic + 13 fields of 8 hex digits), the
// NUL-terminated path, padding to 4 bytes, the data, padding to 4 bytes. The archive ends
// with a member named "TRAILER!!!".
import { bug, userError } from '../errors.js';

export const NEWC_MAGIC = '070701';
export const TRAILER = 'TRAILER!!!';
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

/** A path inside the archive: relative, no empty, '.' or '..' component, no NUL. */
export function checkArchivePath(path: string): string {
  const parts = path.split('/');
  if (path.length === 0 || path.length > 4095 || path.startsWith('/') || path.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw userError(`cpio: path ${JSON.stringify(path)} is not a clean relative path (no leading '/', no '.', '..' or empty components)`);
  }
  return path;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw bug(`cpio header field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function member(ino: number, mode: number, nlink: number, data: Buffer, name: string, rdevmajor = 0, rdevminor = 0): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  // magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const header = NEWC_MAGIC + [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdevmajor, rdevminor, nameBytes.length, 0].map(hex8).join('');
  return [Buffer.from(header, 'ascii'), nameBytes, Buffer.alloc(pad4(110 + nameBytes.length)), data, Buffer.alloc(pad4(data.length))];
}

/** The archive of `entries` (any order; paths must be unique), ending with the trailer. */
export function encodeCpio(entries: readonly CpioEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  let ino = 1;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    checkArchivePath(e.path);
    if (i > 0 && sorted[i - 1]!.path === e.path) throw userError(`cpio: path ${e.path} appears twice`);
    switch (e.type) {
      case 'dir':
        parts.push(...member(ino++, S_IFDIR | (e.mode ?? 0o755), 2, Buffer.alloc(0), e.path));
        break;
      case 'file':
        parts.push(...member(ino++, S_IFREG | (e.mode ?? 0o644), 1, e.data, e.path));
        break;
      case 'symlink':
        parts.push(...member(ino++, S_IFLNK | 0o777, 1, Buffer.from(e.target, 'utf8'), e.path));
        break;
      case 'chardev':
        parts.push(...member(ino++, S_IFCHR | (e.mode ?? 0o600), 1, Buffer.alloc(0), e.path, e.major, e.minor));
        break;
    }
  }
  parts.push(...member(0, 0, 1, Buffer.alloc(0), TRAILER));
  return Buffer.concat(parts);
}

export interface CpioMember {
  path: string;
  mode: number;
  data: Buffer;
}

/** Reads a newc archive back (for tests and for inspecting a built initramfs). */
export function decodeCpio(buf: Buffer): CpioMember[] {
  const out: CpioMember[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > buf.length) throw userError(`cpio: truncated header at byte ${off}`);
    const header = buf.toString('latin1', off, off + 110);
    if (!header.startsWith(NEWC_MAGIC)) throw userError(`cpio: bad magic at byte ${off} (not a newc archive)`);
    const field = (i: number) => {
      const text = header.slice(6 + i * 8, 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(text)) throw userError(`cpio: header field ${i} at byte ${off} is not hex`);
      return parseInt(text, 16);
    };
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize < 1) throw userError(`cpio: empty name at byte ${off}`);
    const nameStart = off + 110;
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (dataStart + size > buf.length) throw userError(`cpio: member at byte ${off} runs past the end`);
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    if (path === TRAILER) return out;
    out.push({ path, mode, data: buf.subarray(dataStart, dataStart + size) });
    off = dataStart + size + pad4(size);
  }
}
