// The ordered index writer of a backup: chunk records arrive in any order (workers finish
// when they finish), the index gets them in disk order. Entries are written in batches
// after the header's place; the header is written last, when the chunk count and disk size
// are known (a stream's only at its end). The fingerprints and the content digest follow
// the same order, so they are kept here too. Memory: the records waiting for an earlier
// chunk (at most the pipeline's limit), one batch of entries, 16 bytes a chunk of
// fingerprints (4 MiB for a 1 TB disk).
import { createHash } from 'node:crypto';
import { bug } from '../errors.js';
import { INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE } from './repo/formats.js';
import { encodeIndexHeader } from './repo/index-file.js';
import type { PositionalFile } from './repo/image-draft.js';

export interface ChunkRecord {
  /** The index entry: SHA-256 of the chunk, or the zero / unused marker. */
  entry: Buffer;
  /** 16 bytes (NO_FINGERPRINT for chunks without data). */
  fingerprint: Buffer;
  /** What the content digest takes for this chunk: its SHA-256 (a zero chunk's too). */
  contentDigest: Buffer;
}

export interface IndexSummary {
  chunkCount: number;
  /** Fingerprints in disk order, 16 bytes each. */
  fingerprints: Buffer;
  /** SHA-256 of the chunk digests in disk order (hex). */
  contentSha256: string;
}

export class IndexWriter {
  private readonly waiting = new Map<number, ChunkRecord>();
  private nextInOrder = 0;
  private batch: Buffer[] = [];
  private position = INDEX_HEADER_SIZE;
  private readonly writes = new Set<Promise<void>>();
  private writeError: unknown = null;
  private readonly prints: Buffer[] = [];
  private readonly content = createHash('sha256');
  private finished = false;

  /** `batchEntries`: entries per write (4096 × 32 bytes = 128 KiB). */
  constructor(
    private readonly file: PositionalFile,
    private readonly batchEntries = 4096,
  ) {}

  /** Chunks put in disk order so far. */
  get indexed(): number {
    return this.nextInOrder;
  }

  /** Takes chunk `i`'s record; resolves once a batch it completed is written. */
  async put(i: number, record: ChunkRecord): Promise<void> {
    if (this.finished) throw bug(`index record ${i} after the index was finished`);
    if (!Number.isSafeInteger(i) || i < this.nextInOrder || this.waiting.has(i)) throw bug(`index record ${i} given twice`);
    if (record.entry.length !== INDEX_ENTRY_SIZE) throw bug(`index entry of ${record.entry.length} bytes`);
    this.waiting.set(i, record);
    for (let r = this.waiting.get(this.nextInOrder); r; r = this.waiting.get(this.nextInOrder)) {
      this.waiting.delete(this.nextInOrder);
      this.batch.push(r.entry);
      this.prints.push(r.fingerprint);
      this.content.update(r.contentDigest);
      this.nextInOrder++;
    }
    if (this.batch.length >= this.batchEntries) await this.flush();
  }

  /** Writes the entries gathered so far; the position is taken before the write, so writes may overlap. */
  private flush(): Promise<void> {
    if (this.batch.length === 0) return Promise.resolve();
    const data = Buffer.concat(this.batch);
    this.batch = [];
    const at = this.position;
    this.position += data.length;
    const w = this.file.write(data, at).catch((err: unknown) => {
      this.writeError ??= err;
      throw err;
    });
    const tracked = w.then(
      () => undefined,
      () => undefined,
    );
    this.writes.add(tracked);
    void tracked.then(() => this.writes.delete(tracked));
    return w;
  }

  /** After the last record: the rest of the entries, then the header, then fsync. */
  async finish(header: { chunkSize: number; diskSize: number }): Promise<IndexSummary> {
    if (this.waiting.size > 0) throw bug(`index finished with ${this.waiting.size} record(s) waiting for chunk ${this.nextInOrder}`);
    this.finished = true;
    await this.flush().catch(() => {});
    await Promise.all(this.writes);
    if (this.writeError) throw this.writeError;
    await this.file.write(encodeIndexHeader({ ...header, chunkCount: this.nextInOrder }), 0);
    await this.file.finish();
    return { chunkCount: this.nextInOrder, fingerprints: Buffer.concat(this.prints), contentSha256: this.content.digest('hex') };
  }
}
