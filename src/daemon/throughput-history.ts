// The appliance's throughput over the last hour, for the wall dashboard: every 10 s the
// highest sum of the latest rates of the moving jobs seen in those 10 s (so a job of a
// few seconds still shows), kept for an hour (360 samples,
// bounded), and saved in the data directory (temp file, fsync, rename) every minute and
// when the daemon stops, so a dashboard started later, or a daemon restarted, still shows
// the hour. The decisions (which rates count, which saved samples to keep) are pure
// functions below; the class only holds the timer, the hub subscription and the file.
import { open, readFile, rename } from 'node:fs/promises';
import type { LiveEvent, ThroughputHistory } from '../api/contract.js';
import type { EventHub } from './event-hub.js';

export const HISTORY_INTERVAL_MS = 10_000;
export const HISTORY_SPAN_MS = 3_600_000;
export const HISTORY_LENGTH = HISTORY_SPAN_MS / HISTORY_INTERVAL_MS;
/** A job whose last progress is older than this is not moving: it counts 0. */
export const STALE_MS = 15_000;
/** Saved every this many samples (a minute). */
const SAVE_EVERY = 6;
/** A saved history bigger than this is not ours: it is ignored, never parsed. */
const MAX_FILE_BYTES = 256 * 1024;

export type Sample = ThroughputHistory['samples'][number];

/** The sum of the latest rates of the jobs that reported within STALE_MS of `now`. */
export function currentRate(latest: ReadonlyMap<string, { bps: number; at: number }>, now: number, staleMs = STALE_MS): number {
  let sum = 0;
  for (const r of latest.values()) if (now - r.at <= staleMs && Number.isFinite(r.bps) && r.bps > 0) sum += r.bps;
  return sum;
}

/** The samples of the hour before `now`, oldest first, at most HISTORY_LENGTH. */
export function lastHour(samples: readonly Sample[], now: number): Sample[] {
  return samples.filter((s) => Date.parse(s.at) > now - HISTORY_SPAN_MS && Date.parse(s.at) <= now + HISTORY_INTERVAL_MS).slice(-HISTORY_LENGTH);
}

/**
 * A saved history read back: anything that is not a list of {at, bytesPerSecond} with a
 * readable time and a finite, non-negative rate is dropped, never trusted; then the hour
 * before `now`, in time order.
 */
export function decodeHistory(text: string, now: number): Sample[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  const list = (raw as { samples?: unknown } | null)?.samples;
  if (!Array.isArray(list)) return [];
  const good: Sample[] = [];
  for (const s of list.slice(-HISTORY_LENGTH * 2)) {
    if (typeof s !== 'object' || s === null) continue;
    const { at, bytesPerSecond } = s as Record<string, unknown>;
    if (typeof at !== 'string' || at.length > 40 || Number.isNaN(Date.parse(at))) continue;
    if (typeof bytesPerSecond !== 'number' || !Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) continue;
    good.push({ at: new Date(Date.parse(at)).toISOString(), bytesPerSecond });
  }
  good.sort((a, b) => a.at.localeCompare(b.at));
  return lastHour(good, now);
}

export class ThroughputRecorder {
  private samples: Sample[] = [];
  private readonly latest = new Map<string, { bps: number; at: number }>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private sinceSave = 0;
  /** The highest total rate seen since the last sample. */
  private peak = 0;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly opts: { intervalMs?: number; now?: () => number; log?: (msg: string) => void } = {},
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Reads what an earlier run saved, follows the hub's progress events and samples on a timer. */
  async start(hub: Pick<EventHub, 'subscribe'>): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    this.samples = text.length <= MAX_FILE_BYTES ? decodeHistory(text, this.now()) : [];
    this.unsubscribe = hub.subscribe((e) => this.onEvent(e));
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? HISTORY_INTERVAL_MS);
    this.timer.unref();
  }

  onEvent(e: LiveEvent): void {
    if (e.type === 'job-progress') {
      this.latest.set(e.jobId, { bps: e.progress.rateBps, at: this.now() });
      this.peak = Math.max(this.peak, currentRate(this.latest, this.now()));
    } else if (e.type === 'job-state' && e.state !== 'running') this.latest.delete(e.jobId);
  }

  /** Takes one sample now (the timer calls this). */
  sample(): void {
    const now = this.now();
    const bytesPerSecond = Math.max(this.peak, currentRate(this.latest, now));
    this.peak = 0;
    this.samples = lastHour([...this.samples, { at: new Date(now).toISOString(), bytesPerSecond }], now);
    if (++this.sinceSave >= SAVE_EVERY) void this.save();
  }

  view(): ThroughputHistory {
    return { intervalSeconds: (this.opts.intervalMs ?? HISTORY_INTERVAL_MS) / 1000, samples: lastHour(this.samples, this.now()) };
  }

  /** Saves the hour (one save at a time); a failure is logged, never thrown: the history is a convenience. */
  save(): Promise<void> {
    this.sinceSave = 0;
    const text = JSON.stringify({ samples: this.samples });
    this.saving = this.saving.then(async () => {
      const tmp = `${this.file}.tmp`;
      try {
        const fh = await open(tmp, 'w', 0o640);
        try {
          await fh.writeFile(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, this.file);
      } catch (err) {
        this.opts.log?.(`saving the throughput history to ${this.file} failed: ${(err as Error).message}`);
      }
    });
    return this.saving;
  }

  /** Stops sampling and saves what it has (with what was seen since the last sample). */
  async stop(): Promise<void> {
    if (this.peak > 0) this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.save();
  }
}
