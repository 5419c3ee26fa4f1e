// The image engine's worker threads. A thread takes ~0.1 s to boot and load its modules,
// as long as a small incremental backup takes to hash a gigabyte; so the command line
// starts them first thing (`startChunkWorkers`), before it loads the rest of the program,
// and the engine takes the booted pool (`chunkWorkers`) when its job is known.
import { availableParallelism } from 'node:os';
import type { ChunkWorkerData } from './chunk-worker.js';
import { WorkerPool, siblingModule } from './worker-pool.js';

let spare: WorkerPool | null = null;

/** Boots the default number of chunk workers ahead of a job; they do not keep the process alive. */
export function startChunkWorkers(size = availableParallelism()): void {
  if (spare) return;
  spare = new WorkerPool(siblingModule(import.meta.url, 'chunk-worker'), Math.max(1, size));
  spare.hold(false);
}

/** `size` chunk workers set up for one job: the booted spare when it fits, else a new pool. */
export async function chunkWorkers(size: number, data: ChunkWorkerData): Promise<WorkerPool> {
  let pool = spare;
  spare = null;
  if (pool && pool.size !== size) {
    await pool.close();
    pool = null;
  }
  pool ??= new WorkerPool(siblingModule(import.meta.url, 'chunk-worker'), size);
  pool.hold(true);
  try {
    await pool.broadcast({ type: 'setup', data });
  } catch (err) {
    await pool.close();
    throw err;
  }
  return pool;
}
