// An image store directory: config, certification key, chunks, committed images.
// Invariants: an image exists only once images/<id>/ (index + manifest) has been
// renamed into place, after its chunks and files are durable; every id and digest
// taken from outside is checked against its pattern before it becomes a path.
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { conflictError, describeSystemError, integrityError, notFoundError, usageError, userError } from '../../errors.js';
import type { ChunkStore } from './chunk-store.js';
import { DirChunkStore } from './dir-chunk-store.js';
import { fsyncDir, writeFileDurable } from './durable.js';
import { decodeFingerprints } from './fingerprint.js';
import { DEFAULT_CHUNK_SIZE, FINGERPRINTS_ALG, IMAGE_ID, STORE_FORMAT, STORE_LAYOUT, STORE_VERSION, isValidChunkSize } from './formats.js';
import { ImageDraft } from './image-draft.js';
import { type ImageIndex, decodeIndex } from './index-file.js';
import { type StoreLock, acquireLock, describeHolder, liveLocks, processAlive } from './locks.js';
import { type Manifest, type SourceIdentity, verifyManifest } from './manifest.js';

export interface StoreConfig {
  format: typeof STORE_FORMAT;
  version: typeof STORE_VERSION;
  chunkSize: number;
  createdAt: string;
}

export function assertImageId(id: string): void {
  if (!IMAGE_ID.test(id)) throw usageError(`invalid image id ${JSON.stringify(id).slice(0, 80)}: ids look like 20261125T181200Z-3fa9c2d1 (see \`lifeboat image list\`)`);
}

/** Orders manifests by completion time, then id (equal times): oldest first. */
function byCompletion(a: Manifest, b: Manifest): number {
  return a.completedAt < b.completedAt ? -1 : a.completedAt > b.completedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class ImageStore {
  /** The store's chunks: the engine reaches them through this interface only. */
  readonly chunks: ChunkStore;

  private constructor(
    readonly root: string,
    readonly config: StoreConfig,
    readonly key: Buffer,
  ) {
    this.chunks = new DirChunkStore(root);
  }

  /** Opens the store at `dir`; with `create`, makes a new one there if none exists. */
  static async open(dir: string, opts: { create?: boolean; chunkSize?: number } = {}): Promise<ImageStore> {
    const root = resolve(dir);
    const configPath = join(root, STORE_LAYOUT.config);
    if (!existsSync(configPath)) {
      if (!opts.create) throw userError(`no Lifeboat store at ${root}: check --store (a backup creates one)`);
      await ImageStore.init(root, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
    }
    let config: StoreConfig;
    try {
      config = JSON.parse(readFileSync(configPath, 'utf8')) as StoreConfig;
    } catch (err) {
      throw integrityError(`store config ${configPath} is unreadable or not JSON (${(err as Error).message}): restore it from a copy`);
    }
    if (config.format !== STORE_FORMAT) throw integrityError(`${configPath} is not a Lifeboat store config`);
    if (config.version !== STORE_VERSION) throw integrityError(`store ${root} has format version ${config.version}; this Lifeboat reads ${STORE_VERSION}: upgrade Lifeboat`);
    if (!isValidChunkSize(config.chunkSize)) throw integrityError(`store ${root} has an invalid chunk size ${config.chunkSize}`);
    let key: Buffer;
    try {
      key = readFileSync(join(root, STORE_LAYOUT.key));
    } catch (err) {
      throw describeSystemError(err, `certification key of store ${root}`);
    }
    if (key.length !== 32) throw integrityError(`certification key of store ${root} is ${key.length} bytes, expected 32`);
    return new ImageStore(root, config, key);
  }

  private static async init(root: string, chunkSize: number): Promise<void> {
    if (!isValidChunkSize(chunkSize)) throw usageError(`chunk size ${chunkSize} is not a power of two between 64 KiB and 4 MiB`);
    try {
      mkdirSync(root, { recursive: true, mode: 0o750 });
      for (const sub of [STORE_LAYOUT.images, STORE_LAYOUT.tmp, STORE_LAYOUT.locks]) mkdirSync(join(root, sub), { recursive: true, mode: 0o750 });
      DirChunkStore.prepare(root);
      mkdirSync(join(root, 'keys'), { recursive: true, mode: 0o700 });
      const keyPath = join(root, STORE_LAYOUT.key);
      if (!existsSync(keyPath)) await writeFileDurable(keyPath, randomBytes(32), 0o600);
      const config: StoreConfig = { format: STORE_FORMAT, version: STORE_VERSION, chunkSize, createdAt: new Date().toISOString() };
      await writeFileDurable(join(root, STORE_LAYOUT.config), `${JSON.stringify(config, null, 2)}\n`);
    } catch (err) {
      throw describeSystemError(realCause(err, root), `creating store ${root}`);
    }
  }

  /** Throws a clear user error unless the store can be written. */
  assertWritable(): void {
    try {
      accessSync(join(this.root, STORE_LAYOUT.tmp), constants.W_OK);
      accessSync(join(this.root, STORE_LAYOUT.images), constants.W_OK);
    } catch (err) {
      throw describeSystemError(err, `store ${this.root}`);
    }
  }

  imageDir(id: string): string {
    assertImageId(id);
    return join(this.root, STORE_LAYOUT.images, id);
  }

  /** Ids of committed images, oldest first. */
  async imageIds(): Promise<string[]> {
    const names = await readdir(join(this.root, STORE_LAYOUT.images)).catch(() => [] as string[]);
    return names.filter((n) => IMAGE_ID.test(n)).sort();
  }

  /** The certified manifest of image `id`; IntegrityError when it fails certification. */
  async readManifest(id: string): Promise<Manifest> {
    const dir = this.imageDir(id);
    let bytes: Buffer;
    try {
      bytes = await readAtMost(join(dir, 'manifest.json'), MAX_MANIFEST_BYTES);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFoundError(`no image ${id} in store ${this.root}: see \`lifeboat image list --store ${this.root}\``);
      throw describeSystemError(err, `manifest of image ${id}`);
    }
    if (bytes.length > MAX_MANIFEST_BYTES) throw integrityError(`manifest of image ${id} is larger than any manifest (${MAX_MANIFEST_BYTES} bytes): it is damaged; restore an older image`);
    const text = bytes.toString('utf8');
    let manifest: Manifest;
    try {
      manifest = JSON.parse(text) as Manifest;
    } catch {
      throw integrityError(`manifest of image ${id} is not valid JSON (damaged): restore an older image`);
    }
    verifyManifest(manifest, this.key, `image ${id}`);
    if (manifest.id !== id) throw integrityError(`image ${id} holds the manifest of image ${manifest.id}: it was moved or copied by hand`);
    return manifest;
  }

  /** Manifests of every committed image; damaged ones are reported in `damaged`. */
  async listImages(): Promise<{ images: Manifest[]; damaged: Array<{ id: string; error: string }> }> {
    const images: Manifest[] = [];
    const damaged: Array<{ id: string; error: string }> = [];
    for (const id of await this.imageIds()) {
      try {
        images.push(await this.readManifest(id));
      } catch (err) {
        damaged.push({ id, error: (err as Error).message });
      }
    }
    // Oldest first by completion time (milliseconds): ids only tell the second they began.
    images.sort(byCompletion);
    return { images, damaged };
  }

  /**
   * A file of image `id` that its manifest certifies by size and SHA-256, read and checked.
   * Never reads more than one byte past the certified size, whatever the file has become.
   */
  private async readCertified(id: string, name: string, certified: { bytes: number; sha256: string }, subject: string, plural: boolean): Promise<Buffer> {
    const path = join(this.imageDir(id), name);
    if (!Number.isSafeInteger(certified.bytes) || certified.bytes < 0) throw integrityError(`the manifest of image ${id} gives ${name} an impossible size`);
    let data: Buffer;
    try {
      data = await readAtMost(path, certified.bytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw integrityError(`${subject} ${plural ? 'are' : 'is'} missing${name === 'index' ? ': the image cannot be restored' : ''}`);
      throw describeSystemError(err, subject);
    }
    const length = data.length;
    const digest = createHash('sha256').update(data).digest('hex');
    if (length !== certified.bytes || digest !== certified.sha256) {
      const size = length > certified.bytes ? `more than ${certified.bytes} bytes` : `${length} bytes, SHA-256 ${digest.slice(0, 16)}…`;
      throw integrityError(`${subject} ${plural ? 'do' : 'does'} not match the manifest (${size}): ${plural ? 'they are' : 'it is'} damaged or truncated`);
    }
    return data;
  }

  /** The index of a certified image, checked against the manifest's digest of it. */
  async readIndex(manifest: Manifest): Promise<ImageIndex> {
    const subject = `index of image ${manifest.id}`;
    const buf = await this.readCertified(manifest.id, 'index', manifest.index, subject, false);
    const index = decodeIndex(buf, subject);
    if (index.diskSize !== manifest.diskSize || index.chunkSize !== manifest.chunkSize) {
      throw integrityError(`${subject} disagrees with its manifest on disk or chunk size`);
    }
    return index;
  }

  /** The chunk fingerprints of a certified image (16 bytes per chunk), checked against its manifest; null when it has none. */
  async readFingerprints(manifest: Manifest): Promise<Buffer | null> {
    const record = manifest.fingerprints;
    if (!record) return null;
    if (record.alg !== FINGERPRINTS_ALG) throw integrityError(`image ${manifest.id} has fingerprints of an unknown kind ${JSON.stringify(record.alg).slice(0, 40)}: upgrade Lifeboat`);
    if (typeof record.salt !== 'string' || !/^[0-9a-f]{32}$/.test(record.salt)) throw integrityError(`image ${manifest.id} records an invalid fingerprint salt`);
    const subject = `fingerprints of image ${manifest.id}`;
    const buf = await this.readCertified(manifest.id, 'fingerprints', record, subject, true);
    return decodeFingerprints(buf, manifest.chunkCount, subject);
  }

  /** The newest intact image of the same disk (by completion time), made with this store's chunk size. */
  async findParent(source: SourceIdentity): Promise<Manifest | null> {
    const { images } = await this.listImages();
    for (const m of images.reverse()) {
      if (m.chunkSize !== this.config.chunkSize) continue;
      const same = source.serial ? m.source.serial === source.serial : !m.source.serial && m.source.path === source.path && m.source.size === source.size;
      if (same) return m;
    }
    return null;
  }

  /** Starts image `id`: its files are written in a draft that commit() makes visible as images/<id>. */
  draftImage(id: string): Promise<ImageDraft> {
    return ImageDraft.create(id, join(this.root, STORE_LAYOUT.tmp, `${id}.staging`), this.imageDir(id));
  }

  /**
   * Holds image `id`'s chunks for a restore, verify or export: gc refuses while the lock is
   * held, and so does removeImage(id). Release it when the operation ends.
   */
  holdImage(id: string, operation: 'restore' | 'verify' | 'export'): StoreLock {
    assertImageId(id);
    return acquireLock(this.root, 'read', id, operation);
  }

  /** Throws a conflict naming the first restore, verify or export that holds image `id`. */
  private assertNotHeld(id: string): void {
    const holder = liveLocks(this.root).find((l) => l.kind === 'read' && l.subject === id);
    if (holder) throw conflictError(`image ${id} cannot be removed: ${describeHolder(holder)}; remove it after that finishes (or cancel it)`);
  }

  /** Removes image `id` from the listing at once (its chunks wait for gc); refused while a restore, verify or export holds it. */
  async removeImage(id: string): Promise<void> {
    await this.readManifest(id).catch((err) => {
      if ((err as { kind?: string }).kind === 'not-found') throw err;
    });
    this.assertNotHeld(id);
    const trash = join(this.root, STORE_LAYOUT.tmp, `removed-${id}-${process.pid}`);
    await rename(this.imageDir(id), trash);
    // A reader that took its lock meanwhile: put the image back (it may already have read the index).
    try {
      this.assertNotHeld(id);
    } catch (err) {
      await rename(trash, this.imageDir(id));
      throw err;
    }
    fsyncDir(join(this.root, STORE_LAYOUT.images));
    await rm(trash, { recursive: true, force: true });
  }

  /** Total bytes of chunk files (walks the store). */
  async chunkBytes(): Promise<{ chunks: number; bytes: number }> {
    let chunks = 0;
    let bytes = 0;
    for await (const c of this.chunks.list()) {
      chunks++;
      bytes += c.bytes;
    }
    return { chunks, bytes };
  }

  /**
   * Removes image drafts and removal leftovers that no running process owns (gc calls it
   * under its exclusive lock, so no backup is drafting). Staged chunks are the chunk store's.
   */
  async sweepTemp(opts: { dryRun?: boolean } = {}): Promise<number> {
    const dir = join(this.root, STORE_LAYOUT.tmp);
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const owner = /^removed-.*-(\d+)$/.exec(name) ?? /^\.[^.]+.*\.(\d+)-[0-9a-f]+\.tmp$/.exec(name);
      const draft = /^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\.staging$/.test(name);
      if (!draft && (!owner || processAlive(Number(owner[1])))) continue;
      removed++;
      if (!opts.dryRun) await rm(join(dir, name), { recursive: true, force: true });
    }
    return removed;
  }
}

/** A manifest is a few KiB (its layout is summarised); anything much larger is not one. */
const MAX_MANIFEST_BYTES = 4 << 20;

/** The first `limit` + 1 bytes of a file at most: enough to tell it is longer than `limit`, never the whole of a huge file. */
async function readAtMost(path: string, limit: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min((await fh.stat()).size, limit) + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buf.subarray(0, length);
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p reports a read-only or unwritable parent as ENOENT; find the nearest existing
 * ancestor of `path` and ask it, so the operator hears the real reason.
 */
function realCause(err: unknown, path: string): unknown {
  if ((err as NodeJS.ErrnoException)?.code !== 'ENOENT') return err;
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const probe = join(dir, `.lifeboat-probe-${process.pid}`);
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (probeErr) {
    return probeErr;
  }
  return err;
}
