// The engine's events, as the agent passes them on: progress counters to the appliance
// (POST job/progress, at most one every `intervalMs`, never two at once: progress is not
// worth queueing), a plain line on the console every few seconds, warnings as they come.
// A 409 `cancelled` answer aborts the job at once; any other failure to report progress is
// said once and does not stop the job.
import { AGENT_PATHS, type ProgressBody } from '../api/agent-wire.js';
import { formatBytes } from '../format.js';
import type { EngineEvent, ProgressCounters } from '../imaging/progress.js';
import { type AgentApi, isCancelled } from './agent-api.js';

export const counterFields = (c: ProgressCounters): ProgressBody => ({
  bytesDone: c.bytesDone,
  bytesTotal: c.bytesTotal,
  bytesNew: c.bytesNew,
  bytesReused: c.bytesReused,
  bytesZero: c.bytesZero,
  storedBytes: c.storedBytes,
  chunksDone: c.chunksDone,
  chunksTotal: c.chunksTotal,
});

export class ProgressPoster {
  /** The appliance said the job was cancelled. */
  cancelled = false;
  /** The last counters the engine reported. */
  last: ProgressCounters | null = null;
  posted = 0;
  private inFlight: Promise<void> | null = null;
  private lastPost = -Infinity;
  private lastLine = -Infinity;
  private complained = false;
  private stopped = false;

  constructor(
    private readonly api: AgentApi,
    private readonly log: (line: string) => void,
    private readonly abort: AbortController,
    private readonly intervalMs = 500,
    private readonly lineEveryMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  readonly sink = (ev: EngineEvent): void => {
    if (ev.type === 'warning') {
      this.log(`warning: ${ev.message}`);
      return;
    }
    if (ev.type === 'start') {
      this.log(`${ev.operation} of ${ev.source} → ${ev.target}: ${formatBytes(ev.bytesTotal)}${ev.parent ? `, incremental on image ${ev.parent}` : ''}`);
      return;
    }
    this.last = ev;
    const t = this.now();
    if (t - this.lastLine >= this.lineEveryMs) {
      this.lastLine = t;
      const pct = ev.bytesTotal > 0 ? Math.floor((ev.bytesDone * 100) / ev.bytesTotal) : 0;
      this.log(`${pct}% ${formatBytes(ev.bytesDone)} of ${formatBytes(ev.bytesTotal)}, ${formatBytes(ev.rateBps)}/s${ev.etaSeconds !== null ? `, ${Math.ceil(ev.etaSeconds)} s left` : ''}`);
    }
    if (this.stopped || this.inFlight || t - this.lastPost < this.intervalMs) return;
    this.lastPost = t;
    this.inFlight = this.api
      .json('POST', AGENT_PATHS.progress, counterFields(ev))
      .then(
        () => {
          this.posted++;
        },
        (err: unknown) => {
          if (isCancelled(err)) {
            this.cancelled = true;
            this.abort.abort();
          } else if (!this.complained) {
            this.complained = true;
            this.log(`progress could not be reported (${(err as Error).message}); the job goes on`);
          }
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
  };

  /** No more posts; waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.inFlight;
  }
}
