// Schedules with a destination against a real daemon process, through the real CLI (as
// test/daemon-schedules.integration.test.ts): `schedule add --to disk:LABEL=LBUSB` is kept,
// shown by list/show/--dry-run, and `schedule run` creates a machine job whose options carry
// it and whose `jobs show` prints it; `--to share:<unknown>` and `--to` with docked disks are
// refused at add with nothing stored; `--to appliance` clears it. Then the share is taken out
// of the daemon's config and a stored record is damaged: after a restart, that schedule's run
// fails naming the schedule, the damaged record is left out and logged, and everything else
// (the other schedules, the list, the daemon) goes on.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, REPO, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';

let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let configFile: string;

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

function writeConfig(shares: boolean): void {
  const nas = { type: 'smb', unc: '//192.0.2.10/backups', username: 'backup', passwordFile: join(work.dir, 'nas.password') };
  writeFileSync(configFile, JSON.stringify({ scheduleTimerDir: join(work.dir, 'units'), socketGid: 65534, dockedDir: work.dir, ...(shares ? { shares: { nas } } : {}) }));
}

before(async () => {
  work = tempDir(`lifeboat-sched-dest-${process.pid}-`);
  chmodSync(work.dir, 0o755);
  writeFileSync(join(work.dir, 'nas.password'), 'secret\n', { mode: 0o600 });
  configFile = join(work.dir, 'config.json');
  writeConfig(true);
  daemon = await startDaemon(work.dir, { config: configFile });
});

after(async () => {
  await daemon?.stop('SIGKILL');
  work.cleanup();
});

test('schedule add --to disk:LABEL=LBUSB: kept, shown, and its run makes a machine job carrying the destination', async () => {
  assert.equal((await run(['machines', 'add', '--name', 'pc-usb', '--mac', '52:54:00:5d:00:01'])).code, 0);
  const add = await run(['schedule', 'add', '--name', 'usb-nightly', '--machine', 'pc-usb', '--calendar', 'daily', '--keep-last', '2', '--to', 'disk:LABEL=LBUSB', '--json']);
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual((JSON.parse(add.stdout) as { destination: unknown }).destination, { kind: 'client-disk', label: 'LBUSB' });
  assert.match((await run(['schedule', 'show', 'usb-nightly'])).stdout, /^to: +disk:LABEL=LBUSB \(its images there are not pruned/m);
  assert.match((await run(['schedule', 'list'])).stdout, /^usb-nightly\s+pc-usb\s+daily\s+.*keepLast=2\s+disk:LABEL=LBUSB$/m);
  const dry = await run(['schedule', 'run', 'usb-nightly', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^backups go to disk:LABEL=LBUSB: the images there are not pruned/m);

  // The run: pc-usb never boots here, so its job waits and fails at the deadline; the job carries the destination.
  const r = await run(['schedule', 'run', 'usb-nightly', '--boot-timeout', '2s']);
  assert.equal(r.code, 1, r.stderr);
  const id = /^job ([0-9a-f]{12}): backup of pc-usb to disk:LABEL=LBUSB waiting-for-boot$/m.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  const json = await run(['jobs', 'show', id, '--json']);
  const job = JSON.parse(json.stdout) as { options?: { destination?: unknown }; scheduleId?: string; label?: string };
  assert.deepEqual(job.options?.destination, { kind: 'client-disk', label: 'LBUSB' });
  assert.equal(job.label, 'schedule usb-nightly');
  assert.match((await run(['jobs', 'show', id])).stdout, /^to: +disk:LABEL=LBUSB$/m);

  const cleared = await run(['schedule', 'edit', 'usb-nightly', '--to', 'appliance']);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match((await run(['schedule', 'show', 'usb-nightly'])).stdout, /^to: +appliance$/m);
  assert.equal((await run(['schedule', 'edit', 'usb-nightly', '--to', 'disk:UUID=1A2B-3C4D'])).code, 0);
  assert.match((await run(['schedule', 'show', 'usb-nightly'])).stdout, /^to: +disk:UUID=1a2b-3c4d /m);
});

test('refused at add with why, nothing stored: an unknown share, --to with docked disks, a malformed --to', async () => {
  const unknown = await run(['schedule', 'add', '--name', 'to-tape', '--machine', 'pc-usb', '--calendar', 'daily', '--to', 'share:tape']);
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(unknown.stderr, /no share named "tape": the config names nas/);
  const docked = await run(['schedule', 'add', '--name', 'to-tape', '--device', join(work.dir, 'd.img'), '--calendar', 'daily', '--to', 'disk:LABEL=LBUSB']);
  assert.equal(docked.code, 2, docked.stderr);
  assert.match(docked.stderr, /--to is for machines' backups.*docked disks are backed up into the appliance/);
  const typo = await run(['schedule', 'add', '--name', 'to-tape', '--machine', 'pc-usb', '--calendar', 'daily', '--to', 'disk:LABEL=has space']);
  assert.notEqual(typo.code, 0);
  assert.match(typo.stderr, /a filesystem label is 1 to 16 letters/);
  const show = await run(['schedule', 'show', 'to-tape']);
  assert.notEqual(show.code, 0);
  assert.match(show.stderr, /no schedule named "to-tape"/, 'nothing was stored');
});

test('a share taken out of the config fails that schedule run naming it; a damaged record is left out and logged; the rest goes on', async () => {
  assert.equal((await run(['machines', 'add', '--name', 'pc-nas', '--mac', '52:54:00:5d:00:02'])).code, 0);
  const add = await run(['schedule', 'add', '--name', 'nas-nightly', '--machine', 'pc-nas', '--calendar', 'daily', '--to', 'share:nas']);
  assert.equal(add.code, 0, add.stderr);
  await daemon.stop();
  writeConfig(false);
  const now = new Date().toISOString();
  appendFileSync(join(daemon.dataDir, 'db', 'schedules.db'), `${JSON.stringify({ _id: '0000000000b1', name: 'damaged', target: { machines: ['pc-nas'] }, calendar: 'daily', retention: {}, enabled: true, destination: { kind: 'share', name: '../../etc' }, createdAt: now, updatedAt: now })}\n`);
  daemon = await startDaemon(work.dir, { config: configFile, socket: daemon.socket, dataDir: daemon.dataDir });

  const r = await run(['schedule', 'run', 'nas-nightly']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /schedule nas-nightly sends its backups to share:nas, which this appliance cannot use now: no share named "?nas"?: this appliance has no shares in its config.*lifeboat schedule edit nas-nightly --to/);
  assert.match((await run(['jobs', 'list', '--json'])).stdout, /^\[/);
  assert.ok(!(await run(['jobs', 'list'])).stdout.includes('pc-nas'), 'no job was created for it');

  assert.match(daemon.log(), /schedule damaged is left out: its stored record does not read back \(schedule destination .*lifeboat schedule rm damaged/);
  const list = await run(['schedule', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^nas-nightly\s/m);
  assert.match(list.stdout, /^usb-nightly\s/m);
  assert.doesNotMatch(list.stdout, /damaged/);
  const show = await run(['schedule', 'show', 'damaged']);
  assert.notEqual(show.code, 0);
  assert.match(show.stderr, /the stored schedule "damaged" does not read back .*lifeboat schedule rm damaged/);
  assert.equal((await run(['schedule', 'rm', 'damaged'])).code, 0);
  // Its destination changed, nas-nightly runs again (to the appliance; pc-nas never boots here).
  assert.equal((await run(['schedule', 'edit', 'nas-nightly', '--to', 'appliance'])).code, 0);
  const again = await run(['schedule', 'run', 'nas-nightly', '--boot-timeout', '1s']);
  assert.match(again.stdout, /^job [0-9a-f]{12}: backup of pc-nas waiting-for-boot$/m);
});
