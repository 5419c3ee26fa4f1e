// Live events for every client at once: job progress (kept in memory only, never in the
// database) and job state changes. Subscribers get what is published after they join,
// plus, on joining, the latest progress of every running job so a new screen is current.
// The events are the API's (wire.ts): what is published here is what clients receive.
import type { LiveEvent, ProgressEvent } from '../api/wire.js';

export type { LiveEvent };

export type Subscriber = (event: LiveEvent) => void;

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly latest = new Map<string, Extract<LiveEvent, { type: 'job-progress' }>>();

  publish(event: LiveEvent): void {
    if (event.type === 'job-progress') this.latest.set(event.jobId, event);
    if (event.type === 'job-state' && event.state !== 'running') this.latest.delete(event.jobId);
    for (const s of this.subscribers) {
      try {
        s(event);
      } catch {
        this.subscribers.delete(s); // a broken subscriber must not stop the others
      }
    }
  }

  /** Joins the stream; returns the function that leaves it. */
  subscribe(s: Subscriber): () => void {
    for (const e of this.latest.values()) s(e);
    this.subscribers.add(s);
    return () => this.subscribers.delete(s);
  }

  /** The latest progress of a job, if it is running. */
  progressOf(jobId: string): ProgressEvent | undefined {
    return this.latest.get(jobId)?.progress;
  }

  get size(): number {
    return this.subscribers.size;
  }
}
