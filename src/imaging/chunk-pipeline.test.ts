import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifeboatError } from '../errors.js';
import { type TaskRunner, type Work, runPipeline, runTasks } from './chunk-pipeline.js';

/** A runner that answers each task (a number) with its double after a few random milliseconds, counting how many run at once. */
function slowRunner(fail?: (n: number) => boolean) {
  const stats = { running: 0, peak: 0, ran: 0 };
  const runner: TaskRunner = {
    async run<R>(task: unknown): Promise<R> {
      stats.running++;
      stats.peak = Math.max(stats.peak, stats.running);
      try {
        await sleep(Math.floor(Math.random() * 4));
        const n = task as number;
        if (fail?.(n)) throw new Error(`task ${n} failed`);
        stats.ran++;
        return (n * 2) as R;
      } finally {
        stats.running--;
      }
    },
  };
  return { runner, stats };
}

test('runs every task with never more than `limit` in flight, each result with its item', async () => {
  for (const limit of [1, 3, 8]) {
    const { runner, stats } = slowRunner();
    const got = new Map<number, number>();
    await runTasks<number, number>({ runner, limit }, Array.from({ length: 40 }, (_, i) => i), (n) => n, (r, n) => got.set(n, r));
    assert.equal(got.size, 40);
    for (const [n, r] of got) assert.equal(r, n * 2);
    assert.ok(stats.peak <= limit, `peak ${stats.peak} > limit ${limit}`);
    if (limit > 1) assert.ok(stats.peak > 1, 'tasks do overlap');
  }
});

test('a slot is free only once its result was consumed: a slow consumer holds the reader back', async () => {
  const { runner } = slowRunner();
  let active = 0; // from a task's start until its consumer is done
  let peak = 0;
  let pulled = 0;
  const counting: TaskRunner = {
    run<R>(task: unknown) {
      active++;
      peak = Math.max(peak, active);
      return runner.run<R>(task);
    },
  };
  await runPipeline<number>(
    { runner: counting, limit: 2 },
    async () => (pulled < 10 ? { task: pulled++ } : null),
    async () => {
      await sleep(3);
      active--;
    },
  );
  assert.equal(pulled, 10);
  assert.equal(active, 0);
  assert.ok(peak <= 2, `tasks and their consumers in flight at once: ${peak}`);
});

test('the first failure stops the pulling; what is in flight finishes; the failure is thrown', async () => {
  const { runner, stats } = slowRunner((n) => n === 5);
  let pulled = 0;
  const consumed: number[] = [];
  await assert.rejects(
    runPipeline<number, number>({ runner, limit: 3 }, async () => (pulled < 1000 ? { task: pulled, item: pulled++ } : null), (_r, n) => void consumed.push(n)),
    /task 5 failed/,
  );
  assert.ok(pulled < 12, `pulling stopped soon after the failure (pulled ${pulled})`);
  assert.equal(stats.running, 0, 'nothing still running when it throws');
  assert.ok(!consumed.includes(5));
});

test('a failing consumer or source fails the pipeline the same way', async () => {
  const { runner } = slowRunner();
  await assert.rejects(runTasks({ runner, limit: 2 }, [1, 2, 3, 4], (n) => n, (r) => {
    if (r === 6) throw new Error('consumer says no');
  }), /consumer says no/);
  let n = 0;
  await assert.rejects(runPipeline({ runner, limit: 2 }, async () => {
    if (n++ === 3) throw new Error('source broke');
    return { task: n };
  }, () => {}), /source broke/);
});

test('an abort stops it with the given message, as a user error', async () => {
  const { runner, stats } = slowRunner();
  const ac = new AbortController();
  let pulled = 0;
  await assert.rejects(
    runPipeline({ runner, limit: 2, signal: ac.signal, cancelled: 'backup of X was cancelled' }, async () => {
      if (++pulled === 6) ac.abort();
      return { task: pulled };
    }, () => {}),
    (err: unknown) => err instanceof LifeboatError && err.kind === 'user' && err.message === 'backup of X was cancelled',
  );
  assert.equal(stats.running, 0);
  assert.ok(pulled <= 7);
});

test('results known without a worker go straight to the consumer; only tasks reach the runner', async () => {
  const { runner, stats } = slowRunner();
  const seen: number[] = [];
  let i = 0;
  await runPipeline<number, number>(
    { runner, limit: 2 },
    async (): Promise<Work<number, number> | null> => {
      if (i >= 10) return null;
      const n = i++;
      return n % 2 === 0 ? { result: 1000 + n, item: n } : { task: n, item: n };
    },
    (r, n) => {
      assert.equal(r, n % 2 === 0 ? 1000 + n : 2 * n);
      seen.push(n);
    },
  );
  assert.equal(stats.ran, 5, 'only the odd ones ran');
  assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('lends at most `limit` buffers, each reused once given back (as a worker returns it: an ArrayBuffer)', async () => {
  const made = new Set<ArrayBuffer>();
  let taken = 0;
  // The runner keeps the buffer a while (like a worker thread) and gives it back with the result.
  const runner: TaskRunner = {
    async run<R>(task: unknown): Promise<R> {
      await sleep(Math.floor(Math.random() * 3));
      return task as R;
    },
  };
  await runPipeline<ArrayBuffer, undefined>(
    { runner, limit: 3, bufferSize: 1024 },
    async (lender) => {
      if (taken++ >= 30) return null;
      const buf = lender.take();
      assert.equal(buf.length, 1024);
      made.add(buf.buffer as ArrayBuffer);
      return { task: buf.buffer };
    },
    (ab, _item, lender) => lender.give(ab),
  );
  assert.ok(made.size <= 3, `${made.size} distinct buffers for 30 chunks at limit 3`);
  await assert.rejects(
    runPipeline({ runner, limit: 2, bufferSize: 16 }, async (lender) => ({ task: lender.take() }), () => {}),
    (err: unknown) => err instanceof LifeboatError && err.kind === 'bug' && /lent more than its 2 buffers/.test(err.message),
    'a buffer never given back is a bug, found at once',
  );
});
