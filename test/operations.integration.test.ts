// Day-two operations through the real CLI and a real daemon: jobs an operator can read
// (list with times and who asked, the whole story of one job, kept across a daemon
// restart), the summary at the end of backup --wait, the audit trail, schedules edited,
// disabled and enabled (their timer drop-in follows), dry-run prunes, protection from
// pruning, and an unknown group refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let timers: string;
let disk: string;

/** The CLI without blocking this process (the daemon's log pipe stays drained). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LIFEBOAT_SOCKET: daemon.socket }, cwd: REPO });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const ok = async (args: string[]) => {
  const r = await run(args);
  assert.equal(r.code, 0, `lifeboat ${args.join(' ')}: ${r.stderr}`);
  return r;
};
const config = () => join(work.dir, 'config.json');
const firstRow = (table: string) => table.trim().split('\n')[1] ?? '';

before(async () => {
  work = tempDir(`lifeboat-ops-${process.pid}-`);
  timers = join(work.dir, 'units');
  writeFileSync(config(), JSON.stringify({ scheduleTimerDir: timers, dockedDir: work.dir }));
  daemon = await startDaemon(work.dir, { config: config() });
  disk = join(work.dir, 'docked.img');
  randomDisk(disk, 4);
});

after(async () => {
  await daemon?.stop('SIGKILL');
  work.cleanup();
});

test('backup --wait ends with the summary the local command prints; jobs list and show tell who, when, how long and the whole story', async () => {
  const backups: string[] = [];
  for (let i = 0; i < 3; i++) {
    sh(`head -c 64K /dev/urandom | dd of=${disk} bs=64K seek=${i} conv=notrunc status=none`);
    const r = await ok(['backup', '--device', disk, '--wait']);
    const m = /^image (\S+) committed: [\d.]+ MiB read, \S+ \S+ new -> \S+ \S+ stored \(lz4 [\d.]+x\), \S+ \S+ reused, \S+ \S+ zero, in (\d+s|\d+m\d\ds)/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    backups.push(m[1] as string);
  }
  const jobs = JSON.parse((await ok(['jobs', 'list', '--json'])).stdout) as Array<{ id: string; imageId?: string; history?: Array<{ state: string }>; log?: unknown[] }>;
  assert.deepEqual(jobs.map((j) => j.imageId), [...backups].reverse(), 'newest first');
  const list = (await ok(['jobs', 'list'])).stdout;
  assert.match(list.split('\n')[0] ?? '', /^ID\s+TYPE\s+STATE\s+MACHINE\/DEVICE\s+DISK\s+CREATED\s+STARTED\s+ENDED\s+DURATION\s+BY\s+PROGRESS\/RESULT$/);
  assert.match(firstRow(list), new RegExp(`^${jobs[0]?.id}\\s+backup\\s+done\\s+${disk.replaceAll('/', '\\/')}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\S+\\s+\\d\\d:\\d\\d:\\d\\d \\S+\\s+\\d\\d:\\d\\d:\\d\\d \\S+\\s+\\d+[smhd](\\d\\d[smh])?\\s+\\S+\\s+new `));
  assert.equal((await ok(['jobs', 'list', '--limit', '1'])).stdout.trim().split('\n').length, 2);
  assert.equal((await ok(['jobs', 'list', '--since', '1h', '--json'])).stdout.includes(jobs[2]?.id as string), true);
  assert.equal((await ok(['jobs', 'list', '--since', '2999-01-01'])).stdout, 'no jobs\n');
  const bad = await run(['jobs', 'list', '--state', 'bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^lifeboat: --state bogus: not a job state \(one of queued, .*\)$/m);
  const since = await run(['jobs', 'list', '--since', 'yesterday']);
  assert.equal(since.code, 2);
  assert.match(since.stderr, /--since takes a date or time/);

  const show = (await ok(['jobs', 'show', jobs[0]?.id as string])).stdout;
  assert.match(show, /^state:\s+done$/m);
  assert.match(show, /^requested by:\s+\S+/m);
  assert.match(show, /state changes:\n\s+\S+ \S+ \S+\s+queued\n\s+\S+ \S+ \S+\s+running\n\s+\S+ \S+ \S+\s+done/);
  assert.match(show, new RegExp(`result: image ${backups[2]} committed:`));
  assert.match(show, new RegExp(`log:\\n\\s+\\d\\d:\\d\\d:\\d\\d \\S+ backup ${backups[2]}: ${disk.replaceAll('/', '\\/')} ->`));

  // A restarted daemon (and so a restarted console) still has every job's story.
  assert.equal(await daemon.stop(), 0);
  daemon = await startDaemon(work.dir, { config: config() });
  const again = (await ok(['jobs', 'show', jobs[0]?.id as string])).stdout;
  assert.equal(again, show, 'the same story after a restart');
  assert.doesNotMatch(again, /no log lines/);
});

test('lifeboat audit prints the trail, newest first, with --since and --json', async () => {
  const text = (await ok(['audit'])).stdout;
  assert.match(text.split('\n')[0] ?? '', /^TIME\s+WHO\s+ACTION\s+SUBJECT\s+DETAILS$/);
  assert.match(firstRow(text), /job\.backup\s+[0-9a-f]{12}\s+devicePath=/);
  const events = JSON.parse((await ok(['audit', '--json', '--since', '1h'])).stdout) as Array<{ seq: number; action: string }>;
  assert.ok(events.length >= 3 && events.every((e, i) => i === 0 || e.seq < (events[i - 1]?.seq ?? 0)), 'newest first');
  assert.equal((await ok(['audit', '--since', '2999-01-01'])).stdout, 'no audit events\n');
});

test('images protect|unprotect; images prune --dry-run shows what the policy keeps and removes and removes nothing; the real prune spares the protected', async () => {
  const ids = (JSON.parse((await ok(['images', 'list', '--json'])).stdout) as Array<{ id: string }>).map((i) => i.id);
  assert.equal(ids.length, 3);
  const [newest, middle, oldest] = ids as [string, string, string];
  assert.match((await ok(['images', 'protect', oldest])).stdout, new RegExp(`image ${oldest} protected`));
  assert.match((await ok(['images', 'list'])).stdout, new RegExp(`${oldest}.*protected`));
  const refused = await run(['images', 'rm', oldest]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is protected: unprotect it first/);

  const dry = (await ok(['images', 'prune', '--keep-last', '1', '--dry-run'])).stdout;
  assert.match(dry, new RegExp(`${newest}\\s+\\S+ \\S+ \\S+\\s+keep\\s+last`));
  assert.match(dry, new RegExp(`${middle}\\s+\\S+ \\S+ \\S+\\s+would remove`));
  assert.match(dry, new RegExp(`${oldest}\\s+\\S+ \\S+ \\S+\\s+kept \\(protected\\)`));
  assert.match(dry, /dry run: would remove 1 image\(s\), kept 1 and 1 protected; nothing was removed/);
  assert.equal((JSON.parse((await ok(['images', 'list', '--json'])).stdout) as unknown[]).length, 3, 'a dry run removes nothing');
  assert.equal((await run(['images', 'prune', '--dry-run'])).code, 2, 'a prune without a policy is a usage error');

  const real = (await ok(['images', 'prune', '--keep-last', '1'])).stdout;
  assert.match(real, /removed 1 image\(s\)/);
  assert.deepEqual((JSON.parse((await ok(['images', 'list', '--json'])).stdout) as Array<{ id: string }>).map((i) => i.id), [newest, oldest]);
  assert.match((await ok(['images', 'unprotect', oldest])).stdout, /unprotected/);
  const show = (await ok(['images', 'show', newest])).stdout;
  assert.match(show, /^pruning\s+not protected$/m);
  assert.match(show, /^layout\s+no partition table/m);
  assert.equal((JSON.parse((await ok(['images', 'show', newest, '--json'])).stdout) as { id: string }).id, newest);
});

test('schedule edit|disable|enable change it and its timer; run --dry-run shows the retention decision; an unknown group is refused', async () => {
  await ok(['schedule', 'add', '--name', 'dock', '--device', disk, '--calendar', 'daily', '--keep-last', '3']);
  const dropIn = join(timers, 'lifeboat-schedule@dock.timer.d', 'lifeboat-calendar.conf');
  assert.match(readFileSync(dropIn, 'utf8'), /^OnCalendar=daily$/m);

  await ok(['schedule', 'edit', 'dock', '--calendar', 'Mon..Fri 22:00', '--keep-last', '1', '--keep-weekly', '4']);
  const show = (await ok(['schedule', 'show', 'dock'])).stdout;
  assert.match(show, /^calendar:\s+Mon\.\.Fri 22:00$/m);
  assert.match(show, /^keeps:\s+keepLast=1 weekly=4$/m);
  assert.match(readFileSync(dropIn, 'utf8'), /^OnCalendar=Mon\.\.Fri 22:00$/m, 'the timer follows the edit');
  const nothing = await run(['schedule', 'edit', 'dock']);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /say what to change/);
  const badCalendar = await run(['schedule', 'edit', 'dock', '--calendar', 'someday']);
  assert.equal(badCalendar.code, 2, badCalendar.stderr);

  assert.match((await ok(['schedule', 'disable', 'dock'])).stdout, /disabled schedule dock: .*next run never/);
  assert.match((await ok(['schedule', 'list'])).stdout, /dock\s+.*disabled/);
  assert.equal(existsSync(dropIn), false, 'a disabled schedule has no timer');
  assert.match((await ok(['schedule', 'enable', 'dock'])).stdout, /enabled schedule dock: .*next run \d{4}-/);
  assert.equal(existsSync(dropIn), true);

  await ok(['schedule', 'run', 'dock']);
  sh(`head -c 64K /dev/urandom | dd of=${disk} bs=64K seek=5 conv=notrunc status=none`);
  await ok(['schedule', 'run', 'dock']);
  const mine = (JSON.parse((await ok(['jobs', 'list', '--json', '--limit', '2'])).stdout) as Array<{ imageId: string }>).map((j) => j.imageId);
  sh(`head -c 64K /dev/urandom | dd of=${disk} bs=64K seek=6 conv=notrunc status=none`);
  await ok(['backup', '--device', disk, '--wait']); // a manual backup: never the schedule's to prune
  const before = (JSON.parse((await ok(['images', 'list', '--json'])).stdout) as unknown[]).length;
  const dry = (await ok(['schedule', 'run', 'dock', '--dry-run'])).stdout;
  assert.match(dry, /dry run: would remove 0 image\(s\), kept 1/, 'the newest of the schedule is kept and the older one pruned already by the last run');
  assert.ok(dry.includes(mine[0] as string));
  assert.equal((JSON.parse((await ok(['images', 'list', '--json'])).stdout) as unknown[]).length, before, 'a dry run starts and removes nothing');

  const group = await run(['schedule', 'add', '--name', 'office', '--group', 'nosuch', '--calendar', 'daily']);
  assert.equal(group.code, 1);
  assert.match(group.stderr, /no machine is in group "nosuch".*lifeboat machines edit <name> --group nosuch/);
});

test('the command line: help per command, one error prefix, errors that say what was wrong and what to do', async () => {
  const help = await ok(['help', 'image', 'backup']);
  assert.match(help.stdout, /^Usage: lifeboat local backup \[options\] <device-or-file>/);
  assert.match((await ok(['help', 'schedule'])).stdout, /edit \[options\] <name>\s+change a schedule/);
  const typo = await run(['jobs', 'lst']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^lifeboat: unknown command 'lst'/m);
  assert.doesNotMatch(typo.stderr, /^error:/m, 'one error prefix');

  const noMac = await run(['machines', 'add', '--name', 'kiosk']);
  assert.equal(noMac.code, 2);
  assert.match(noMac.stderr, /^lifeboat: machine kiosk needs a MAC address .*--mac 52:54:00:12:34:56/m);
  const badName = await run(['machines', 'add', '--name', 'x'.repeat(70), '--mac', '52:54:00:00:00:01']);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /name: (must be at most 63 characters|is 70 characters long: keep it to 63)/);

  const file = join(work.dir, 'not-a-dir');
  writeFileSync(file, 'x');
  const store = await run(['image', 'backup', disk, '--store', file]);
  assert.equal(store.code, 1);
  assert.match(store.stderr, new RegExp(`^lifeboat: creating store ${file.replaceAll('/', '\\/')}: ${file.replaceAll('/', '\\/')} is a file, not a directory: choose a directory`, 'm'));
  assert.doesNotMatch(store.stderr, /EEXIST/);

  const completion = await ok(['completion', 'bash']);
  assert.match(completion.stdout, /complete -o filenames -F _lifeboat lifeboat/);
  assert.equal((await run(['completion', 'fish'])).code, 2);
});
