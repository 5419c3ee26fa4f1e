// The engine's typed event stream. Engines emit these; renderers (CLI bar, JSON lines,
// daemon, TUI, dashboard) consume them. ProgressMeter turns counters into rates and ETA.

export type Operation = 'backup' | 'restore' | 'verify' | 'export';

export interface ProgressCounters {
  bytesDone: number;
  bytesTotal: number;
  /** Uncompressed bytes of chunks that were new to the store. */
  bytesNew: number;
  /** Bytes of chunks the store already had (dedup). */
  bytesReused: number;
  bytesZero: number;
  /** Compressed bytes written to the store (backup) or read from it (restore). */
  storedBytes: number;
  chunksDone: number;
  chunksTotal: number;
}

export interface ProgressEvent extends ProgressCounters {
  type: 'progress';
  operation: Operation;
  imageId: string;
  /** Bytes per second over the last few seconds. */
  rateBps: number;
  /** Bytes per second since the start. */
  avgBps: number;
  /** bytesNew / storedBytes, 0 before anything was stored. */
  ratio: number;
  etaSeconds: number | null;
  elapsedMs: number;
}

export interface StartEvent {
  type: 'start';
  operation: Operation;
  imageId: string;
  source: string;
  target: string;
  bytesTotal: number;
  parent?: string | null;
}

export interface WarningEvent {
  type: 'warning';
  operation: Operation;
  imageId: string;
  message: string;
}

export type EngineEvent = StartEvent | ProgressEvent | WarningEvent;
export type EventSink = (event: EngineEvent) => void;

export const emptyCounters = (bytesTotal: number, chunksTotal: number): ProgressCounters => ({
  bytesDone: 0,
  bytesTotal,
  bytesNew: 0,
  bytesReused: 0,
  bytesZero: 0,
  storedBytes: 0,
  chunksDone: 0,
  chunksTotal,
});

/** Computes rates and ETA from counters sampled over time; pure apart from the clock passed in. */
export class ProgressMeter {
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private lastEmit = -Infinity;

  constructor(
    readonly operation: Operation,
    readonly imageId: string,
    private readonly startedAt: number,
    private readonly windowMs = 3000,
    private readonly intervalMs = 250,
  ) {}

  /** An event for `counters` at time `now`, or null when the last one was under intervalMs ago (unless `force`). */
  sample(counters: ProgressCounters, now: number, force = false): ProgressEvent | null {
    this.samples.push({ t: now, bytes: counters.bytesDone });
    while (this.samples.length > 2 && (this.samples[0] as { t: number }).t < now - this.windowMs) this.samples.shift();
    if (!force && now - this.lastEmit < this.intervalMs) return null;
    this.lastEmit = now;
    const first = this.samples[0] as { t: number; bytes: number };
    const elapsedMs = Math.max(0, now - this.startedAt);
    const windowSec = (now - first.t) / 1000;
    const avgBps = elapsedMs > 0 ? (counters.bytesDone * 1000) / elapsedMs : 0;
    const rateBps = windowSec > 0.2 ? (counters.bytesDone - first.bytes) / windowSec : avgBps;
    const remaining = counters.bytesTotal - counters.bytesDone;
    const speed = rateBps > 0 ? rateBps : avgBps;
    return {
      type: 'progress',
      operation: this.operation,
      imageId: this.imageId,
      ...counters,
      rateBps,
      avgBps,
      ratio: counters.storedBytes > 0 ? counters.bytesNew / counters.storedBytes : 0,
      etaSeconds: counters.bytesTotal === 0 ? null : remaining <= 0 ? 0 : speed > 0 ? remaining / speed : null,
      elapsedMs,
    };
  }
}
