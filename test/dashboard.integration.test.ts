// `lifeboat dashboard` in a real terminal (tmux, 120×40) against a real daemon: the
// widgets' titles, a running device backup in the jobs table and then done in the events
// log, "reconnecting" while the daemon is down and live again once it is back, and `q`
// exiting 0 with the terminal as it was. Needs the built CLI (make build) and tmux.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

const TMUX = `tmux -L lifeboat-dashboard-test-${process.pid}`;
let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let disk: string;
let stderrFile: string;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const screen = () => sh(`${TMUX} capture-pane -p -t dash`);

async function waitForScreen(what: string, ok: (text: string) => boolean, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = screen();
    if (ok(text)) return text;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`the screen never showed ${what}; it shows:\n${text}\nthe dashboard's stderr:\n${readFileSync(stderrFile, 'utf8')}\nthe daemon's log:\n${daemon.log().slice(-2000)}`);
}

before(async () => {
  work = tempDir('lifeboat-dashboard-');
  disk = join(work.dir, 'disk.img');
  stderrFile = join(work.dir, 'dashboard.err');
  randomDisk(disk, 768);
  daemon = await startDaemon(work.dir);
});

after(async () => {
  sh(`${TMUX} kill-server 2>/dev/null || true`);
  await daemon?.stop();
  work?.cleanup();
});

test('the dashboard shows a running backup live, survives a daemon restart, and q gives the terminal back', { timeout: 120_000 }, async () => {
  const run = `cd ${quote(REPO)} && echo before-the-dashboard && ${quote(process.execPath)} ${quote(CLI)} dashboard --socket ${quote(daemon.socket)} 2>${quote(stderrFile)}; echo "dashboard exited $?"; sleep 600`;
  sh(`${TMUX} new-session -d -s dash -x 120 -y 40 ${quote(`bash -c ${quote(run)}`)}`);

  const first = await waitForScreen('the widgets and a live connection', (t) => /Running jobs/.test(t) && /^ live /m.test(t));
  for (const title of ['Throughput', 'Store:', 'Dedup + LZ4', 'Running jobs', 'Recent events']) assert.ok(first.includes(title), `no "${title}" on\n${first}`);
  assert.match(first, /no jobs running/);
  assert.match(first, /Store: \S+ \S+ stored, /, 'the store gauge has the appliance status');

  const job = await new ApiClient(daemon.socket).createJob({ type: 'backup', device: disk });
  const short = job.id.slice(0, 8);
  const row = new RegExp(`backup +${disk.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} +running +\\d+% +\\d+\\.\\d +\\S+ +${short}`);
  const running = await waitForScreen(`job ${job.id} running with progress`, (t) => row.test(t));
  assert.match(running, /1 running, 0 waiting/);
  assert.match(running, /Throughput, MB\/s over the last hour: \d+\.\d now/);

  const done = await waitForScreen(`job ${job.id} done in the events log`, (t) => t.includes(`backup ${short} ...${disk.slice(-27)}: done`), 20_000);
  assert.match(done, /no jobs running/);
  assert.match(done, new RegExp(`job\\.backup ${job.id}`), 'the audit event of the job is in the log');
  const stored = await waitForScreen('the new image in the reduction box', (t) => /images +1 /.test(t));
  // 768 MiB of random data in a store on a disk of many GiB: a few percent, not the 100% a fraction would show.
  assert.match(stored, /Store: 768 MiB stored/);
  assert.match(stored, / {2}[0-9]% /);

  await daemon.stop();
  await waitForScreen('the reconnecting state', (t) => /^ reconnecting\.\.\. /m.test(t));
  daemon = await startDaemon(work.dir);
  await waitForScreen('the dashboard live again', (t) => /^ live /m.test(t) && t.includes(`backup ${short} ...${disk.slice(-27)}: done`));

  sh(`${TMUX} send-keys -t dash q`);
  const restored = await waitForScreen('the shell after q', (t) => /dashboard exited \d+/.test(t));
  assert.match(restored, /dashboard exited 0/);
  assert.match(restored, /before-the-dashboard/, 'the terminal shows what it showed before (alternate screen left)');
  assert.doesNotMatch(restored, /Running jobs|Throughput/);
  assert.equal(readFileSync(stderrFile, 'utf8'), '', 'nothing on stderr');
  const state = (await new ApiClient(daemon.socket).job(job.id)).state;
  assert.equal(state, 'done');
});
