// The chunk store as a directory: chunks/<4 hex>/<64 hex>, each an LZ4 frame. The only
// file that knows this layout (and tmp/'s staged names); the engine goes through the
// ChunkStore interface, worker threads through the reader and stager built here from a ref.
//
// A session stages each new frame as tmp/<session>-<digest>.chunk without syncing; its
// fdatasync starts on the libuv thread pool as soon as the session hears of the frame
// (noteStaged), so disk writes overlap hashing and compression. publish() then flushes
// what was not flushed yet (one by one when few, else one syncfs), hard-links every staged
// frame to its name (an existing chunk is left alone), and flushes the directories. So a
// chunk name never points at data that is not on disk. A session holds the store's shared
// backup lock: gc stays out while it runs. A crashed session leaves only tmp/ files
// named by its pid, which sweep() removes once that process is gone.
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describeSystemError, externalError, notFoundError, usageError } from '../../errors.js';
import { frameBound } from '../lz4-frame.js';
import { type ChunkInfo, type ChunkReader, type ChunkSession, type ChunkSessionRef, type ChunkStore, type FrameStager, type StageOptions, assertDigest, checkFrame } from './chunk-store.js';
import { DIGEST_HEX, MAX_CHUNK_SIZE, STORE_LAYOUT, chunkRelativePath } from './formats.js';
import { type StoreLock, acquireLock, processAlive } from './locks.js';

/** No frame of a chunk is larger: a chunk file is never read past it. */
const MAX_FRAME = frameBound(MAX_CHUNK_SIZE);
/** Publishing this many or fewer: flush files one by one; more: one filesystem flush. */
const FEW_CHUNKS = 64;
/** Staged frames and old temp chunk files: <pid>-<hex>[-<digest>].chunk. */
const TEMP_CHUNK = /^(\d+)-[0-9a-f]+(?:-([0-9a-f]{64}))?\.chunk$/;

const chunkPath = (root: string, digest: string) => join(root, chunkRelativePath(digest));
const stagedPath = (root: string, session: string, digest: string) => join(root, STORE_LAYOUT.tmp, `${session}-${digest}.chunk`);

/** A file exists and is not an empty leftover of a crash. */
function looksValid(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

function assertSession(session: string): void {
  if (typeof session !== 'string' || !/^\d+-[0-9a-f]{8}$/.test(session)) throw usageError(`invalid chunk session ${JSON.stringify(session)?.slice(0, 40)}`);
}

/** Reads a chunk file into `into` (at most its length, never past the largest frame); synchronous, for worker threads. */
function readFrameSync(root: string, digest: string, into?: Buffer): Buffer {
  assertDigest(digest);
  let fd: number;
  try {
    fd = openSync(chunkPath(root, digest), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFoundError(`chunk ${digest} is missing from the store`);
    throw describeSystemError(err, `reading chunk ${digest}`);
  }
  try {
    const want = Math.min(fstatSync(fd).size, into?.length ?? MAX_FRAME + 1);
    const buf = into ?? Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      const n = readSync(fd, buf, done, want - done, done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } catch (err) {
    throw describeSystemError(err, `reading chunk ${digest}`);
  } finally {
    closeSync(fd);
  }
}

/** Per-thread scratch for the ingest check's decode (grown to the largest chunk seen). */
let scratch = Buffer.alloc(0);
function scratchFor(rawSize: number): Buffer {
  if (scratch.length < rawSize && rawSize <= MAX_CHUNK_SIZE) scratch = Buffer.allocUnsafeSlow(rawSize);
  return scratch;
}

/** Worker-thread side of a directory store: reads frames synchronously (one task at a time per thread). */
export function dirChunkReader(root: string): ChunkReader {
  return { getFrame: async (digest, into) => readFrameSync(root, digest, into) };
}

/** Worker-thread side of a directory session: checks and writes staged frames synchronously. */
export function dirFrameStager(root: string, session: string): FrameStager {
  assertSession(session);
  return {
    has: async (digest) => {
      assertDigest(digest);
      return looksValid(chunkPath(root, digest)) || looksValid(stagedPath(root, session, digest));
    },
    stage: async (digest, frame, rawSize, opts) => {
      checkFrame(digest, frame, rawSize, opts, scratchFor(rawSize));
      if (looksValid(chunkPath(root, digest))) return false;
      const tmp = stagedPath(root, session, digest);
      let fd: number;
      try {
        fd = openSync(tmp, 'wx', 0o640);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false; // another thread of the session staged it first
        throw describeSystemError(err, `staging chunk ${digest} in store ${root}`);
      }
      try {
        for (let off = 0; off < frame.length; ) off += writeSync(fd, frame, off, frame.length - off);
      } catch (err) {
        closeSync(fd);
        unlinkQuietly(tmp);
        throw describeSystemError(err, `staging chunk ${digest} in store ${root}`);
      }
      closeSync(fd);
      return true;
    },
  };
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* gone already, or never made */
  }
}

/** fsync of one file or directory. */
function flushPath(path: string, subject: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw describeSystemError(err, `flushing ${subject}`);
  }
}

/** syncfs(2) of the filesystem holding `path`, through coreutils `sync -f`. */
function syncFilesystem(path: string): void {
  const r = spawnSync('sync', ['-f', path], { encoding: 'utf8' });
  if (r.error) throw describeSystemError(r.error, `flushing the filesystem of ${path} (sync -f)`);
  if (r.status !== 0) throw externalError(`sync -f ${path}`, r.stderr ?? '', r.status);
}

class DirChunkSession implements ChunkSession {
  readonly ref: ChunkSessionRef;
  private readonly stager: FrameStager;
  /** Staged frames whose fdatasync was started, and how it went. */
  private readonly flushes = new Map<string, Promise<boolean>>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly session: string,
    private readonly lock: StoreLock,
  ) {
    this.ref = { kind: 'directory', root, session };
    this.stager = dirFrameStager(root, session);
  }

  has(digest: string): Promise<boolean> {
    return this.stager.has(digest);
  }

  async stage(digest: string, frame: Buffer, rawSize: number, opts?: StageOptions): Promise<boolean> {
    if (this.closed) throw usageError(`staging into chunk session ${this.session}, which has ended`);
    checkFrame(digest, frame, rawSize, opts);
    if (looksValid(chunkPath(this.root, digest))) return false;
    try {
      await writeFile(stagedPath(this.root, this.session, digest), frame, { flag: 'wx', mode: 0o640 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      await unlink(stagedPath(this.root, this.session, digest)).catch(() => {});
      throw describeSystemError(err, `staging chunk ${digest} in store ${this.root}`);
    }
    this.noteStaged(digest);
    return true;
  }

  noteStaged(digest: string): void {
    if (this.closed || this.flushes.has(digest) || !DIGEST_HEX.test(digest)) return;
    const path = stagedPath(this.root, this.session, digest);
    const flushed = open(path, 'r').then(async (fh) => {
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      return true;
    });
    flushed.catch(() => {}); // publish reports it; a closed session does not care
    this.flushes.set(digest, flushed);
  }

  /** Digests this session has staged (what tmp/ holds under its name). */
  private stagedDigests(): string[] {
    const prefix = `${this.session}-`;
    let names: string[];
    try {
      names = readdirSync(join(this.root, STORE_LAYOUT.tmp));
    } catch (err) {
      throw describeSystemError(err, `staging area of store ${this.root}`);
    }
    return names.filter((n) => n.startsWith(prefix) && n.endsWith('.chunk')).map((n) => n.slice(prefix.length, -'.chunk'.length)).filter((d) => DIGEST_HEX.test(d));
  }

  async publish(): Promise<number> {
    if (this.closed) throw usageError('publish of a closed chunk session');
    const staged = this.stagedDigests();
    if (staged.length === 0) return 0;
    const unflushed: string[] = [];
    for (const digest of staged) {
      const flushed = this.flushes.get(digest);
      if (!flushed) unflushed.push(digest);
      else await flushed.catch((err: unknown) => {
        throw describeSystemError(err, `flushing staged chunk ${digest}`);
      });
    }
    const few = staged.length <= FEW_CHUNKS;
    if (unflushed.length <= FEW_CHUNKS) for (const digest of unflushed) flushPath(stagedPath(this.root, this.session, digest), `staged chunk ${digest}`);
    else syncFilesystem(join(this.root, STORE_LAYOUT.tmp));
    const fans = new Set<string>();
    let newFan = false;
    let fresh = 0;
    for (const digest of staged) {
      const tmp = stagedPath(this.root, this.session, digest);
      const final = chunkPath(this.root, digest);
      try {
        const fan = join(this.root, STORE_LAYOUT.chunks, digest.slice(0, 4));
        if (mkdirSync(fan, { recursive: true }) !== undefined) newFan = true;
        fans.add(fan);
        try {
          linkSync(tmp, final);
          fresh++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          // Someone else published it first (left alone); an empty leftover of a crash is replaced.
          if (!looksValid(final)) {
            renameSync(tmp, final);
            fresh++;
          }
        }
        unlinkQuietly(tmp);
        this.flushes.delete(digest);
      } catch (err) {
        throw describeSystemError(err, `storing chunk ${digest} in store ${this.root}`);
      }
    }
    if (few) {
      for (const fan of fans) flushPath(fan, `chunk directory ${fan}`);
      if (newFan) flushPath(join(this.root, STORE_LAYOUT.chunks), 'the chunks directory');
    } else syncFilesystem(join(this.root, STORE_LAYOUT.chunks));
    return fresh;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.flushes.values()); // no flush may still hold a staged file when it is removed
    this.flushes.clear();
    try {
      for (const digest of this.stagedDigests()) unlinkQuietly(stagedPath(this.root, this.session, digest));
    } finally {
      this.lock.release();
    }
  }
}

export class DirChunkStore implements ChunkStore {
  readonly ref;

  constructor(readonly root: string) {
    this.ref = { kind: 'directory' as const, root };
  }

  /** Makes the directories a new store's chunks live in (the store's tmp/ is its own). */
  static prepare(root: string): void {
    mkdirSync(join(root, STORE_LAYOUT.chunks), { recursive: true, mode: 0o750 });
  }

  async has(digests: readonly string[]): Promise<boolean[]> {
    return digests.map((d) => {
      assertDigest(d);
      return looksValid(chunkPath(this.root, d));
    });
  }

  async getFrame(digest: string, into?: Buffer): Promise<Buffer> {
    assertDigest(digest);
    let fh;
    try {
      fh = await open(chunkPath(this.root, digest), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFoundError(`chunk ${digest} is missing from the store`);
      throw describeSystemError(err, `reading chunk ${digest}`);
    }
    try {
      const want = Math.min((await fh.stat()).size, into?.length ?? MAX_FRAME + 1);
      const buf = into ?? Buffer.allocUnsafe(want);
      let done = 0;
      while (done < want) {
        const { bytesRead } = await fh.read(buf, done, want - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    } catch (err) {
      throw describeSystemError(err, `reading chunk ${digest}`);
    } finally {
      await fh.close();
    }
  }

  async beginSession(subject: string): Promise<ChunkSession> {
    if (!/^[\w.-]{1,128}$/.test(subject)) throw usageError(`invalid session subject ${JSON.stringify(subject).slice(0, 80)}: letters, digits, '.', '_' and '-' only`);
    const lock = acquireLock(this.root, 'backup', subject);
    return new DirChunkSession(this.root, `${process.pid}-${randomBytes(4).toString('hex')}`, lock);
  }

  async remove(digest: string): Promise<void> {
    assertDigest(digest);
    await unlink(chunkPath(this.root, digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw describeSystemError(err, `removing chunk ${digest}`);
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
      for (const name of (await readdir(join(top, fan)).catch(() => [] as string[])).sort()) {
        if (!DIGEST_HEX.test(name) || !name.startsWith(fan)) continue;
        const st = await stat(join(top, fan, name)).catch(() => null);
        if (st?.isFile()) yield { digest: name, bytes: st.size };
      }
    }
  }

  async sweep(opts: { dryRun?: boolean } = {}): Promise<number> {
    const dir = join(this.root, STORE_LAYOUT.tmp);
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const m = TEMP_CHUNK.exec(name);
      if (!m || processAlive(Number(m[1]))) continue;
      removed++;
      if (!opts.dryRun) await rm(join(dir, name), { force: true });
    }
    return removed;
  }
}
