// A set of SHA-256 digests held as one sorted Buffer: 32 bytes per digest (8 MB for the
// index of a 1 TB disk) instead of a JavaScript string per entry; lookups by binary search.
const SIZE = 32;

export class DigestSet {
  private readonly sorted: Buffer;
  readonly size: number;

  /** `digests`: concatenated 32-byte digests in any order; zero and unused markers are ignored by callers' lookups. */
  constructor(digests: Uint8Array) {
    const n = Math.floor(digests.byteLength / SIZE);
    const views: Buffer[] = [];
    const src = Buffer.from(digests.buffer, digests.byteOffset, n * SIZE);
    for (let i = 0; i < n; i++) views.push(src.subarray(i * SIZE, (i + 1) * SIZE));
    views.sort(Buffer.compare);
    const out: Buffer[] = [];
    for (const v of views) if (out.length === 0 || !(out[out.length - 1] as Buffer).equals(v)) out.push(v);
    this.sorted = Buffer.concat(out);
    this.size = out.length;
  }

  has(digest: Buffer): boolean {
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.sorted.compare(digest, 0, SIZE, mid * SIZE, (mid + 1) * SIZE);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}
