// The daemon as a real process on a temporary socket and data directory, driven
// through the CLI and the typed client: machines, device jobs with live progress seen
// by two clients at once, refusals, malformed requests, restarts and kill -9.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';

const MiB = 1 << 20;
let work: { dir: string; cleanup: () => void };
let socket: string;
let dataDir: string;
let daemon: ChildProcess | null = null;
let daemonLog = '';

function env() {
  return { LIFEBOAT_SOCKET: socket };
}

async function startDaemon(): Promise<ChildProcess> {
  // The test's directory is the docked directory: its disk-image files are what jobs may use.
  const config = join(work.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ dockedDir: work.dir }));
  const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dataDir, '--socket', socket, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => (daemonLog += c.toString()));
  for (let i = 0; i < 100; i++) {
    if (existsSync(socket) && (await new ApiClient(socket).health().then(() => true, () => false))) return child;
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${daemonLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`daemon did not come up: ${daemonLog}`);
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

function randomDisk(path: string, mib: number): void {
  sh(`head -c ${mib}M /dev/urandom > ${path}`);
}

before(async () => {
  work = tempDir('lifeboat-daemon-');
  socket = join(work.dir, 'api.sock');
  dataDir = join(work.dir, 'data');
  daemon = await startDaemon();
});

after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL');
    await exited(daemon);
  }
  work.cleanup();
});

test('machines: add, list, show as JSON; invalid and duplicate input refused with clear messages', () => {
  const add = lifeboat(['machines', 'add', '--name', 'pc-1', '--mac', 'AA:BB:CC:00:11:22', '--mac', '52-54-00-12-34-56', '--json'], { env: env() });
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual(lastJson<{ macs: string[] }>(add).macs.sort(), ['52:54:00:12:34:56', 'aa:bb:cc:00:11:22']);
  const dup = lifeboat(['machines', 'add', '--name', 'pc-1', '--mac', '52:54:00:00:00:01'], { env: env() });
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /pc-1.*already exists/);
  const dupMac = lifeboat(['machines', 'add', '--name', 'pc-2', '--mac', 'aa:bb:cc:00:11:22'], { env: env() });
  assert.equal(dupMac.code, 1);
  assert.match(dupMac.stderr, /aa:bb:cc:00:11:22/);
  const bad = lifeboat(['machines', 'add', '--name', 'pc-3', '--mac', 'not-a-mac'], { env: env() });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /MAC address "not-a-mac" is invalid/);
  const list = lifeboat(['machines', 'list', '--json'], { env: env() });
  assert.deepEqual((JSON.parse(list.stdout) as Array<{ name: string }>).map((m) => m.name), ['pc-1']);
  const show = lifeboat(['machines', 'show', 'pc-1', '--json'], { env: env() });
  assert.equal(show.code, 0, show.stderr);
  assert.deepEqual(JSON.parse(show.stdout).disks, []);
  const unknown = lifeboat(['machines', 'show', 'nope'], { env: env() });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /nope/);
});

test('schedules: add with a checked calendar and retention, list with the next run, remove', () => {
  const add = lifeboat(['schedule', 'add', '--name', 'nightly', '--machine', 'pc-1', '--calendar', 'Mon..Fri 22:00', '--keep-last', '3', '--keep-weekly', '4', '--json'], { env: env() });
  assert.equal(add.code, 0, add.stderr);
  const s = lastJson<{ calendar: string; nextRun: string; retention: Record<string, number> }>(add);
  assert.equal(s.calendar, 'Mon..Fri 22:00');
  assert.deepEqual(s.retention, { keepLast: 3, weekly: 4 });
  const next = new Date(s.nextRun);
  assert.ok(next.getTime() > Date.now() && [1, 2, 3, 4, 5].includes(next.getUTCDay()) && next.getUTCHours() === 22, s.nextRun);
  const bad = lifeboat(['schedule', 'add', '--name', 'bad', '--machine', 'pc-1', '--calendar', '*/15 * * * *'], { env: env() });
  assert.equal(bad.code, 2, 'a bad calendar is a usage error');
  assert.match(bad.stderr, /calendar|\*\/15/i);
  const nobody = lifeboat(['schedule', 'add', '--name', 'ghost', '--machine', 'no-such-pc', '--calendar', 'daily'], { env: env() });
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /no-such-pc/);
  const both = lifeboat(['schedule', 'add', '--name', 'x', '--machine', 'pc-1', '--group', 'lab', '--calendar', 'daily'], { env: env() });
  assert.equal(both.code, 2);
  const list = JSON.parse(lifeboat(['schedule', 'list', '--json'], { env: env() }).stdout) as Array<{ name: string }>;
  assert.deepEqual(list.map((x) => x.name), ['nightly']);
  const busy = lifeboat(['machines', 'rm', 'pc-1'], { env: env() });
  assert.equal(busy.code, 1, 'a machine a schedule names cannot be removed');
  assert.equal(lifeboat(['schedule', 'rm', 'nightly'], { env: env() }).code, 0);
  assert.deepEqual(JSON.parse(lifeboat(['schedule', 'list', '--json'], { env: env() }).stdout), []);
});

test('a device backup runs as a job; two clients watch it live; restore brings the disk back', async () => {
  const disk = join(work.dir, 'big.img');
  randomDisk(disk, 480);
  // A client that listens before the job exists sees its live progress, whatever the timing.
  const seen: string[] = [];
  const listening = new AbortController();
  const listener = new ApiClient(socket).events((e) => {
    if (e.type === 'job-progress') seen.push(e.jobId);
  }, listening.signal);
  await new Promise((r) => setTimeout(r, 200));
  const start = lifeboat(['backup', '--device', disk, '--json'], { env: env() });
  assert.equal(start.code, 0, start.stderr);
  const job = lastJson<{ id: string; state: string }>(start);
  // A second job on the same disk while the first holds it.
  const busy = lifeboat(['backup', '--device', disk], { env: env() });
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /busy|already|active/i);
  const watch = () =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, 'jobs', 'watch', job.id, '--json'], { env: { ...process.env, ...env() } });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('exit', (code) => resolve({ code, out }));
    });
  const [a, b] = await Promise.all([watch(), watch()]);
  for (const w of [a, b]) {
    assert.equal(w.code, 0);
    const lines = w.out.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; state?: string });
    assert.equal(lines[lines.length - 1]?.state, 'done');
  }
  listening.abort();
  await listener;
  assert.ok(seen.includes(job.id), 'live progress of the job reached a listening client');
  const jobs = JSON.parse(lifeboat(['jobs', 'list', '--json'], { env: env() }).stdout) as Array<{ id: string; state: string; imageId?: string }>;
  const done = jobs.find((j) => j.id === job.id);
  assert.equal(done?.state, 'done');
  const images = JSON.parse(lifeboat(['images', 'list', '--json'], { env: env() }).stdout) as Array<{ id: string }>;
  assert.ok(images.some((i) => i.id === done?.imageId));

  const small = join(work.dir, 'small.img');
  writeFileSync(small, Buffer.alloc(MiB, 7));
  const refused = lifeboat(['restore', '--image', done?.imageId as string, '--device', small, '--yes', '--wait'], { env: env() });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /choose a larger disk/);
  assert.ok(readFileSync(small).every((x) => x === 7), 'nothing written');
  const afterRefusal = JSON.parse(lifeboat(['jobs', 'list', '--json'], { env: env() }).stdout) as Array<{ devicePath?: string }>;
  assert.ok(!afterRefusal.some((j) => j.devicePath === small), 'refused up front: no job was even created');
  assert.match(refused.stderr, /needs at least .* \(\d+ bytes\)/, 'the size needed, in bytes too');
  const target = join(work.dir, 'restored.img');
  const ok = lifeboat(['restore', '--image', done?.imageId as string, '--device', target, '--yes', '--wait'], { env: env() });
  assert.equal(ok.code, 0, ok.stderr);
  const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
  assert.equal(sha(target), sha(disk));
  const noYes = lifeboat(['restore', '--image', done?.imageId as string, '--device', target], { env: env() });
  assert.equal(noYes.code, 2);
  const unknown = lifeboat(['restore', '--image', '20200101T000000Z-deadbeef', '--device', target, '--yes'], { env: env() });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /20200101T000000Z-deadbeef/);
  assert.match(unknown.stderr, /images list|not found|no image/i);
});

test('malformed and oversized request bodies get clear 4xx errors', async () => {
  const raw = (body: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ socketPath: socket, method: 'POST', path: '/v1/machines', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      // The daemon answers 413 before the whole body is sent and closes: the rest of our write may fail (EPIPE).
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
      req.on('socket', (s) => s.on('error', () => {}));
      req.end(body);
    });
  const notJson = await raw('{"name": ');
  assert.equal(notJson.status, 400);
  assert.match(notJson.body, /not valid JSON/);
  const wrongShape = await raw(JSON.stringify({ name: 'x', macs: 'aa', extra: 1 }));
  assert.equal(wrongShape.status, 400);
  assert.match(wrongShape.body, /macs/);
  const injection = await raw(JSON.stringify({ name: { $gt: '' }, macs: ['52:54:00:00:00:09'] }));
  assert.equal(injection.status, 400);
  const huge = await raw(JSON.stringify({ name: 'x', macs: ['52:54:00:00:00:09'], notes: 'y'.repeat(2 * MiB) }));
  assert.equal(huge.status, 413);
});

test('malformed paths get a 400 that says what is wrong, and the daemon keeps serving', async () => {
  // Written by hand on the socket: an HTTP client would refuse (or fix) some of these targets.
  const rawRequest = (line: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const c = connect(socket, () => c.write(`${line}\r\nHost: lifeboat\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      let text = '';
      c.on('data', (d: Buffer) => (text += d.toString()));
      c.on('error', reject);
      c.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) }));
    });
  for (const line of ['GET /v1/images/%E0%A4%A HTTP/1.1', 'DELETE /v1/machines/% HTTP/1.1']) {
    const r = await rawRequest(line);
    assert.equal(r.status, 400, `${line}: ${r.body}`);
    assert.match(r.body, /not valid percent-encoding/);
    assert.doesNotMatch(r.body, /a bug in Lifeboat/);
  }
  const badImage = await rawRequest('GET /v1/images/..%2F..%2Fetc HTTP/1.1');
  assert.equal(badImage.status, 400);
  assert.match(badImage.body, /is not an image id/);
  const badState = await rawRequest('GET /v1/jobs?state=bogus HTTP/1.1');
  assert.equal(badState.status, 400);
  assert.match(badState.body, /is not a job state/);
  // '//' used to throw inside the server's callback (new URL) and take the daemon down.
  const slashes = await rawRequest('GET // HTTP/1.1');
  assert.equal(slashes.status, 404, slashes.body);
  assert.match(slashes.body, /the API lives under \/v1\//);
  const star = await rawRequest('OPTIONS * HTTP/1.1');
  assert.equal(star.status, 400, star.body);
  assert.match(star.body, /is not a path/);
  // Dot segments are not resolved: this is no route, not GET /v1/machines.
  assert.equal((await rawRequest('GET /v1/jobs/../machines HTTP/1.1')).status, 404);
  assert.equal((await new ApiClient(socket).health()).ok, true, 'the daemon still answers');
});

test('without a daemon the CLI exits 3 and says how to start it; a socket without permission exits 4', () => {
  const r = lifeboat(['machines', 'list'], { env: { LIFEBOAT_SOCKET: join(work.dir, 'none.sock') } });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /lifeboat serve|systemctl start lifeboat/);
  if (process.getuid?.() === 0) {
    sh(`chmod o+x ${work.dir}`);
    const denied = sh(`runuser -u nobody -- env LIFEBOAT_SOCKET=${socket} ${process.execPath} ${CLI} machines list 2>&1; echo "rc=$?"`);
    assert.match(denied, /rc=4/);
    assert.match(denied, /permission denied/);
  }
});

test('a second daemon on the same data directory refuses to start', () => {
  const r = lifeboat(['serve', '--data-dir', dataDir, '--socket', join(work.dir, 'other.sock'), '--config', '/dev/null']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /another lifeboat daemon .* is already running/);
});

test('kill -9 during a backup, then restart: the job is interrupted, no partial image, everything committed kept', async () => {
  const before = JSON.parse(lifeboat(['images', 'list', '--json'], { env: env() }).stdout) as Array<{ id: string }>;
  const disk = join(work.dir, 'big.img');
  const job = lastJson<{ id: string }>(lifeboat(['backup', '--device', disk, '--json'], { env: env() }));
  const api = new ApiClient(socket);
  for (let i = 0; i < 100 && !(await api.job(job.id)).live; i++) await new Promise((r) => setTimeout(r, 50));
  daemon?.kill('SIGKILL');
  await exited(daemon as ChildProcess);
  daemon = await startDaemon();
  const after = await api.job(job.id);
  assert.equal(after.state, 'interrupted');
  const images = (await api.images()).map((i) => i.id);
  assert.deepEqual(images.sort(), before.map((i) => i.id).sort(), 'no partial image, nothing committed lost');
  assert.equal((await api.machines()).length, 1, 'machines kept');
});

test('SIGTERM while a job runs: the job is recorded as interrupted and the daemon exits 0', async () => {
  const disk = join(work.dir, 'big.img');
  const job = lastJson<{ id: string }>(lifeboat(['backup', '--device', disk, '--json'], { env: env() }));
  const api = new ApiClient(socket);
  for (let i = 0; i < 100 && !(await api.job(job.id)).live; i++) await new Promise((r) => setTimeout(r, 50));
  daemon?.kill('SIGTERM');
  assert.equal(await exited(daemon as ChildProcess), 0);
  daemon = await startDaemon();
  assert.equal((await api.job(job.id)).state, 'interrupted');
});
