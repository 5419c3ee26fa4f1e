// Where a job's seconds went: the agent marks each stage as it begins and, when the job
// ends, prints one line of durations on its console, so an operator (and `make bench`,
// from the serial log) sees where a slow job spent its time. The clock defaults to
// performance.now(): milliseconds since the agent's process started.
import type { ChunkTimes } from '../imaging/chunk-worker.js';

export interface StageMark {
  stage: string;
  at: number;
}

const s = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)} s`;

/** "agent up 12.3 s at job/start; job/start 0.4 s, certify 0.1 s, …; 10.7 s in all". Pure. */
export function formatStages(marks: readonly StageMark[], end: number): string {
  const first = marks[0];
  if (!first) return 'no stage was reached';
  const parts = marks.map((m, k) => `${m.stage} ${s((marks[k + 1]?.at ?? end) - m.at)}`);
  return `agent up ${s(first.at)} at ${first.stage}; ${parts.join(', ')}; ${s(end - first.at)} in all`;
}

/** "fetch 12.1 s, decode 1.0 s, SHA-256 2.0 s, write 3.0 s". Pure. */
export function formatChunkTimes(ms: ChunkTimes): string {
  return `fetch ${s(ms.fetch)}, decode ${s(ms.decode)}, SHA-256 ${s(ms.hash)}, write ${s(ms.write)}`;
}

export class StageClock {
  private readonly marks: StageMark[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** `stage` begins now (the previous one ends). */
  mark(stage: string): void {
    this.marks.push({ stage, at: this.now() });
  }

  /** The stages so far, the last one ending now. */
  summary(): string {
    return formatStages(this.marks, this.now());
  }
}
