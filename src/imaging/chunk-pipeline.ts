// The bounded chunk pipeline: the one mechanism backup, restore and verify use to keep
// worker threads busy with at most `limit` chunk tasks in flight. Work is pulled from the
// caller (`next`) only when a slot is free, so memory stays bounded whatever the disk
// size and a slow consumer slows the reader (backpressure). It can lend buffers: a
// stream backup reads each chunk into a lent buffer that travels to a worker and back.
// The first failure (or an abort) stops pulling; what is in flight is awaited, then the
// failure is thrown. Results arrive in completion order; ordering is the consumer's job.
import { bug, userError } from '../errors.js';

/** Runs one task on some thread (a WorkerPool, or a stand-in in tests). */
export interface TaskRunner {
  run<R>(task: unknown, transfer?: ArrayBuffer[]): Promise<R>;
}

/**
 * One piece of work: a task for a worker, or a result known without one (e.g. an unused
 * chunk); `item` travels with it to onResult.
 */
export type Work<R, T = undefined> = ({ task: unknown; transfer?: ArrayBuffer[] } | { result: R }) & { item?: T };

/** The pipeline's buffers: at most one per slot, allocated on first use, reused after. */
export class BufferLender {
  private readonly free: Buffer[] = [];
  private made = 0;

  constructor(
    readonly size: number,
    private readonly max: number,
  ) {}

  take(): Buffer {
    const buf = this.free.pop();
    if (buf) return buf;
    if (this.made >= this.max) throw bug(`chunk pipeline lent more than its ${this.max} buffers (one was not given back)`);
    this.made++;
    // A buffer of its own (not a slice of Node's pool), so it can be transferred to a worker.
    return Buffer.allocUnsafeSlow(this.size);
  }

  /** Takes a buffer back (a Buffer, or the ArrayBuffer a worker returned; empty ones are ignored). */
  give(buf: Buffer | ArrayBuffer | null | undefined): void {
    if (!buf || buf.byteLength === 0) return;
    this.free.push(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
  }
}

export interface PipelineOptions {
  runner: TaskRunner;
  /** Tasks in flight at most (and buffers lent at most). */
  limit: number;
  /** Size of lent buffers (0: the pipeline lends none). */
  bufferSize?: number;
  signal?: AbortSignal;
  /** The message of the error an abort throws. */
  cancelled?: string;
}

/**
 * Pulls work from `next` until it returns null, runs each task with at most `limit` in
 * flight and hands each result to `onResult` (which may return buffers to the lender);
 * a slot is free again only once its `onResult` is done.
 */
export async function runPipeline<R, T = undefined>(
  opts: PipelineOptions,
  next: (lender: BufferLender) => Promise<Work<R, T> | null>,
  onResult: (result: R, item: T, lender: BufferLender) => void | Promise<void>,
): Promise<void> {
  if (!Number.isSafeInteger(opts.limit) || opts.limit < 1) throw bug(`chunk pipeline limit ${opts.limit}`);
  const lender = new BufferLender(opts.bufferSize ?? 0, opts.limit);
  const inflight = new Set<Promise<void>>();
  let failure: unknown = null;
  const fail = (err: unknown) => {
    failure ??= err;
  };
  while (failure === null) {
    if (opts.signal?.aborted) {
      fail(userError(opts.cancelled ?? 'the operation was cancelled'));
      break;
    }
    if (inflight.size >= opts.limit) {
      await Promise.race(inflight);
      continue;
    }
    let work: Work<R, T> | null;
    try {
      work = await next(lender);
    } catch (err) {
      fail(err);
      break;
    }
    if (work === null) break;
    if ('result' in work) {
      try {
        await onResult(work.result, work.item as T, lender);
      } catch (err) {
        fail(err);
      }
      continue;
    }
    const item = work.item as T;
    const p: Promise<void> = opts.runner
      .run<R>(work.task, work.transfer)
      .then((r) => onResult(r, item, lender))
      .catch(fail)
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  if (failure !== null) throw failure;
}

/** The pipeline over a list: one task per item, each result with its item. */
export function runTasks<T, R>(opts: PipelineOptions, items: Iterable<T>, makeTask: (item: T) => unknown, onResult: (result: R, item: T) => void): Promise<void> {
  const it = items[Symbol.iterator]();
  return runPipeline<R, T>(
    opts,
    async () => {
      const n = it.next();
      return n.done ? null : { task: makeTask(n.value), item: n.value };
    },
    onResult,
  );
}
