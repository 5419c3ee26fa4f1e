// Cuts a byte stream into fixed-size chunks aligned to stream offsets (a pipe from
// `dd`, `ssh`, or the network). Pure: push bytes in, take whole chunks out; how the
// input was split never changes the chunks.

export class Chunker {
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;

  constructor(readonly chunkSize: number) {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`chunk size ${chunkSize}`);
  }

  /** Queues input (the chunker keeps a reference: do not reuse `data`). */
  push(data: Buffer): void {
    if (this.ended) throw new Error('Chunker: push after end');
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
  }

  /** No more input: the remainder becomes the last, shorter chunk. */
  end(): void {
    this.ended = true;
  }

  /** A whole chunk (or, after end(), the remainder) can be taken now. */
  get ready(): boolean {
    return this.pendingBytes >= this.chunkSize || (this.ended && this.pendingBytes > 0);
  }

  get done(): boolean {
    return this.ended && this.pendingBytes === 0;
  }

  /** Copies the next chunk into `target` and returns its length; 0 when none is ready. */
  take(target: Buffer): number {
    if (!this.ready) return 0;
    const want = Math.min(this.chunkSize, this.pendingBytes);
    if (target.length < want) throw new RangeError('Chunker.take: target smaller than a chunk');
    let filled = 0;
    while (filled < want) {
      const head = this.pending[0] as Buffer;
      const n = Math.min(head.length, want - filled);
      head.copy(target, filled, 0, n);
      filled += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.pendingBytes -= want;
    return want;
  }
}

/** Fills `target` with the next chunk from `input`; 0 at the end of the stream. */
export async function nextStreamChunk(chunker: Chunker, input: AsyncIterator<Buffer>, target: Buffer): Promise<number> {
  while (!chunker.ready && !chunker.done) {
    const r = await input.next();
    if (r.done) chunker.end();
    else chunker.push(r.value);
  }
  return chunker.take(target);
}
