// Cancel tells the truth, through the real daemon and CLI: a cancelled job shows
// "cancelling" to every client until the engine has stopped, and the answer is how it
// really ended; a cancelled backup leaves no image; a cancelled restore leaves its target
// incomplete and says so on the job and in `jobs show`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import type { Job, LiveEvent } from '../src/api/contract.js';
import { lifeboat, lifeboatSpawn, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let api: ApiClient;
const cli = (args: string[]) => lifeboat(args, { env: { LIFEBOAT_SOCKET: daemon.socket } });

before(async () => {
  work = tempDir(`lifeboat-cancel-${process.pid}-`);
  daemon = await startDaemon(work.dir);
  api = new ApiClient(daemon.socket);
});

after(async () => {
  await daemon?.stop();
  work.cleanup();
});

/** The CLI without blocking this process. */
function cliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = lifeboatSpawn(args, { LIFEBOAT_SOCKET: daemon.socket });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `body`, cancels it through the CLI at its first progress event; returns the states seen live and the CLI's answer. */
async function cancelMidway(body: Parameters<ApiClient['createJob']>[0]): Promise<{ job: Job; states: string[]; answer: { code: number | null; stdout: string; stderr: string }; progressBeforeCancel: boolean }> {
  const abort = new AbortController();
  const states: string[] = [];
  let jobId = '';
  let sawProgress!: () => void;
  const progressed = new Promise<void>((r) => (sawProgress = r));
  const stream = api
    .events((e: LiveEvent) => {
      if (e.type === 'job-progress' && e.jobId === jobId) sawProgress();
      if (e.type === 'job-state' && e.jobId === jobId) states.push(e.state);
    }, abort.signal)
    .catch(() => {});
  await new Promise((r) => setTimeout(r, 200)); // subscribed before the job starts
  const job = await api.createJob(body);
  jobId = job.id;
  const progressBeforeCancel = await Promise.race([progressed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  const answer = await cliAsync(['jobs', 'cancel', job.id]); // async: this process keeps reading the events meanwhile
  await new Promise((r) => setTimeout(r, 300)); // the last state events arrive
  abort.abort();
  await stream;
  return { job: await api.job(job.id), states, answer, progressBeforeCancel };
}

test('a cancelled backup: "cancelling" seen live, then cancelled with no image', async () => {
  randomDisk(join(work.dir, 'big.img'), 768);
  const r = await cancelMidway({ type: 'backup', device: join(work.dir, 'big.img') });
  assert.ok(r.progressBeforeCancel, 'the backup was under way when cancelled');
  assert.equal(r.answer.code, 0, r.answer.stderr);
  assert.match(r.answer.stdout, new RegExp(`job ${r.job.id} cancelled\\noutcome: cancelled: no image was made`));
  assert.equal(r.job.state, 'cancelled');
  assert.deepEqual(r.states.slice(-2), ['cancelling', 'cancelled'], `states seen: ${r.states.join(', ')}`);
  assert.deepEqual(await api.images(), [], 'no image');
  // It keeps the progress it reached, and its story says so.
  assert.ok((r.job.progress?.bytesDone ?? 0) > 0 && (r.job.progress?.bytesDone ?? 0) < (r.job.progress?.bytesTotal ?? 0), JSON.stringify(r.job.progress));
  assert.deepEqual(r.job.history?.map((h) => h.state), ['queued', 'running', 'cancelling', 'cancelled']);
  assert.match(cli(['jobs', 'show', r.job.id]).stdout, /^progress reached: \d+% \(/m);
});

test('a cancelled restore onto an existing disk: the job, `jobs show` and the watcher say the target is incomplete', async () => {
  const src = join(work.dir, 'src.img');
  randomDisk(src, 768);
  const backup = cli(['backup', '--device', src, '--wait', '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const image = (await api.images())[0]?.id as string;
  const target = join(work.dir, 'target.img');
  sh(`truncate -s 800M ${target}`);
  const r = await cancelMidway({ type: 'restore', image, device: target, confirm: true });
  assert.ok(r.progressBeforeCancel, 'the restore was writing when cancelled');
  assert.equal(r.job.state, 'cancelled', JSON.stringify(r.job));
  assert.equal(r.job.targetIncomplete, true);
  assert.match(r.job.outcome ?? '', new RegExp(`cancelled: ${target} is incomplete .*do not use it: restore it again`));
  assert.deepEqual(r.states.slice(-2), ['cancelling', 'cancelled']);
  assert.match(r.answer.stdout, /TARGET INCOMPLETE: .*target\.img holds part of image .* do not use it; restore it again/);
  const show = cli(['jobs', 'show', r.job.id]);
  assert.match(show.stdout, /cancelled/);
  assert.match(show.stdout, /TARGET INCOMPLETE/);
  const watch = cli(['jobs', 'watch', r.job.id]);
  assert.equal(watch.code, 1);
  assert.match(watch.stderr, /target\.img is INCOMPLETE: do not use it; restore it again/);
});

test('cancelling a job that has ended is refused, saying how it ended', () => {
  const done = (JSON.parse(cli(['jobs', 'list', '--json']).stdout) as Job[]).find((j) => j.state === 'done');
  assert.ok(done);
  const r = cli(['jobs', 'cancel', done.id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already ended \(done\): nothing to cancel/);
});
