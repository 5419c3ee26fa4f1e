// The in-memory twin of the chunk store, for fast unit tests of code that uses a
// ChunkStore. Same contract as the directory store (chunk-store.suite.ts runs on both);
// its refs work only in the thread that made it (a worker thread cannot reach it).
import { bug, notFoundError, usageError } from '../../errors.js';
import { type ChunkInfo, type ChunkSession, type ChunkSessionRef, type ChunkStore, type ChunkStoreRef, type StageOptions, assertDigest, checkFrame } from './chunk-store.js';

const stores = new Map<number, MemoryChunkStore>();
let nextId = 1;

class MemorySession implements ChunkSession {
  readonly ref: ChunkSessionRef;
  readonly staged = new Map<string, Buffer>();
  closed = false;
  /** False once its owner "crashed": it ended without publish or close. */
  alive = true;

  constructor(
    private readonly store: MemoryChunkStore,
    readonly id: string,
  ) {
    this.ref = { ...store.ref, session: id };
  }

  async has(digest: string): Promise<boolean> {
    assertDigest(digest);
    return this.staged.has(digest) || this.store.holds(digest);
  }

  async stage(digest: string, frame: Buffer, rawSize: number, opts?: StageOptions): Promise<boolean> {
    if (this.closed || !this.alive) throw usageError(`staging into chunk session ${this.id}, which has ended`);
    checkFrame(digest, frame, rawSize, opts);
    if (this.staged.has(digest) || this.store.holds(digest)) return false;
    this.staged.set(digest, Buffer.from(frame));
    return true;
  }

  noteStaged(): void {
    // frames staged through the ref are in this very object
  }

  async publish(): Promise<number> {
    if (this.closed) throw usageError('publish of a closed chunk session');
    let fresh = 0;
    for (const [digest, frame] of this.staged) if (this.store.keep(digest, frame)) fresh++;
    this.staged.clear();
    return fresh;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.staged.clear();
    this.store.forget(this.id);
  }
}

export class MemoryChunkStore implements ChunkStore {
  readonly ref: ChunkStoreRef;
  private readonly frames = new Map<string, Buffer>();
  private readonly sessions = new Map<string, MemorySession>();

  constructor() {
    this.ref = { kind: 'memory', id: nextId++ };
    stores.set(this.ref.id, this);
  }

  /** The store a memory ref names (same thread only). */
  static fromRef(ref: { id: number }): MemoryChunkStore {
    const store = stores.get(ref.id);
    if (!store) throw bug(`memory chunk store ${ref.id} is not in this thread: a memory store is reachable only from the thread that made it`);
    return store;
  }

  /** The session a memory ref names (same thread only). */
  static sessionFromRef(ref: ChunkSessionRef): ChunkSession {
    const session = MemoryChunkStore.fromRef(ref as { id: number }).sessions.get(ref.session);
    if (!session?.alive || session.closed) throw usageError(`chunk session ${ref.session} has ended`);
    return session;
  }

  holds(digest: string): boolean {
    return this.frames.has(digest);
  }

  keep(digest: string, frame: Buffer): boolean {
    if (this.frames.has(digest)) return false;
    this.frames.set(digest, frame);
    return true;
  }

  forget(session: string): void {
    this.sessions.delete(session);
  }

  /** The twin's crash: the session's owner is gone without publish or close (sweep then drops what it staged). */
  crash(session: ChunkSession): void {
    const s = this.sessions.get(session.ref.session);
    if (s) s.alive = false;
  }

  async has(digests: readonly string[]): Promise<boolean[]> {
    return digests.map((d) => {
      assertDigest(d);
      return this.frames.has(d);
    });
  }

  async getFrame(digest: string, into?: Buffer): Promise<Buffer> {
    assertDigest(digest);
    const frame = this.frames.get(digest);
    if (!frame) throw notFoundError(`chunk ${digest} is missing from the store`);
    if (!into) return Buffer.from(frame);
    const n = frame.copy(into, 0, 0, Math.min(frame.length, into.length));
    return into.subarray(0, n);
  }

  async beginSession(subject: string): Promise<ChunkSession> {
    if (typeof subject !== 'string' || subject.length === 0) throw usageError('a chunk session needs a subject');
    const session = new MemorySession(this, `${subject}-${nextId++}`);
    this.sessions.set(session.id, session);
    return session;
  }

  async *list(): AsyncIterable<ChunkInfo> {
    for (const [digest, frame] of [...this.frames].sort(([a], [b]) => (a < b ? -1 : 1))) yield { digest, bytes: frame.length };
  }

  async remove(digest: string): Promise<void> {
    assertDigest(digest);
    this.frames.delete(digest);
  }

  async sweep(opts: { dryRun?: boolean } = {}): Promise<number> {
    let removed = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.alive) continue;
      removed += session.staged.size;
      if (!opts.dryRun) {
        session.staged.clear();
        this.sessions.delete(session.id);
      }
    }
    return removed;
  }
}
