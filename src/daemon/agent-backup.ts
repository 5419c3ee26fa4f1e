// The appliance's side of an agent's backup: one chunk session per job, opened at the
// job's start (gc stays out from then on, so what `has` answers stays true), frames checked
// by the store (decode + SHA-256, never taken on the agent's word) as they arrive, bounded in
// size and count. At finish the appliance, not the agent, checks the index (the reported
// disk, every chunk present, the content digest recomputed), writes and signs the manifest
// with the store key and commits the image. The checks are pure functions over Buffers.
import { createHash } from 'node:crypto';
import { FRAME_SLACK, type BackupStart, type FinishAnswer, type FinishBody, type DiskIdentity } from '../api/agent-wire.js';
import { integrityError, userError } from '../errors.js';
import { backupManifest } from '../imaging/backup-manifest.js';
import { zeroChunkDigest } from '../imaging/backup.js';
import { chunkWorkers } from '../imaging/chunk-pool.js';
import type { ChunkSession } from '../imaging/repo/chunk-store.js';
import type { WorkerPool } from '../imaging/worker-pool.js';
import { decodeFingerprints, encodeFingerprints, fingerprintKey, newFingerprintSalt } from '../imaging/repo/fingerprint.js';
import { FINGERPRINT_SIZE, INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE, NO_FINGERPRINT, UNUSED_DIGEST, ZERO_DIGEST } from '../imaging/repo/formats.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import { type ImageIndex, chunkCountFor, chunkLength, decodeIndex, encodeIndex } from '../imaging/repo/index-file.js';
import { type ImageStats, type Manifest, type PassphraseVerifier, makeImageId, makePassphraseVerifier, signManifest } from '../imaging/repo/manifest.js';
import { AgentRefusal } from './agent-http.js';

/** The most bytes an index (or fingerprints file) of this disk can have: bounds the upload. */
export function uploadLimits(diskSize: number, chunkSize: number): { chunks: number; index: number; fingerprints: number; frame: number } {
  const chunks = chunkCountFor(diskSize, chunkSize);
  return { chunks, index: INDEX_HEADER_SIZE + chunks * INDEX_ENTRY_SIZE, fingerprints: 32 + chunks * FINGERPRINT_SIZE, frame: chunkSize + FRAME_SLACK };
}

/** SHA-256 over every chunk's SHA-256 in disk order, a zero or unused chunk's being that of its zeros (as index-writer.ts computes it). Pure. */
export function contentDigestOf(index: ImageIndex): string {
  const h = createHash('sha256');
  for (let i = 0; i < index.chunkCount; i++) {
    const d = index.digests.subarray(i * INDEX_ENTRY_SIZE, (i + 1) * INDEX_ENTRY_SIZE);
    h.update(d.equals(ZERO_DIGEST) || d.equals(UNUSED_DIGEST) ? zeroChunkDigest(chunkLength(index, i)) : d);
  }
  return h.digest('hex');
}

/** Distinct digests of real chunks in an index (markers left out). Pure. */
export function chunkDigests(index: ImageIndex): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < index.chunkCount; i++) {
    const d = index.digests.subarray(i * INDEX_ENTRY_SIZE, (i + 1) * INDEX_ENTRY_SIZE);
    if (!d.equals(ZERO_DIGEST) && !d.equals(UNUSED_DIGEST)) seen.add(d.toString('hex'));
  }
  return [...seen];
}

/**
 * The uploaded index, checked against what the job knows: the store's chunk size, the disk
 * the agent reported at start and at finish, and the content digest the agent computed.
 * Throws what is wrong. Pure.
 */
export function checkIndex(bytes: Buffer, o: { chunkSize: number; diskSize: number; finish: FinishBody }): ImageIndex {
  const index = decodeIndex(bytes, 'the uploaded index');
  if (index.chunkSize !== o.chunkSize) throw integrityError(`the uploaded index has chunks of ${index.chunkSize} bytes; this job's are ${o.chunkSize}`);
  if (index.diskSize !== o.diskSize) throw integrityError(`the uploaded index is for a disk of ${index.diskSize} bytes; the disk reported at the job's start has ${o.diskSize}`);
  if (o.finish.source.size !== o.diskSize || o.finish.imageBytes !== o.diskSize) throw integrityError(`the finish reports a disk of ${o.finish.source.size} bytes (${o.finish.imageBytes} imaged); the disk reported at the job's start has ${o.diskSize}`);
  const content = contentDigestOf(index);
  if (content !== o.finish.contentSha256) throw integrityError(`the uploaded index gives content digest ${content}; the agent reported ${o.finish.contentSha256}: the index does not describe what was read`);
  return index;
}

/** The image's statistics: what the agent counted (bytes read, zero, reused, hashed), what the appliance saw itself (new chunks). Pure. */
export function imageStats(agent: Record<string, number>, seen: { chunksNew: number; bytesNew: number; storedBytesNew: number }, durationMs: number): ImageStats {
  const n = (k: string) => (Number.isFinite(agent[k]) ? Math.max(0, Math.floor(agent[k] as number)) : 0);
  return {
    bytesRead: n('bytesRead'),
    bytesZero: n('bytesZero'),
    bytesReused: n('bytesReused'),
    bytesNew: seen.bytesNew,
    chunksZero: n('chunksZero'),
    chunksUnused: n('chunksUnused'),
    chunksReused: n('chunksReused'),
    chunksNew: seen.chunksNew,
    ...(agent.bytesHashed !== undefined ? { bytesHashed: n('bytesHashed') } : {}),
    storedBytesNew: seen.storedBytesNew,
    compressionRatio: seen.storedBytesNew > 0 ? seen.bytesNew / seen.storedBytesNew : 1,
    durationMs: Math.max(0, durationMs),
  };
}

export interface BackupContext {
  store: ImageStore;
  /** The job's disk, as the agent reported it at start. */
  disk: DiskIdentity;
  /** The newest image of this machine's disk (its chunks are what `has` answers for), or null. */
  parent: Manifest | null;
  label: string | null;
  /** The machine's name: the manifest's host. */
  host: string;
  passphrase?: string;
}

/** Worker threads per agent backup that check and stage its frames. */
const FRAME_CHECKERS = 2;

/** One agent backup: its session, what was staged, the uploaded index and fingerprints. */
export class BackupUpload {
  readonly limits: ReturnType<typeof uploadLimits>;
  readonly answer: BackupStart;
  private readonly staged = new Set<string>();
  private frames = 0;
  /** Frames that arrived when the store already had them (sent again, or raced by an identical chunk). */
  private framesAgain = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private index: Buffer | null = null;
  private fingerprints: Buffer | null = null;
  private readonly seen = { chunksNew: 0, bytesNew: 0, storedBytesNew: 0 };
  /** Frames checked and how long their checks took (summed, queueing included): said on the job log at finish. */
  readonly checked = { frames: 0, ms: 0 };
  private readonly verifier: PassphraseVerifier | null;
  finishing = false;

  private constructor(
    private readonly o: BackupContext,
    readonly imageId: string,
    private readonly session: ChunkSession,
    private readonly salt: string,
    /**
     * Worker threads that check (decode + SHA-256) and stage frames: the daemon's event loop,
     * which also answers DHCP and TFTP, never waits on a frame. They boot while the agent reads
     * its disk; the first frame waits for them (an incremental of an unchanged disk sends none).
     */
    private readonly checkers: Promise<WorkerPool> | null,
  ) {
    const chunkSize = o.store.config.chunkSize;
    this.limits = uploadLimits(o.disk.sizeBytes, chunkSize);
    this.verifier = o.passphrase !== undefined ? makePassphraseVerifier(o.passphrase) : null;
    const parent = o.parent;
    this.answer = {
      type: 'backup',
      imageId,
      chunkSize,
      parent: parent ? { id: parent.id, chunkCount: parent.chunkCount, hasFingerprints: parent.fingerprints !== undefined } : null,
      fingerprintSalt: salt,
      fingerprintKey: fingerprintKey(o.store.key, salt).toString('hex'),
    };
  }

  /** Opens the job's session (gc stays out until it closes) and decides its lineage. */
  static async open(o: BackupContext, now = new Date()): Promise<BackupUpload> {
    o.store.assertWritable();
    const id = makeImageId(now);
    const session = await o.store.chunks.beginSession(id);
    const salt = o.parent?.fingerprints?.salt ?? newFingerprintSalt();
    // A store other threads can open (the directory store) is checked into from worker threads; the memory twin on this one.
    const checkers = session.ref.kind === 'directory' ? chunkWorkers(FRAME_CHECKERS, { store: o.store.chunks.ref, session: session.ref, chunkSize: o.store.config.chunkSize }) : null;
    checkers?.catch(() => {}); // awaited by the first frame and by close
    return new BackupUpload(o, id, session, /^[0-9a-f]{32}$/.test(salt) ? salt : newFingerprintSalt(), checkers);
  }

  /** The parent's index file, as stored. */
  async parentIndex(): Promise<Buffer> {
    if (!this.o.parent) throw new AgentRefusal(404, 'this backup has no parent image: send every chunk');
    return encodeIndex(await this.o.store.readIndex(this.o.parent));
  }

  /** The parent's fingerprints file, as stored. */
  async parentFingerprints(): Promise<Buffer> {
    const parent = this.o.parent;
    const prints = parent ? await this.o.store.readFingerprints(parent) : null;
    if (!parent || !prints) throw new AgentRefusal(404, 'the parent image has no fingerprints: hash every chunk');
    return encodeFingerprints(parent.chunkCount, prints);
  }

  /** For each digest: in the store, or staged by this job. */
  async has(digests: string[]): Promise<boolean[]> {
    const published = await this.o.store.chunks.has(digests);
    return digests.map((d, i) => (published[i] as boolean) || this.staged.has(d));
  }

  /**
   * Checks and stages one frame. A frame too large, a size out of range, one frame more than
   * the disk can have, or a frame that is not the chunk it claims to be throws an
   * AgentRefusal with `fatal` (the job fails); nothing of it is kept.
   */
  async stage(digest: string, frame: Buffer, rawSize: number): Promise<boolean> {
    if (this.finishing) throw new AgentRefusal(409, 'the backup is finishing: no more chunks');
    const chunkSize = this.answer.chunkSize;
    if (rawSize > chunkSize) throw new AgentRefusal(400, `chunk ${digest} claims ${rawSize} bytes; chunks of this job are at most ${chunkSize}`, { fatal: true });
    if (frame.length > this.limits.frame) throw new AgentRefusal(413, `the frame of chunk ${digest} is ${frame.length} bytes; at most ${this.limits.frame} for chunks of ${chunkSize}`, { fatal: true });
    if (++this.frames > this.limits.chunks) throw new AgentRefusal(413, `more chunk uploads than the ${this.limits.chunks} chunks a disk of ${this.o.disk.sizeBytes} bytes has`, { fatal: true });
    const began = performance.now();
    const staging = this.checkers ? this.stageInWorker(digest, frame, rawSize) : this.session.stage(digest, frame, rawSize);
    this.inFlight.add(staging);
    try {
      const isNew = await staging;
      if (!isNew) this.framesAgain++;
      this.checked.frames++;
      this.checked.ms += performance.now() - began;
      if (isNew && !this.staged.has(digest)) {
        this.staged.add(digest);
        this.seen.chunksNew++;
        this.seen.bytesNew += rawSize;
        this.seen.storedBytesNew += frame.length;
      }
      return isNew;
    } catch (err) {
      if ((err as { kind?: string }).kind === 'integrity' || (err as { kind?: string }).kind === 'usage') throw new AgentRefusal(422, (err as Error).message, { fatal: true });
      throw err;
    } finally {
      this.inFlight.delete(staging);
    }
  }

  /** The job's upload figures: frames that arrived whole, and of them those the store already had. */
  get frameFigures(): { framesReceived: number; framesAlreadyStored: number } {
    return { framesReceived: this.frames, framesAlreadyStored: this.framesAgain };
  }

  private async stageInWorker(digest: string, frame: Buffer, rawSize: number): Promise<boolean> {
    const pool = await (this.checkers as Promise<WorkerPool>);
    const { stored } = await pool.run<{ stored: boolean }>({ type: 'stage', digest, rawSize, frame: new Uint8Array(frame).buffer });
    if (stored) this.session.noteStaged(digest); // starts its trip to disk; publish finds it either way
    return stored;
  }

  putIndex(bytes: Buffer): void {
    if (this.finishing) throw new AgentRefusal(409, 'the backup is finishing');
    decodeIndex(bytes, 'the uploaded index'); // a malformed one is refused now, not at finish
    this.index = bytes;
  }

  putFingerprints(bytes: Buffer): void {
    if (this.finishing) throw new AgentRefusal(409, 'the backup is finishing');
    const count = bytes.length >= 24 ? bytes.readBigUInt64LE(16) : -1n;
    if (count < 0n || count > BigInt(this.limits.chunks)) throw userError(`the uploaded fingerprints are truncated or describe more chunks than the disk has (${this.limits.chunks})`);
    decodeFingerprints(bytes, Number(count), 'the uploaded fingerprints');
    this.fingerprints = bytes;
  }

  /**
   * Checks the upload (index, disk, every chunk present, content digest), publishes the
   * session, signs and commits the image. Throws what is wrong; nothing is committed then.
   */
  async finish(body: FinishBody, now = Date.now()): Promise<{ manifest: Manifest; answer: FinishAnswer; stages: Array<readonly [string, number]> }> {
    this.finishing = true;
    const stages: Array<readonly [string, number]> = [];
    let mark = performance.now();
    const lap = (what: string) => {
      const t = performance.now();
      stages.push([what, t - mark]);
      mark = t;
    };
    await Promise.allSettled([...this.inFlight]);
    lap('frames in flight');
    if (!this.index) throw integrityError('no index was uploaded (PUT job/index before job/finish): nothing was committed');
    const { store } = this.o;
    const { source } = body;
    const disk = this.o.disk;
    if (source.name !== disk.name || source.serial !== disk.serial || source.logicalSectorSize !== disk.logicalSectorSize) {
      throw integrityError(`the finish reports disk ${source.name} (serial ${source.serial ?? 'none'}); the job started on ${disk.name} (serial ${disk.serial ?? 'none'}): nothing was committed`);
    }
    const index = checkIndex(this.index, { chunkSize: this.answer.chunkSize, diskSize: this.o.disk.sizeBytes, finish: body });
    const fingerprintsBytes = this.fingerprints ?? encodeFingerprints(index.chunkCount, Buffer.concat(Array.from({ length: index.chunkCount }, () => NO_FINGERPRINT)));
    decodeFingerprints(fingerprintsBytes, index.chunkCount, 'the uploaded fingerprints');
    lap('index checks');
    const wanted = chunkDigests(index).filter((d) => !this.staged.has(d));
    const present = wanted.length ? await store.chunks.has(wanted) : [];
    const missing = wanted.filter((_d, i) => !present[i]);
    if (missing.length > 0) throw integrityError(`${missing.length} chunk(s) of the index were never uploaded nor are in the store (first: ${missing.slice(0, 3).join(', ')}): nothing was committed`);
    lap('chunks present');
    await this.session.publish();
    lap('publish');
    const draft = await store.draftImage(this.imageId);
    try {
      await draft.writeFile('index', this.index);
      await draft.writeFile('fingerprints', fingerprintsBytes);
      const startedAt = Math.min(Date.parse(body.startedAt), now);
      const unsigned = backupManifest({
        id: this.imageId,
        label: this.o.label,
        host: this.o.host,
        startedAt,
        finishedAt: now,
        source: { path: `/dev/${disk.name}`, kind: 'block', size: disk.sizeBytes, logicalSectorSize: disk.logicalSectorSize, physicalSectorSize: disk.physicalSectorSize, ...(disk.model ? { model: disk.model } : {}), ...(disk.serial ? { serial: disk.serial } : {}) },
        imageBytes: index.diskSize,
        chunkSize: index.chunkSize,
        chunkCount: index.chunkCount,
        parentId: this.o.parent?.id ?? null,
        indexBytes: this.index,
        fingerprintsBytes,
        fingerprintSalt: this.salt,
        contentSha256: body.contentSha256,
        stats: imageStats(body.stats, this.seen, now - startedAt),
        layout: body.layout,
        passphrase: this.verifier,
      });
      const manifest = signManifest(unsigned, store.key);
      await draft.writeFile('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
      await draft.commit();
      lap('manifest and commit');
      return { manifest, answer: { imageId: this.imageId, chunkCount: index.chunkCount, chunksNew: this.seen.chunksNew }, stages };
    } finally {
      await draft.discard();
    }
  }

  /** Ends the session: what was staged and not published is dropped. Idempotent. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.checkers?.then(
      (pool) => pool.close(),
      () => {},
    );
    await this.session.close();
  }
}
