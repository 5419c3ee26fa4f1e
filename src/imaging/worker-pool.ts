// A fixed pool of worker threads that run one task at a time each. Buffers move
// between threads by transfer (no copies). A worker that dies fails the pool: every
// pending task is rejected with the reason, nothing hangs.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LifeboatError, bug } from '../errors.js';

interface Pending {
  message: unknown;
  transfer: ArrayBuffer[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export interface WorkerReply {
  ok: boolean;
  result?: unknown;
  error?: { kind: string; message: string };
}

/**
 * URL of a sibling module, whether running from TypeScript sources (tsx), compiled
 * JavaScript (dist/) or the agent bundle (bootos/bundle-agent.sh writes each worker as a
 * .cjs file beside the bundle, e.g. chunk-worker.cjs beside agent.cjs).
 */
export function siblingModule(base: string, name: string): URL {
  const ext = base.endsWith('.ts') ? '.ts' : base.endsWith('.cjs') ? '.cjs' : '.js';
  return new URL(`./${name}${ext}`, base);
}

/**
 * Under tsx (tests, development) a worker must register tsx itself before it can load
 * a TypeScript module; compiled JavaScript workers need nothing of the sort.
 */
function tsWorker(url: URL): Worker {
  const api = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs');
  const bootstrap = `import(${JSON.stringify(pathToFileURL(api).href)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly queue: Pending[] = [];
  private failure: Error | null = null;
  private closed = false;

  /** The last broadcast (the job's setup): what a thread added later gets first. */
  private setup: { message: unknown } | null = null;

  /** Boots `size` threads of module `url`; they wait for tasks (the first is usually a setup). */
  constructor(
    private readonly url: URL,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const worker = this.url.pathname.endsWith('.ts') ? tsWorker(this.url) : new Worker(this.url);
    worker.on('message', (reply: WorkerReply) => this.settle(worker, reply));
    worker.on('error', (err) => this.fail(bug(`worker thread crashed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(bug(`worker thread exited with code ${code}`));
    });
    return worker;
  }

  /**
   * Adds `count` threads to a pool at work: each takes the last broadcast (the job's setup)
   * first and then tasks. A setup that fails fails the pool, as a crash does.
   */
  grow(count: number): void {
    if (this.failure || this.closed) return;
    for (let i = 0; i < count; i++) {
      const worker = this.spawn();
      if (!this.setup) {
        this.idle.push(worker);
        continue;
      }
      this.busy.set(worker, { message: this.setup.message, transfer: [], resolve: () => {}, reject: (err) => this.fail(err) });
      worker.postMessage(this.setup.message);
    }
    this.pump();
  }

  get size(): number {
    return this.idle.length + this.busy.size;
  }

  /**
   * Whether the threads keep the process alive. A pool booted ahead of its job is let go
   * (a command that fails before using it must still exit), and held again when used.
   */
  hold(held: boolean): void {
    for (const w of [...this.idle, ...this.busy.keys()]) {
      if (held) w.ref();
      else w.unref();
    }
  }

  /** Sends `message` to every thread once (the pool must be idle), e.g. the job's setup. */
  async broadcast(message: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.busy.size > 0 || this.queue.length > 0) throw bug('broadcast to a busy worker pool');
    this.setup = { message };
    const workers = [...this.idle];
    this.idle.length = 0;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise((resolve, reject) => {
            this.busy.set(worker, { message, transfer: [], resolve, reject });
            worker.postMessage(message);
          }),
      ),
    );
  }

  /** Runs one task; buffers listed in `transfer` move to the worker (and come back in the result). */
  run<T>(message: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(bug('task sent to a closed worker pool'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ message, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(all.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const task = this.queue.shift() as Pending;
      this.busy.set(worker, task);
      worker.postMessage(task.message, task.transfer);
    }
  }

  private settle(worker: Worker, reply: WorkerReply): void {
    const task = this.busy.get(worker);
    this.busy.delete(worker);
    this.idle.push(worker);
    if (task) {
      if (reply.ok) task.resolve(reply.result);
      else task.reject(new LifeboatError((reply.error?.kind ?? 'bug') as LifeboatError['kind'], reply.error?.message ?? 'worker task failed'));
    }
    this.pump();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const task of [...this.busy.values(), ...this.queue]) task.reject(err);
    this.busy.clear();
    this.queue.length = 0;
  }
}
