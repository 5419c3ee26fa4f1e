// `lifeboat tui` in a real terminal: tmux panes at 80×24 and 120×40 running the built CLI
// against a real daemon. Keys go in with send-keys; screens come back with capture-pane.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, tempDir } from './helpers/cli.js';
import { tmuxServer } from './helpers/tmux.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

const SERVER = `lifeboat-tui-test-${process.pid}`;
const tmp = tempDir('lifeboat-tui-');
let daemon: TestDaemon;
let api: ApiClient;

const term = tmuxServer(SERVER, () => `daemon log tail:\n${daemon.log().slice(-2000)}`);
const tmux = term.run;
const screen = term.screen;
const keys = term.keys;
const waitFor = term.waitFor;

/** A shell in a new pane that prints a marker, then runs the console; the shell stays after it quits. */
async function openTui(name: string, cols: number, rows: number, env: string): Promise<void> {
  tmux('new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), 'env', '-i', `PATH=${process.env.PATH}`, 'HOME=/tmp', 'TERM=xterm-256color', 'bash', '--norc', '--noprofile');
  keys(name, `PS1='$ '; clear; echo BEFORE-THE-TUI-${name}; ${env} ${process.execPath} ${CLI} tui --socket ${daemon.socket}; echo TUI-EXIT=$?`, 'Enter');
  await waitFor(name, /Lifeboat/);
}

before(async () => {
  daemon = await startDaemon(tmp.dir);
  api = new ApiClient(daemon.socket);
  randomDisk(join(tmp.dir, 'disk.img'), 600);
});

after(async () => {
  spawnSync('tmux', ['-L', SERVER, 'kill-server']);
  await daemon?.stop();
  tmp.cleanup();
});

test('lifeboat tui in tmux: live data from the daemon, two consoles, reconnect, and q leaves the terminal as it was', async () => {
  await openTui('small', 80, 24, 'LANG=C.UTF-8');
  await openTui('large', 120, 40, 'LANG=C NO_COLOR=1');

  // Full screen, sized to the pane: header on the first row, key hints on the last.
  let s = await waitFor('small', /● online/);
  let lines = s.split('\n');
  assert.match(lines[0] ?? '', /^ Lifeboat .*1 Machines.*5 Appliance.*● online$/);
  assert.match(lines[23] ?? '', /b backup .* q quit/);
  s = await waitFor('large', /\* online/);
  lines = s.split('\n');
  assert.match(lines[39] ?? '', /b backup .* q quit/);
  assert.match(s, /\+-{20,}/, 'ASCII borders without a UTF-8 locale');
  assert.doesNotMatch(s, /[^ -~\n]/, 'nothing but ASCII without a UTF-8 locale');

  // A machine added through the API appears in both.
  await api.addMachine({ name: 'pc-tui-1', macs: ['52:54:00:aa:bb:01'], vendor: 'Dell', model: 'OptiPlex 7090' });
  await waitFor('small', /pc-tui-1 .*offline .*never .*Dell OptiPlex/);
  await waitFor('large', /pc-tui-1/);

  // Colour, and NO_COLOR: the 80-column console (colour on) has SGR colour codes, the other none.
  // eslint-disable-next-line no-control-regex -- SGR escape sequences are what it looks for
  const colour = /\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])(?:;[0-9;]*)?m/;
  assert.match(tmux('capture-pane', '-e', '-p', '-t', 'small'), colour);
  assert.doesNotMatch(tmux('capture-pane', '-e', '-p', '-t', 'large'), colour);

  // A device backup started by another client: both consoles show it live, then done. The
  // bytes the console writes meanwhile are recorded: lines are redrawn, the screen never cleared.
  keys('small', '3');
  keys('large', '3');
  await waitFor('small', /TYPE +TARGET/);
  const raw = join(tmp.dir, 'small.raw');
  tmux('pipe-pane', '-o', '-t', 'small', `cat > ${raw}`);
  const job = await api.createJob({ type: 'backup', device: join(tmp.dir, 'disk.img') });
  const first = await waitFor('small', /running .* (\d+)% /);
  const pct = Number(/running .* (\d+)% /.exec(first)?.[1]);
  await waitFor('large', /running .*#+-* +\d+% +\d+\.\d\/\d+\.\d/);
  await waitFor('small', new RegExp(`running .* (?!${pct}%)\\d+% `));
  assert.match(screen('small'), /MB\/s [▁▂▃▄▅▆▇█]+ peak/);
  await waitFor('small', /done .*100%/, 60_000);
  await waitFor('large', /done .*100%/, 15_000);
  assert.match(screen('large'), new RegExp(job.id));
  assert.match(screen('small'), new RegExp(job.id));
  assert.match(screen('small'), /now done/);
  tmux('pipe-pane', '-t', 'small');
  const written = readFileSync(raw, 'latin1');
  assert.ok(written.length > 0, 'the console wrote while the job ran');
  assert.equal(written.split('\x1b[2J').length - 1, 0, 'no full-screen clear during updates');
  assert.ok(written.includes('\x1b[4;1H\x1b[2K'), 'the job row is redrawn in place');

  // The daemon goes away: both show reconnecting; it comes back: both recover on their own.
  await daemon.stop();
  await waitFor('small', /reconnecting… attempt/);
  await waitFor('large', /reconnecting\.\.\. attempt/);
  daemon = await startDaemon(tmp.dir, { socket: daemon.socket, dataDir: daemon.dataDir });
  api = new ApiClient(daemon.socket);
  await waitFor('small', /● online/, 15_000);
  await waitFor('large', /\* online/, 15_000);
  await api.addMachine({ name: 'pc-tui-2', macs: ['52:54:00:aa:bb:02'] });
  keys('small', '1');
  await waitFor('small', /pc-tui-2/);

  // Resize: the console redraws to the new size.
  tmux('resize-window', '-t', 'large', '-x', '100', '-y', '30');
  s = await waitFor('large', /^ Lifeboat .*\* online$/m);
  assert.match(s.split('\n')[29] ?? '', /q quit/);

  // q: the alternate screen is left, the shell's own lines are back, exit code 0, and the job is still there.
  for (const pane of ['small', 'large']) {
    keys(pane, 'q');
    s = await waitFor(pane, /TUI-EXIT=0/);
    assert.match(s, new RegExp(`BEFORE-THE-TUI-${pane}`));
    assert.doesNotMatch(s, /Lifeboat|online/);
  }
  assert.equal((await api.jobs()).find((j) => j.id === job.id)?.state, 'done');
});

test('cancel in the console: the dialog says a restore leaves the disk incomplete, "cancelling…" until the daemon stopped it, then the real outcome', async () => {
  let image = (await api.images())[0]?.id;
  if (!image) {
    const b = await api.createJob({ type: 'backup', device: join(tmp.dir, 'disk.img') });
    for (let i = 0; i < 600 && (await api.job(b.id)).state !== 'done'; i++) await new Promise((r) => setTimeout(r, 100));
    image = (await api.images())[0]?.id;
  }
  assert.ok(image, 'an image to restore');
  const target = join(tmp.dir, 'target.img');
  spawnSync('truncate', ['-s', '700M', target]);
  await openTui('cancel', 120, 40, 'LANG=C.UTF-8');
  keys('cancel', '3');
  await waitFor('cancel', /TYPE +TARGET/);
  const job = await api.createJob({ type: 'restore', image, device: target, confirm: true });
  await waitFor('cancel', new RegExp(`restore .*target\\.img +running`));
  keys('cancel', 'c');
  const dialog = await waitFor('cancel', /Cancel job/);
  assert.match(dialog, /INCOMPLETE/);
  assert.doesNotMatch(dialog, /discarded/);
  keys('cancel', 'y');
  // The answer comes once the daemon stopped the restore: the flash says how it really ended.
  const end = await waitFor('cancel', new RegExp(`job ${job.id} cancelled: .*target\\.img is incomplete`), 30_000);
  // in this order in the job's log panel (other log lines of the job may come between)
  assert.match(end, /now running[\s\S]*now cancelling[\s\S]*now cancelled/, 'the console showed "cancelling" before "cancelled"');
  assert.match(end, /restore .*target\.img +cancelled/);
  await waitFor('cancel', /TARGET INCOMPLETE: .*target\.img must not be used; restore it again/, 15_000);
  assert.equal((await api.job(job.id)).targetIncomplete, true);
  // The Machines screen lists the appliance's own disk as the system disk; b on it is refused.
  keys('cancel', '1');
  await waitFor('cancel', /\/dev\/\S+ +system disk/);
  const rows = screen('cancel').split('\n');
  const at = rows.findIndex((l) => /system disk/.test(l)) - rows.findIndex((l) => /^\s*NAME /.test(l)) - 1;
  for (let i = 0; i < at; i++) keys('cancel', 'j');
  await waitFor('cancel', /> \/dev\/\S+ +system disk/);
  keys('cancel', 'b');
  await waitFor('cancel', /! \/dev\/\S+ is the appliance's own system disk \(it holds \//);
  keys('cancel', 'q');
  await waitFor('cancel', /TUI-EXIT=0/);
});
