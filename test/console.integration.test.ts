// The console's day-two points in a real terminal: tmux at 80×24 running the built CLI
// against a real daemon. Keys sent in one write (send-keys with several keys, or hex
// bytes) must all count; the Jobs screen must stay readable at 80 columns; machines whose
// schedule promise is broken show as overdue; a local restore's time leaves out the prompt.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, lastJson, lifeboat, tempDir } from './helpers/cli.js';
import { tmuxServer } from './helpers/tmux.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

const SERVER = `lifeboat-console-test-${process.pid}`;
const tmp = tempDir('lifeboat-console-');
let daemon: TestDaemon;
let api: ApiClient;

const term = tmuxServer(SERVER, () => `daemon log tail:\n${daemon.log().slice(-2000)}`);
const tmux = term.run;
const screen = term.screen;
const keys = term.keys;
const waitFor = term.waitFor;

function shell(name: string, cols: number, rows: number): void {
  tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), 'env', '-i', `PATH=${process.env.PATH}`, 'HOME=/tmp', 'TERM=xterm-256color', 'LANG=C.UTF-8', 'TZ=UTC', 'bash', '--norc', '--noprofile');
  keys(name, "PS1='$ '; clear", 'Enter');
}
async function openTui(name: string): Promise<void> {
  shell(name, 80, 24);
  keys(name, `${process.execPath} ${CLI} tui --socket ${daemon.socket}; echo TUI-EXIT=$?`, 'Enter');
  await waitFor(name, /● online/);
}

/** Moves a schedule's creation a week back in the daemon's database (the daemon stopped), so it has promised a backup already. */
function backdateSchedules(dataDir: string): void {
  const dbDir = join(dataDir, 'db');
  const file = readdirSync(dbDir).find((f) => /^schedules\.db$/.test(f));
  assert.ok(file, `no schedules database in ${dbDir}: ${readdirSync(dbDir).join(', ')}`);
  const path = join(dbDir, file);
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  writeFileSync(path, `${lines.map((l) => JSON.stringify({ ...(JSON.parse(l) as object), createdAt: weekAgo })).join('\n')}\n`);
}

before(async () => {
  daemon = await startDaemon(tmp.dir);
  api = new ApiClient(daemon.socket);
});

after(async () => {
  spawnSync('tmux', ['-L', SERVER, 'kill-server']);
  await daemon?.stop();
  tmp.cleanup();
});

test('keys sent together all count; overdue machines show; the Jobs screen at 80×24 keeps the target and the state', async () => {
  for (let i = 1; i <= 6; i++) await api.addMachine({ name: `pc-0${i}`, macs: [`52:54:00:cc:00:0${i}`] });
  await api.addSchedule({ name: 'hourly', machines: ['pc-03'], calendar: 'hourly' });
  await daemon.stop();
  backdateSchedules(daemon.dataDir);
  daemon = await startDaemon(tmp.dir, { socket: daemon.socket, dataDir: daemon.dataDir });
  api = new ApiClient(daemon.socket);
  assert.equal((await api.machines()).find((m) => m.name === 'pc-03')?.backupPromise?.overdue, true, 'the daemon says pc-03 is overdue');

  await openTui('keys');
  await waitFor('keys', /pc-06/);
  // Overdue: its row says so, and a line above the details names it.
  let s = await waitFor('keys', /pc-03 +offline +OVERDUE never ok/);
  assert.match(s, /1 overdue \(last good backup older than the schedule promises\): pc-03/);

  // Four j in one write move four rows.
  keys('keys', 'jjjj');
  s = await waitFor('keys', /> pc-05 /);
  assert.doesNotMatch(s, /> pc-0[1-46]/);
  // pc-03's details: when its schedule was due.
  keys('keys', 'kk');
  await waitFor('keys', /OVERDUE: hourly was due \d{4}-\d\d-\d\d \d\d:\d\d UTC; last good never/);

  // Esc and a key in one write: the help closes and the key counts (screen 3).
  keys('keys', '?');
  await waitFor('keys', /this help/);
  tmux('send-keys', '-t', 'keys', '-H', '1b', '33');
  await waitFor('keys', /no jobs yet/);
  assert.doesNotMatch(screen('keys'), /this help/);

  // A backup of a docked file with a long path: at 80 columns the row keeps the path's end, the state whole, and the ETA/duration.
  const disk = join(tmp.dir, 'customer-archive-disk-of-the-front-desk-pc.img');
  randomDisk(disk, 64);
  const job = await api.createJob({ type: 'backup', device: disk });
  s = await waitFor('keys', /…\S*front-desk-pc\.img +done +\S+ +100% +-\/\d+\.\d +\d+s$/m, 60_000);
  for (const line of s.split('\n')) assert.ok(line.length <= 80);
  assert.match(s, /TYPE +TARGET +STATE +DONE +MB\/s now\/avg +ETA/);
  assert.equal((await api.job(job.id)).state, 'done');

  keys('keys', 'q');
  await waitFor('keys', /TUI-EXIT=0/);
});

test('a local restore: the time it reports leaves out the time at the confirmation prompt', async () => {
  const store = join(tmp.dir, 'local-store');
  const disk = join(tmp.dir, 'local-disk.img');
  randomDisk(disk, 32);
  const made = lifeboat(['image', 'backup', disk, '--store', store, '--json']);
  assert.equal(made.code, 0, made.stderr);
  const id = lastJson<{ id: string }>(made).id;
  const target = join(tmp.dir, 'local-target.img');
  writeFileSync(target, Buffer.alloc(32 << 20, 1));
  shell('restore', 250, 30);
  keys('restore', `${process.execPath} ${CLI} image restore ${id} ${target} --store ${store}; echo RESTORE-EXIT=$?`, 'Enter');
  await waitFor('restore', /Overwrite .*local-target\.img/);
  // The operator reads the question for six seconds.
  await new Promise((r) => setTimeout(r, 6000));
  keys('restore', 'yes', 'Enter');
  const answered = Date.now();
  const s = await waitFor('restore', /RESTORE-EXIT=\d+/, 60_000);
  const after = (Date.now() - answered) / 1000;
  assert.match(s, /RESTORE-EXIT=0/);
  const took = /restored image \S+ onto \S+: 32\.0 MiB in (\d+)s/.exec(s);
  assert.ok(took, `the summary line:\n${s}`);
  // Its own account is about the time from the answer to its exit (plus the checks before the
  // question), never that plus the 6 s at the prompt.
  assert.ok(Number(took[1]) < after + 3, `the restore took ${took[1]}s by its own account; ${after.toFixed(1)}s passed after the answer, 6s at the prompt before it`);
  assert.deepEqual(readFileSync(target), readFileSync(disk));
});

test('the console adds and edits a machine, backs up with a label and restores with verify, against the real daemon', { timeout: 180_000 }, async () => {
  const docked = join(tmp.dir, 'office-disk.img');
  randomDisk(docked, 48);
  const target = join(tmp.dir, 'office-target.img');
  writeFileSync(target, Buffer.alloc(48 << 20));
  await openTui('forms');

  // n: a new machine. A MAC the daemon refuses: its reason shows and what was typed stays.
  keys('forms', 'n');
  await waitFor('forms', /New machine/);
  keys('forms', 'kiosk-9');
  keys('forms', 'Tab');
  keys('forms', '52:54:00:12:34:zz');
  keys('forms', 'Enter');
  let s = await waitFor('forms', /! .*52:54:00:12:34:zz/);
  assert.match(s, /kiosk-9/);
  assert.equal((await api.machines()).some((m) => m.name === 'kiosk-9'), false, 'nothing added');
  keys('forms', 'BSpace', 'BSpace');
  keys('forms', '56');
  keys('forms', 'Tab');
  keys('forms', 'front-desk');
  keys('forms', 'Enter');
  await waitFor('forms', /machine kiosk-9 added \(52:54:00:12:34:56\)/);
  let m = (await api.machines()).find((x) => x.name === 'kiosk-9');
  assert.deepEqual([m?.macs, m?.group], [['52:54:00:12:34:56'], 'front-desk']);

  // e on it (found with the filter): the notes.
  keys('forms', '/');
  keys('forms', 'kiosk-9');
  keys('forms', 'Enter');
  await waitFor('forms', /> kiosk-9 /);
  keys('forms', 'e');
  await waitFor('forms', /Edit machine kiosk-9/);
  keys('forms', 'Up');
  keys('forms', 'BTab');
  keys('forms', 'Down', 'Down', 'Down');
  keys('forms', 'under the counter');
  keys('forms', 'Enter');
  await waitFor('forms', /machine kiosk-9 saved/);
  m = (await api.machines()).find((x) => x.name === 'kiosk-9');
  assert.equal(m?.notes, 'under the counter');

  // b on the docked disk: a label, then the job; the image carries the label.
  keys('forms', 'Escape');
  keys('forms', '/');
  keys('forms', 'office-disk');
  keys('forms', 'Enter');
  await waitFor('forms', /> \S*office-disk\.img +docked file/);
  keys('forms', 'b');
  await waitFor('forms', /Back up a docked disk/);
  keys('forms', 'before the upgrade');
  keys('forms', 'Enter');
  await waitFor('forms', /backup of \S*office-disk\.img: job \w+/);
  let image = '';
  for (let i = 0; i < 600 && !image; i++) {
    image = (await api.images()).find((x) => x.label === 'before the upgrade')?.id ?? '';
    if (!image) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(image, 'an image labelled "before the upgrade"');

  // r on the image: nothing chosen at first; move to the target file; verify chosen; the target's name typed.
  keys('forms', 'Escape', '2');
  keys('forms', '/');
  keys('forms', 'before the upgrade');
  keys('forms', 'Enter');
  await waitFor('forms', /> \d\d-\d\d \d\d:\d\d \S+ +appliance +…\S*office-disk\.img .*before t/);
  keys('forms', 'r');
  s = await waitFor('forms', /onto which machine or docked disk/);
  assert.doesNotMatch(s, /^│ > /m, 'no target chosen for the operator');
  for (let i = 0; i < 20 && !/> \S*office-target\.img/.test(screen('forms')); i++) {
    keys('forms', 'j');
    await new Promise((r) => setTimeout(r, 150));
  }
  await waitFor('forms', /> \S*office-target\.img/);
  keys('forms', 'Enter');
  await waitFor('forms', /Restore options/);
  keys('forms', 'Space');
  keys('forms', 'Enter');
  await waitFor('forms', /Then: read back and verify/);
  keys('forms', target);
  keys('forms', 'Enter');
  s = await waitFor('forms', /restore onto \S*office-target\.img: job (\w+)/);
  const jobId = /restore onto \S*office-target\.img: job (\w+)/.exec(s)?.[1] as string;
  for (let i = 0; i < 600 && !['done', 'failed'].includes((await api.job(jobId)).state); i++) await new Promise((r) => setTimeout(r, 100));
  const job = await api.job(jobId);
  assert.equal(job.state, 'done', job.error);
  assert.equal(job.stats?.verified, 1, 'the restore read the target back');
  assert.deepEqual(readFileSync(target), readFileSync(docked));
  keys('forms', 'q');
  await waitFor('forms', /TUI-EXIT=0/);
});
