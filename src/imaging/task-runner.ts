// Runs a list of chunk tasks on a worker pool with at most `limit` in flight, in order
// of submission; stops submitting at the first failure or abort and rethrows it.
import { userError } from '../errors.js';
import type { WorkerPool } from './worker-pool.js';

export async function runBounded<T, R>(
  pool: WorkerPool,
  items: Iterable<T>,
  limit: number,
  makeTask: (item: T) => unknown,
  onResult: (result: R, item: T) => void,
  signal?: AbortSignal,
  cancelled = 'the operation was cancelled',
): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let failure: unknown = null;
  for (const item of items) {
    if (failure) break;
    if (signal?.aborted) {
      failure = userError(cancelled);
      break;
    }
    const p: Promise<void> = pool
      .run<R>(makeTask(item))
      .then((r) => onResult(r, item))
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= limit) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure) throw failure;
}
