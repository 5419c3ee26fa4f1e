// `lifeboat dashboard` against a real daemon, in tmux: the hour of throughput comes from
// the daemon and survives the daemon's restart; the Attention panel names a failed job and
// an overdue machine; the store gauge is the store's own usage; the chart's axes carry
// units; box lines are characters in tmux (never the alternate character set) and plain
// ASCII on TERM=linux without a UTF-8 locale.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, tempDir } from './helpers/cli.js';
import { tmuxServer } from './helpers/tmux.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

const SERVER = `lifeboat-dash-panels-${process.pid}`;
const tmp = tempDir('lifeboat-dash-panels-');
let daemon: TestDaemon;
let api: ApiClient;

const term = tmuxServer(SERVER, () => `daemon log tail:\n${daemon.log().slice(-2000)}`);
const tmux = term.run;
const waitFor = term.waitFor;

async function waitJob(id: string, states: string[]): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const j = await api.job(id);
    if (states.includes(j.state)) return j.state;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} never reached ${states.join('/')}`);
}

function dashboard(name: string, cols: number, rows: number, env: string[]): void {
  tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), 'env', '-i', `PATH=${process.env.PATH}`, 'HOME=/tmp', 'TZ=UTC', ...env, process.execPath, CLI, 'dashboard', '--socket', daemon.socket);
}

/** Every file under `dir`. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
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

test('the dashboard: the daemon\'s hour across its restart, failed jobs and overdue machines, the store\'s own usage, units, box lines in tmux and ASCII', { timeout: 180_000 }, async () => {
  // A backup moves data (the hour gets a peak); a verify of the image after its chunks were damaged fails.
  const disk = join(tmp.dir, 'disk.img');
  randomDisk(disk, 256);
  const backup = await api.createJob({ type: 'backup', device: disk });
  assert.equal(await waitJob(backup.id, ['done', 'failed']), 'done');
  const image = (await api.job(backup.id)).imageId as string;
  for (const f of files(join(daemon.dataDir, 'store')).filter((f) => /\/chunks\//.test(f))) writeFileSync(f, 'damaged');
  const verify = await api.createJob({ type: 'verify', image });
  assert.equal(await waitJob(verify.id, ['done', 'failed']), 'failed');

  // A machine whose schedule promised a backup a while ago (its schedule made a week back).
  await api.addMachine({ name: 'pc-late', macs: ['52:54:00:dd:00:01'] });
  await api.addSchedule({ name: 'hourly', machines: ['pc-late'], calendar: 'hourly' });
  await daemon.stop();
  const schedules = join(daemon.dataDir, 'db', 'schedules.db');
  const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
  writeFileSync(schedules, `${readFileSync(schedules, 'utf8').split('\n').filter(Boolean).map((l) => JSON.stringify({ ...(JSON.parse(l) as object), createdAt: weekAgo })).join('\n')}\n`);
  // The daemon saved its hour when it stopped; the new one reads it back.
  assert.match(readFileSync(join(daemon.dataDir, 'throughput-history.json'), 'utf8'), /"bytesPerSecond":[1-9]/);
  daemon = await startDaemon(tmp.dir, { socket: daemon.socket, dataDir: daemon.dataDir });
  api = new ApiClient(daemon.socket);
  const hour = await api.throughput();
  assert.ok(hour.samples.some((s) => s.bytesPerSecond > 0), 'the restarted daemon has the hour');

  dashboard('utf8', 120, 40, ['TERM=tmux-256color', 'LANG=C.UTF-8']);
  let s = await waitFor('utf8', /Attention: 1 failed, 1 overdue/);
  s = await waitFor('utf8', /peak [1-9]\d*\.\d/);
  // The appliance status comes with its own request (the store's chunks are counted first).
  s = await waitFor('utf8', /Store: \S+ \S+ stored/);
  assert.match(s, /FAILED \d\d:\d\d UTC verify/);
  assert.match(s, /OVERDUE pc-late: last good never, hourly due/);
  assert.doesNotMatch(s, /null/, 'no label prints as null');
  // The backup's peak is drawn near the right end (now), not cut off: above the zero line
  // and the axis (rows of ⣀ and ⠒), a stroke in the chart's last columns.
  const chartRows = s.split('\n').slice(1, s.split('\n').findIndex((l) => /MB\/s -60m/.test(l))).filter((l) => !/⣀⣀|⠒⠒/.test(l));
  assert.ok(chartRows.some((l) => /[⠁-⣿] {0,12}││/.test(l.replace(/^│[^⡇]*⡇/, ''))), `the peak is drawn:\n${s}`);
  assert.match(s, /Throughput, MB\/s over the last hour: \d+\.\d now, peak/);
  assert.match(s, /MB\/s +-60m +-\d+m/, 'the time axis has its unit, the rate axis its own');
  // What the store's chunks take (64 chunks, each overwritten with 7 bytes above), not the host filesystem's usage.
  assert.match(s, /Store: 448 B stored/, 'the gauge is what the store holds');
  assert.match(s, /┌─/, 'box lines as box-drawing characters');
  assert.doesNotMatch(s, /lqq|qqk|mqq/, 'never the alternate character set shown as letters');

  dashboard('ascii', 80, 24, ['TERM=linux', 'LANG=C']);
  s = await waitFor('ascii', /\+- 1 failed, 1 overdue -/);
  assert.match(s, /^\+- /m, 'ASCII corners');
  assert.match(s, /\|MB\/s -60m/);
  assert.doesNotMatch(s, /[^\x20-\x7e\n]/, 'nothing but ASCII on a console without UTF-8');
  assert.ok(s.split('\n').length <= 25);

  for (const pane of ['utf8', 'ascii']) tmux('send-keys', '-t', pane, 'q');
});
