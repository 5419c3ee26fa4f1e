// The daemon's headless side, as a real process: schedules of docked disks run by
// `lifeboat schedule run` (jobs, retention, gc, exit codes) with their timer drop-ins;
// machine jobs that wait for a boot and fail at their deadline; the audit naming the
// socket peer by its uid; verify --all; the appliance and device listings; a full disk
// during a daemon job.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';
import { attachLoop, mountTmpfs, withLoop } from './helpers/system.js';

let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let timers: string;

/** The CLI without blocking this process (the daemon's log pipe stays drained). */
function run(args: string[], env: Record<string, string> = {}, prefix: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const argv = [...prefix, process.execPath, CLI, ...args];
    const c = spawn(argv[0] as string, argv.slice(1), { env: { ...process.env, LIFEBOAT_SOCKET: daemon.socket, ...env }, cwd: REPO });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  work = tempDir('lifeboat-sched-');
  timers = join(work.dir, 'units');
  writeFileSync(join(work.dir, 'config.json'), JSON.stringify({ scheduleTimerDir: timers, socketGid: 65534, dockedDir: work.dir }));
  chmodSync(work.dir, 0o755);
  daemon = await startDaemon(work.dir, { config: join(work.dir, 'config.json') });
});

after(async () => {
  await daemon?.stop('SIGKILL');
  work.cleanup();
});

test('a schedule of a docked disk: timer drop-in, three runs, keep-last 2 prunes the oldest and gc frees its chunks', async () => {
  const disk = join(work.dir, 'docked.img');
  randomDisk(disk, 12);
  const add = await run(['schedule', 'add', '--name', 'dock', '--device', disk, '--calendar', 'Mon..Fri 22:00', '--keep-last', '2', '--json']);
  assert.equal(add.code, 0, add.stderr);
  const dropIn = join(timers, 'lifeboat-schedule@dock.timer.d', 'lifeboat-calendar.conf');
  assert.match(readFileSync(dropIn, 'utf8'), /^OnCalendar=Mon\.\.Fri 22:00$/m, 'the timer gets the calendar');
  const list = await run(['schedule', 'list']);
  assert.match(list.stdout, new RegExp(`dock\\s+device ${disk.replaceAll('/', '\\/')}\\s+Mon\\.\\.Fri 22:00`));

  const images: string[] = [];
  for (let i = 0; i < 3; i++) {
    sh(`head -c 1M /dev/urandom | dd of=${disk} bs=1M seek=${i + 2} conv=notrunc status=none`); // a new MiB each time
    const r = await run(['schedule', 'run', 'dock', '--json'], { LIFEBOAT_OPERATOR: 'timer' });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { jobs: Array<{ state: string; imageId: string }>; prune: { removed: string[]; gc: { chunksRemoved?: number; skipped?: string } } };
    assert.equal(out.jobs.length, 1);
    assert.equal(out.jobs[0]?.state, 'done');
    images.push(out.jobs[0]?.imageId as string);
    if (i < 2) assert.deepEqual(out.prune.removed, []);
    else {
      assert.deepEqual(out.prune.removed, [images[0]], 'the oldest of three goes');
      assert.ok((out.prune.gc.chunksRemoved ?? 0) >= 1, `gc freed the oldest image's own chunks: ${JSON.stringify(out.prune.gc)}`);
    }
  }
  const left = (await new ApiClient(daemon.socket).images()).map((i) => i.id).sort();
  assert.deepEqual(left, images.slice(1).sort());
  const audit = await new ApiClient(daemon.socket).audit();
  assert.ok(audit.some((e) => e.action === 'schedule.run' && e.actor === 'timer'), 'root may run as the timer');
  assert.ok(audit.some((e) => e.action === 'schedule.prune' && e.subject === 'dock'));

  assert.equal((await run(['images', 'verify', '--all'])).code, 0);
  const rm = await run(['schedule', 'rm', 'dock']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.ok(!existsSync(dropIn), 'removing the schedule removes its timer drop-in');
});

test('a machine job waits for its boot, can be cancelled, and fails at the boot deadline with advice; schedule run exits 1', async () => {
  assert.equal((await run(['machines', 'add', '--name', 'desk-7', '--mac', '52:54:00:aa:00:07'])).code, 0);
  const b = await run(['backup', '--machine', 'desk-7', '--json']);
  assert.equal(b.code, 0, b.stderr);
  const job = JSON.parse(b.stdout) as { id: string; state: string };
  assert.equal(job.state, 'waiting-for-boot');
  const busy = await run(['backup', '--machine', 'desk-7']);
  assert.equal(busy.code, 1, 'one job per machine at a time');
  assert.match((await run(['jobs', 'cancel', job.id])).stdout.trim(), new RegExp(`^job ${job.id} cancelled\noutcome: cancelled before it started`));
  const noDisk = await run(['backup', '--machine', 'desk-7', '--disk', 'WD-123']);
  assert.equal(noDisk.code, 1);
  assert.match(noDisk.stderr, /desk-7 has no disk with serial WD-123/);
  const both = await run(['backup', '--machine', 'desk-7', '--device', '/dev/null']);
  assert.equal(both.code, 2);

  assert.equal((await run(['schedule', 'add', '--name', 'office', '--machine', 'desk-7', '--calendar', 'daily'])).code, 0);
  const r = await run(['schedule', 'run', 'office', '--boot-timeout', '2s']);
  assert.equal(r.code, 1, 'a machine that never booted fails the run');
  assert.match(r.stdout, /waiting-for-boot/);
  assert.match(r.stdout, /failed: desk-7 did not boot into Lifeboat within 2 s: check that it is powered, that Wake-on-LAN is enabled/);
  assert.match(r.stderr, /schedule office: 1 of 1 backup\(s\) did not succeed/);
  assert.equal((await run(['schedule', 'rm', 'office'])).code, 0);
});

test('the audit names the socket peer by its uid: another user cannot claim to be root', async () => {
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const r = await run(['machines', 'add', '--name', 'by-nobody', '--mac', '52:54:00:aa:00:08'], { LIFEBOAT_OPERATOR: 'root', HOME: '/tmp' }, asNobody);
  assert.equal(r.code, 0, r.stderr);
  const audit = await new ApiClient(daemon.socket).audit();
  const entry = audit.find((e) => e.action === 'machine.add' && e.subject === 'by-nobody');
  assert.equal(entry?.actor, 'nobody');
  // Without the socket's group the kernel refuses the connection: exit 4, with advice.
  const denied = await run(['machines', 'list'], { HOME: '/tmp' }, ['setpriv', '--reuid=65534', '--regid=1', '--clear-groups']);
  assert.equal(denied.code, 4, denied.stderr);
  assert.match(denied.stderr, /permission denied.*lifeboat group/);
});

test('appliance status and docked devices: a loop device shows its GPT partitions and filesystems', async (t) => {
  const api = new ApiClient(daemon.socket);
  const status = await api.appliance();
  assert.equal(status.store.path, join(daemon.dataDir, 'store'));
  assert.ok(status.store.images >= 2 && status.store.storedBytes > 0 && status.store.reduction > 0);
  assert.ok(status.services.some((s) => s.name === 'operator API' && s.state === 'running'));
  if (spawnSync('losetup', ['--version']).status !== 0 || process.getuid?.() !== 0) return t.skip('needs losetup and root');
  const img = join(work.dir, 'gpt.img');
  sh(`truncate -s 64M ${img} && sgdisk -o -n1:2048:+20M -t1:8300 -c1:data ${img} >/dev/null`);
  withLoop(img, { offset: 1 << 20, size: 20 << 20 }, (part) => sh(`mkfs.ext4 -q -L docs ${part}`));
  const { dev: loop, detach } = attachLoop(img);
  try {
    const devices = await api.devices();
    const d = devices.find((x) => x.path === loop);
    assert.ok(d, `${loop} is listed: ${JSON.stringify(devices.map((x) => x.path))}`);
    assert.equal(d.sizeBytes, 64 << 20);
    assert.equal(d.inUse, false);
    assert.deepEqual(d.partitions.map((p) => [p.path, p.sizeBytes, p.fsType, p.label]), [[`${loop}p1`, 20 << 20, 'ext4', 'docs']]);
  } finally {
    detach();
  }
});

test('a full store during a daemon job: the job fails saying so, nothing half-made appears, the daemon goes on', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a small tmpfs needs root');
  const small = join(work.dir, 'small');
  const unmountSmall = mountTmpfs(small, 'size=24m');
  const other = tempDir('lifeboat-full-');
  try {
    writeFileSync(join(other.dir, 'config.json'), JSON.stringify({ store: join(small, 'store'), scheduleTimerDir: null, dockedDir: other.dir }));
    const d2 = await startDaemon(other.dir, { config: join(other.dir, 'config.json') });
    try {
      const disk = join(other.dir, 'big.img');
      randomDisk(disk, 64);
      const api = new ApiClient(d2.socket);
      const job = await api.createJob({ type: 'backup', device: disk });
      let final = await api.job(job.id);
      for (let i = 0; i < 300 && ['queued', 'running'].includes(final.state); i++) {
        await new Promise((r) => setTimeout(r, 100));
        final = await api.job(job.id);
      }
      assert.equal(final.state, 'failed');
      assert.match(final.error ?? '', /space|full/i);
      assert.deepEqual(await api.images(), [], 'no partial image');
      assert.deepEqual(readdirSync(join(small, 'store', 'images')), []);
      // Room again: the next job on the same daemon works.
      const tiny = join(other.dir, 'tiny.img');
      randomDisk(tiny, 4);
      const ok = await api.createJob({ type: 'backup', device: tiny });
      let again = await api.job(ok.id);
      for (let i = 0; i < 300 && ['queued', 'running'].includes(again.state); i++) {
        await new Promise((r) => setTimeout(r, 100));
        again = await api.job(ok.id);
      }
      assert.equal(again.state, 'done', again.error);
    } finally {
      await d2.stop();
    }
  } finally {
    unmountSmall();
    other.cleanup();
  }
});
