// The real agent against the real daemon, on the host: `lifeboat serve` with its boot
// services and its agent API (HTTPS, the appliance's certificate pinned by the agent) on
// loopback, ports of this test's own; a machine with a job boots (the test reads
// the lifeboat.* parameters from the iPXE script the daemon gives its MAC, as the kernel
// would get them) and runAgent does the rest with real worker threads, over the real wire:
// a backup of a GPT + ext4 disk file, an incremental (reused bytes reported, nothing sent),
// a restore onto another machine's larger disk that held other data (sgdisk -v, e2fsck -fn,
// every file equal), and a machine with no job (exit 0: boot the local disk).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAgent } from '../src/agent/agent.js';
import { ApiClient } from '../src/api/client.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { checkDisk, machineRoot, makeDisk } from './helpers/agent-machine.js';
import { REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';
import { freePort } from './helpers/ports.js';

const MAC_A = '52:54:00:a9:10:01';
const MAC_B = '52:54:00:a9:10:02';
const work = tempDir('lifeboat-agent-daemon-');
const files = { 'big.bin': randomBytes(6 << 20), 'notes.txt': Buffer.from('machine a, before the flood\n'.repeat(4000)) };
let daemon: TestDaemon;
let api: ApiClient;
let base = '';
let diskA = '';
let firstParams = '';

/** The lifeboat.* parameters of the boot the daemon gives `mac` (what /proc/cmdline would hold), or null: no job. */
async function bootParams(mac: string): Promise<string | null> {
  const script = await (await fetch(`${base}/boot/ipxe?mac=${mac}&platform=pcbios`)).text();
  const params = script.match(/lifeboat\.\S+/g) ?? [];
  return params.some((p) => p.startsWith('lifeboat.token=')) ? params.join(' ') : null;
}

/** Boots machine `mac` with its disk `path` (named vda, serial `serial`) and runs the agent to its end. */
async function boot(mac: string, serial: string, path: string) {
  const params = await bootParams(mac);
  assert.ok(params, `the daemon gives ${mac} a job`);
  // The agent API over HTTPS with the appliance's own certificate, pinned by the agent.
  assert.match(params, /lifeboat\.url=https:\/\/\S+ lifeboat\.token=\S+ lifeboat\.fp=[0-9a-f]{64}/);
  // the agent's retry window, from the daemon's agent.retrySeconds
  assert.match(params, / lifeboat\.retry=20$/);
  firstParams ||= params;
  const lines: string[] = [];
  const root = machineRoot(work.dir, params, [{ name: 'vda', serial, sizeBytes: statSync(path).size }]);
  const code = await runAgent({ root, log: (l) => lines.push(l), retryForMs: 5000, devicePath: () => path, workers: 2 });
  assert.ok(lines.includes('a request the appliance does not answer is retried for up to 20 s (lifeboat.retry)'), lines.join('\n'));
  return { code, text: lines.join('\n') };
}

before(async () => {
  const store = join(work.dir, 'store');
  await ImageStore.open(store, { create: true, chunkSize: 1 << 20 });
  mkdirSync(join(work.dir, 'boot'), { recursive: true });
  const config = join(work.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ dockedDir: work.dir, store, agent: { retrySeconds: 20 } }));
  const [http, tftp, agentPort] = [await freePort('tcp'), await freePort('udp'), await freePort('tcp')];
  daemon = await startDaemon(work.dir, { config, args: ['--interface', 'lo', '--http-port', String(http), '--tftp-port', String(tftp), '--agent-port', String(agentPort), '--boot-root', join(work.dir, 'boot')] });
  api = new ApiClient(daemon.socket);
  base = `http://127.0.0.1:${http}`;
  await api.addMachine({ name: 'desk-a', macs: [MAC_A] });
  await api.addMachine({ name: 'desk-b', macs: [MAC_B] });
  diskA = makeDisk(work.dir, 'a', files);
});

after(async () => {
  await daemon?.stop();
  work.cleanup();
});

let first = '';

test('backup of machine A through the real daemon: the image is committed with A\'s disk serial; exit 0 (reboot)', async () => {
  const job = await api.createJob({ type: 'backup', machine: 'desk-a', label: 'first' });
  const r = await boot(MAC_A, 'SN-A1', diskA);
  assert.equal(r.code, 0, `${r.text}\n${daemon.log().slice(-2000)}`);
  assert.match(r.text, /backup done: image \S+, 64 chunks, \d+ new to the store/);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok(done.imageId);
  first = done.imageId;
  const image = (await api.images()).find((i) => i.id === first);
  assert.ok(image, 'the image is listed');
  assert.equal(image.diskSerial, 'SN-A1');
  assert.equal(image.machineId, (await api.machine('desk-a')).id);
});

test('a second backup of A is incremental: nothing sent, the reused bytes reported', async () => {
  const job = await api.createJob({ type: 'backup', machine: 'desk-a', label: 'second' });
  const r = await boot(MAC_A, 'SN-A1', diskA);
  assert.equal(r.code, 0, `${r.text}\n${daemon.log().slice(-2000)}`);
  assert.match(r.text, new RegExp(`incremental on image ${first}`));
  assert.match(r.text, /0 new to the store; 0 B new, [\d.]+ MiB reused, .* 0 B sent/);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok((done.stats?.bytesReused ?? 0) >= 6 << 20, JSON.stringify(done.stats));
  assert.equal(done.stats?.chunksNew, 0);
  // Where the time went, on the agent's console and in the job's log (the appliance's finish).
  assert.match(r.text, /backup took [\d.]+ s from job\/start: job\/start [\d.]+ s, begin .*, chunks [\d.]+ s, index upload [\d.]+ s, appliance finish [\d.]+ s \(.* worker thread\(s\): read [\d.]+ s, fingerprint/);
  assert.ok(done.log?.some((l) => /^finish: frames in flight \d+ ms, index checks \d+ ms, chunks present \d+ ms, publish \d+ ms, manifest and commit \d+ ms, database \d+ ms; 0 frame\(s\) checked/.test(l.message)), JSON.stringify(done.log));
  // The image committed without a frame sent verifies: every chunk read back, decoded and SHA-256'd.
  const verify = await api.createJob({ type: 'verify', image: done.imageId as string });
  let checked = await api.job(verify.id);
  for (let k = 0; k < 300 && ['queued', 'running'].includes(checked.state); k++) checked = (await new Promise((r) => setTimeout(r, 100)), await api.job(verify.id));
  assert.equal(checked.state, 'done', JSON.stringify(checked));
  assert.equal(checked.stats?.problems, 0, JSON.stringify(checked.stats));
});

test('restore of A\'s image onto B\'s larger disk that held other data: GPT relocated, grown, verified; sgdisk, e2fsck and every file; exit 3 (power off)', async () => {
  const diskB = join(work.dir, 'b.img');
  sh(`head -c 96M /dev/urandom > ${diskB}`);
  const job = await api.createJob({ type: 'restore', image: first, machine: 'desk-b', confirm: true, growLast: true, verify: true, end: 'poweroff' });
  const r = await boot(MAC_B, 'SN-B1', diskB);
  assert.equal(r.code, 3, `${r.text}\n${daemon.log().slice(-2000)}`);
  assert.match(r.text, /restore done: .*partition table adapted.*grown with resize2fs.*read back and verified/);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  checkDisk(diskB, files, work.dir);
});

test('the bundled agent (dist/agent/*.cjs) run by Node 24, the boot OS runtime, as its own process: a backup of B\'s restored disk', async () => {
  const bundle = join(work.dir, 'bundle/dist/agent/agent.cjs');
  mkdirSync(join(work.dir, 'bundle/dist/native'), { recursive: true });
  execFileSync('bash', [join(REPO, 'src/bootos/bundle-agent.sh'), bundle]);
  copyFileSync(join(REPO, 'dist/native/lz4.node'), join(work.dir, 'bundle/dist/native/lz4.node'));
  const node24 = execFileSync('bash', [join(REPO, 'src/bootos/node-runtime.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const diskB = join(work.dir, 'b.img');
  const job = await api.createJob({ type: 'backup', machine: 'desk-b', label: 'from the bundle' });
  const params = await bootParams(MAC_B);
  assert.ok(params);
  const root = machineRoot(work.dir, params, [{ name: 'vda', serial: 'SN-B1', sizeBytes: statSync(diskB).size, path: diskB }]);
  const child = spawn(node24, [bundle], { env: { ...process.env, LIFEBOAT_AGENT_ROOT: root }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, `${out}\n${daemon.log().slice(-1500)}`);
  assert.match(out, /^lifeboat agent: backup done: image \S+, 96 chunks/m);
  assert.match(out, /^lifeboat agent: job \S+ done: rebooting/m);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok(((done.stats?.bytesReused ?? 0) as number) > 6 << 20, 'A\'s files on B are chunks the store has');
});

test('a disk too small for the image: refused before a byte is written, the job fails with the stage and advice; exit 1 (wait)', async () => {
  const small = join(work.dir, 'small.img');
  sh(`head -c 32M /dev/urandom > ${small}`);
  const before = sh(`sha256sum ${small}`);
  const job = await api.createJob({ type: 'restore', image: first, machine: 'desk-b', confirm: true });
  const r = await boot(MAC_B, 'SN-B1', small);
  assert.equal(r.code, 1, r.text);
  // The appliance checks the disk the agent chose against the image and refuses the start.
  assert.match(r.text, /FAILED at start: the appliance refused POST job\/start: HTTP 409: disk vda is 32\.0 MiB .*choose a larger disk/);
  assert.match(r.text, /the appliance had already ended the job/);
  assert.match(r.text, /nothing was written: this disk is unchanged/);
  assert.equal(sh(`sha256sum ${small}`), before);
  const failed = await api.job(job.id);
  assert.equal(failed.state, 'failed', JSON.stringify(failed));
});

test('a machine with no job gets no token (it boots its local disk); replaying the token of an ended job is refused, nothing runs', async () => {
  assert.equal(await bootParams(MAC_A), null);
  const lines: string[] = [];
  const root = machineRoot(work.dir, firstParams, [{ name: 'vda', serial: 'SN-A1', sizeBytes: statSync(diskA).size }]);
  const code = await runAgent({ root, log: (l) => lines.push(l), retryForMs: 0, devicePath: () => diskA, workers: 2 });
  assert.equal(code, 1, lines.join('\n'));
  assert.match(lines.join('\n'), /the appliance refused the hello: HTTP 401 .*the job token was not accepted/s);
  assert.doesNotMatch(lines.join('\n'), /job \S+: backup/);
});
