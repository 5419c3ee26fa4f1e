// The tally of a backup: what became of each chunk (unused, zero, known or already in the
// store, new) and the bytes read, hashed and stored, in any order. It feeds the progress
// events while the backup runs and the manifest's stats at its end. Pure.
import { type WorkTimes, addWork, noWork } from './backup-profile.js';
import type { BackupResult } from './chunk-worker.js';
import type { ImageStats } from './repo/manifest.js';
import { type ProgressCounters, emptyCounters } from './progress.js';

export class BackupTally {
  /** Progress so far (what the ProgressMeter samples). */
  readonly counters: ProgressCounters;
  chunks = { zero: 0, unused: 0, reused: 0, new: 0 };
  /** Bytes of the image so far (the disk's size at the end, a stream's length). */
  imageBytes = 0;
  bytesRead = 0;
  bytesHashed = 0;
  /** Worker thread time per kind of work, summed over the chunks. */
  readonly work: WorkTimes = noWork();

  /** `bytesTotal`, `chunksTotal`: what is known up front (a stream: its size is 0, its count null). */
  constructor(bytesTotal: number, chunksTotal: number | null) {
    this.counters = emptyCounters(bytesTotal, chunksTotal ?? 0);
  }

  get chunkCount(): number {
    return this.counters.chunksDone;
  }

  add(r: Pick<BackupResult, 'length' | 'outcome' | 'bytesRead' | 'bytesHashed' | 'storedBytes'> & { ms?: WorkTimes }): void {
    const c = this.counters;
    addWork(this.work, r.ms);
    this.imageBytes += r.length;
    this.bytesRead += r.bytesRead;
    this.bytesHashed += r.bytesHashed;
    c.bytesDone += r.length;
    c.chunksDone++;
    switch (r.outcome) {
      case 'unused': // a zero chunk that was not even read
      case 'zero':
        c.bytesZero += r.length;
        this.chunks.zero++;
        if (r.outcome === 'unused') this.chunks.unused++;
        break;
      case 'new':
        c.bytesNew += r.length;
        c.storedBytes += r.storedBytes;
        this.chunks.new++;
        break;
      case 'known':
      case 'existing':
        c.bytesReused += r.length;
        this.chunks.reused++;
        break;
    }
  }

  /** The manifest's stats. */
  stats(durationMs: number): ImageStats {
    const c = this.counters;
    return {
      bytesRead: this.bytesRead,
      bytesZero: c.bytesZero,
      bytesReused: c.bytesReused,
      bytesNew: c.bytesNew,
      bytesHashed: this.bytesHashed,
      chunksZero: this.chunks.zero,
      chunksUnused: this.chunks.unused,
      chunksReused: this.chunks.reused,
      chunksNew: this.chunks.new,
      storedBytesNew: c.storedBytes,
      compressionRatio: c.storedBytes > 0 ? c.bytesNew / c.storedBytes : 1,
      durationMs,
    };
  }
}
