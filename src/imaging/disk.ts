// Disks and files as the engine sees them: size, sector sizes, model and serial
// (from sysfs for block devices). Who uses a disk is decided in src/devices/.
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { describeSystemError, userError } from '../errors.js';
import type { FileHandle } from 'node:fs/promises';
import { LayoutProblem, type BlockReader } from './layout/types.js';
import type { SourceIdentity } from './repo/manifest.js';

function sysfsRead(path: string): string | undefined {
  try {
    const v = readFileSync(path, 'utf8').trim();
    return v.length > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

function blockDeviceInfo(path: string, st: Stats): SourceIdentity {
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  const sectors = sysfsRead(`${sys}/size`);
  if (sectors === undefined) throw userError(`cannot read the size of block device ${path} from ${sys}/size: is /sys mounted?`);
  // A partition's queue parameters live on its parent disk.
  const queue = existsSync(`${sys}/queue`) ? `${sys}/queue` : `${sys}/../queue`;
  const logical = Number(sysfsRead(`${queue}/logical_block_size`) ?? 512);
  const physical = Number(sysfsRead(`${queue}/physical_block_size`) ?? logical);
  const device = existsSync(`${sys}/device`) ? `${sys}/device` : `${sys}/../device`;
  const model = sysfsRead(`${device}/model`);
  const serial = sysfsRead(`${device}/serial`) ?? sysfsRead(`${sys}/serial`) ?? sysfsRead(`${device}/wwid`);
  return { path, kind: 'block', size: Number(sectors) * 512, logicalSectorSize: logical, physicalSectorSize: physical, ...(model ? { model } : {}), ...(serial ? { serial } : {}) };
}

/** Identity and size of a disk or disk-image file; a clear user error when it cannot be used. */
export function describeDisk(path: string): SourceIdentity {
  if (path === '-') return { path, kind: 'stream', size: 0, logicalSectorSize: 512, physicalSectorSize: 512 };
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw describeSystemError(err, `disk ${path}`);
  }
  if (st.isBlockDevice()) return blockDeviceInfo(path, st);
  if (st.isFile()) return { path: resolve(path), kind: 'file', size: st.size, logicalSectorSize: 512, physicalSectorSize: 512 };
  if (st.isFIFO() || st.isCharacterDevice()) return { path, kind: 'stream', size: 0, logicalSectorSize: 512, physicalSectorSize: 512 };
  if (st.isDirectory()) throw userError(`${path} is a directory, not a disk or disk-image file`);
  throw userError(`${path} is neither a block device nor a regular file`);
}

/** A BlockReader over an open disk or file, for the layout parsers. */
export function fileReader(fh: FileHandle, size: number, subject: string): BlockReader {
  return {
    size,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new LayoutProblem('reader', `read of ${length} bytes at ${offset} is outside the ${size}-byte ${subject}`);
      }
      const buf = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(buf, done, length - done, offset + done));
        } catch (err) {
          throw describeSystemError(err, `reading ${subject} at byte ${offset + done}`);
        }
        if (n === 0) throw new LayoutProblem('reader', `${subject} ends at byte ${offset + done}, before its stated size ${size}`);
        done += n;
      }
      return buf;
    },
  };
}
