// The chunk store as a directory: chunks/<4 hex>/<64 hex>, each an LZ4 frame.
// A chunk is written to tmp/, fdatasync'ed, then hard-linked into place, so a name
// never points at partial data, and a chunk that already exists is left alone.
import { closeSync, fdatasyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describeSystemError, notFoundError } from '../../errors.js';
import { type ChunkInfo, type ChunkStore, assertDigest, checkFrame } from './chunk-store.js';
import { DIGEST_HEX, STORE_LAYOUT, chunkRelativePath } from './formats.js';

/** Writes one chunk frame durably into the store at `root`. True when it was new. Synchronous: runs in workers. */
export function writeChunkFile(root: string, digest: string, frame: Buffer): boolean {
  const final = join(root, chunkRelativePath(digest));
  if (chunkFileLooksValid(final)) return false;
  const tmp = join(root, STORE_LAYOUT.tmp, `${process.pid}-${randomBytes(6).toString('hex')}.chunk`);
  try {
    const fd = openSync(tmp, 'wx', 0o640);
    try {
      let off = 0;
      while (off < frame.length) off += writeSync(fd, frame, off, frame.length - off);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    mkdirSync(join(root, STORE_LAYOUT.chunks, digest.slice(0, 4)), { recursive: true });
    try {
      linkSync(tmp, final);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Someone else stored it first; an empty leftover of a crash is replaced.
      if (chunkFileLooksValid(final)) return false;
      renameSync(tmp, final);
      return true;
    }
    return true;
  } catch (err) {
    throw describeSystemError(err, `writing chunk ${digest} into store ${root}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already linked and removed, or never created */
    }
  }
}

/** A chunk file exists and is not an empty leftover of a crash. */
function chunkFileLooksValid(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

export function chunkExists(root: string, digest: string): boolean {
  return chunkFileLooksValid(join(root, chunkRelativePath(digest)));
}

export class DirChunkStore implements ChunkStore {
  constructor(readonly root: string) {}

  async has(digest: string): Promise<boolean> {
    assertDigest(digest);
    return chunkExists(this.root, digest);
  }

  async putFrame(digest: string, frame: Buffer, rawSize: number): Promise<boolean> {
    checkFrame(digest, frame, rawSize);
    return writeChunkFile(this.root, digest, frame);
  }

  async getFrame(digest: string): Promise<Buffer> {
    assertDigest(digest);
    try {
      return await readFile(join(this.root, chunkRelativePath(digest)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFoundError(`chunk ${digest} is missing from the store`);
      throw describeSystemError(err, `reading chunk ${digest}`);
    }
  }

  async remove(digest: string): Promise<void> {
    assertDigest(digest);
    await unlink(join(this.root, chunkRelativePath(digest))).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async *list(): AsyncIterable<ChunkInfo> {
    const top = join(this.root, STORE_LAYOUT.chunks);
    let fans: string[];
    try {
      fans = (await readdir(top)).sort();
    } catch {
      return;
    }
    for (const fan of fans) {
      if (!/^[0-9a-f]{4}$/.test(fan)) continue;
      for (const name of (await readdir(join(top, fan))).sort()) {
        if (!DIGEST_HEX.test(name) || !name.startsWith(fan)) continue;
        const st = await stat(join(top, fan, name)).catch(() => null);
        if (st) yield { digest: name, bytes: st.size };
      }
    }
  }
}

/** Names of fan-out directories, for fsync after a backup. */
export function listFanDirs(root: string): string[] {
  try {
    return readdirSync(join(root, STORE_LAYOUT.chunks));
  } catch {
    return [];
  }
}
