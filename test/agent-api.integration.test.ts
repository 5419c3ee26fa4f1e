// The agent API against a real daemon (`lifeboat serve` with its boot services on loopback,
// ports of this test's own): a test agent takes its token from the iPXE script the daemon
// serves, backs up a small synthetic disk over the wire (real LZ4 frames of real bytes),
// then an incremental (only new chunks sent), then restores it; and every refusal of the
// wire: tokens out of their scope, false digests, oversized frames, garbage, replay, cancel,
// a finish with a chunk missing, a silent agent.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import type { LiveEvent } from '../src/api/wire.js';
import { AGENT_PATHS, type DiskIdentity } from '../src/api/agent-wire.js';
import { decodeFrame, encodeFrame } from '../src/imaging/lz4-frame.js';
import { chunkRelativePath } from '../src/imaging/repo/formats.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { decodeIndex, digestAt } from '../src/imaging/repo/index-file.js';
import { lifeboat, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';
import { freePort } from './helpers/ports.js';
import { TestAgent, backupOverWire, bootToken, describeChunks, finishBody } from './helpers/agent-client.js';

const CHUNK = 64 * 1024;
const MAC = '52:54:00:a9:00:01';
const work = tempDir('lifeboat-agent-api-');
const store = join(work.dir, 'store');
let daemon: TestDaemon;
let api: ApiClient;
let base: string;

const DISK: DiskIdentity = { name: 'vda', sizeBytes: 16 * CHUNK, logicalSectorSize: 512, physicalSectorSize: 512, model: 'QEMU HARDDISK', serial: 'SN-A1' };

/** A disk of random chunks, two zero chunks and one chunk twice. */
function syntheticDisk(): Buffer {
  const disk = randomBytes(DISK.sizeBytes);
  disk.fill(0, 3 * CHUNK, 5 * CHUNK);
  disk.copy(disk, 9 * CHUNK, 8 * CHUNK, 9 * CHUNK);
  return disk;
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A new job for the machine and the agent its boot would start. */
async function jobAgent(body: Parameters<ApiClient['createJob']>[0]): Promise<{ id: string; agent: TestAgent }> {
  const job = await api.createJob(body);
  const token = await bootToken(base, MAC);
  assert.ok(token, 'the boot script carries the job token');
  return { id: job.id, agent: new TestAgent(base, token) };
}

let agentPort = 0;

before(async () => {
  await ImageStore.open(store, { create: true, chunkSize: CHUNK });
  mkdirSync(join(work.dir, 'boot'), { recursive: true });
  const config = join(work.dir, 'config.json');
  // The lab setting: the agent API on plain HTTP too (its TLS is tested in agent-tls.integration.test.ts), on a port of its own.
  writeFileSync(config, JSON.stringify({ dockedDir: work.dir, store, agent: { silenceMinutes: 0.25, cancelSeconds: 2 }, boot: { agentPlainHttp: true } }));
  const [http, tftp] = [await freePort('tcp'), await freePort('udp')];
  agentPort = await freePort('tcp');
  daemon = await startDaemon(work.dir, { config, args: ['--interface', 'lo', '--http-port', String(http), '--tftp-port', String(tftp), '--agent-port', String(agentPort), '--boot-root', join(work.dir, 'boot')] });
  api = new ApiClient(daemon.socket);
  base = `http://127.0.0.1:${http}`;
  await api.addMachine({ name: 'desk-a', macs: [MAC] });
});

after(async () => {
  await daemon?.stop();
  work.cleanup();
});

let firstDisk: Buffer;
let firstImage: string;
let secondDisk: Buffer;
let secondImage: string;

test('a full backup over the wire: the appliance checks, signs and commits the image; the job is done', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a', label: 'first' });
  const hello = await agent.hello([DISK]);
  assert.equal(hello.status, 200, JSON.stringify(hello.body));
  assert.deepEqual(hello.body, { machine: 'desk-a', job: { id, type: 'backup', disk: { serial: null, name: null }, label: 'first', end: 'reboot' } });
  firstDisk = syntheticDisk();
  const events: LiveEvent[] = [];
  const watching = new AbortController();
  const stream = api.events((e) => events.push(e), watching.signal).catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  const r = await backupOverWire(agent, DISK, firstDisk);
  watching.abort();
  await stream;
  const progress = events.filter((e): e is Extract<LiveEvent, { type: 'job-progress' }> => e.type === 'job-progress' && e.jobId === id);
  assert.ok(progress.length > 0, 'progress reached the event stream');
  assert.equal(progress.at(-1)?.progress.bytesDone, DISK.sizeBytes);
  assert.ok(events.some((e) => e.type === 'job-state' && e.jobId === id && e.state === 'running'), 'the job ran');
  assert.equal(r.finish.status, 200, JSON.stringify(r.finish.body));
  assert.equal(r.start.parent, null);
  assert.match(r.start.fingerprintKey, /^[0-9a-f]{128}$/);
  assert.equal(r.sent, 13, '16 chunks: 2 zero, one twice');
  assert.deepEqual(r.finish.body, { imageId: r.start.imageId, chunkCount: 16, chunksNew: 13 });
  firstImage = r.start.imageId;
  const job = await api.job(id);
  assert.equal(job.state, 'done');
  assert.equal(job.imageId, firstImage);
  assert.equal(job.agentDisk?.serial, 'SN-A1');
  assert.equal(job.stats?.chunksNew, 13);
  const image = (await api.images()).find((i) => i.id === firstImage);
  assert.ok(image, 'the image is listed');
  assert.equal(image.machineId, (await api.machine('desk-a')).id);
  assert.equal(image.diskSerial, 'SN-A1');
  assert.equal(image.host, 'desk-a');
  // the store certifies it like any image: manifest HMAC, index digest
  const s = await ImageStore.open(store);
  const m = await s.readManifest(firstImage);
  assert.equal(m.source.serial, 'SN-A1');
  assert.equal(m.label, 'first');
  assert.ok((await s.readIndex(m)).digests.equals(decodeIndex(r.described.index).digests), 'the index is the one uploaded');
  // replay after the job ended: the token is dead
  assert.equal((await agent.request('POST', AGENT_PATHS.has, { digests: [r.described.chunks[0]?.digest] })).status, 401);
  assert.equal((await agent.hello([DISK])).status, 401);
});

test('an incremental over the wire: the parent is offered, `has` says what the store holds, only new chunks travel', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  secondDisk = Buffer.from(firstDisk);
  randomBytes(CHUNK).copy(secondDisk, 1 * CHUNK);
  randomBytes(CHUNK).copy(secondDisk, 12 * CHUNK);
  const r = await backupOverWire(agent, DISK, secondDisk);
  assert.equal(r.finish.status, 200, JSON.stringify(r.finish.body));
  assert.equal(r.start.parent?.id, firstImage);
  assert.equal(r.sent, 2, 'only the two changed chunks are sent');
  assert.equal(r.present.filter(Boolean).length, r.described.distinct.length - 2);
  assert.equal(r.finish.body.chunksNew, 2);
  secondImage = r.start.imageId;
  const s = await ImageStore.open(store);
  assert.equal((await s.readManifest(secondImage)).parent, firstImage);
  assert.equal((await s.readManifest(secondImage)).fingerprints?.salt, r.start.fingerprintSalt);
  assert.equal((await s.readManifest(firstImage)).fingerprints?.salt, r.start.fingerprintSalt, 'one lineage, one salt');
  assert.equal((await api.job(id)).state, 'done');
});

test('a restore over the wire: the certified image, its chunks and nothing else; verify first by default on a disk holding partitions', async () => {
  const { id, agent } = await jobAgent({ type: 'restore', image: secondImage, machine: 'desk-a', confirm: true, growLast: true, end: 'poweroff' });
  const hello = await agent.hello([DISK]);
  assert.deepEqual(hello.body.job, { id, type: 'restore', imageId: secondImage, disk: { serial: null, name: null }, verify: false, verifyFirst: 'if-partitioned', growLast: true, end: 'poweroff' });
  const start = await agent.request<{ type: string; manifest: { id: string }; index: string; minTargetBytes: number }>('POST', AGENT_PATHS.start, { disk: DISK });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  assert.equal(start.body.manifest.id, secondImage);
  const index = decodeIndex(Buffer.from(start.body.index, 'base64'));
  const restored = Buffer.alloc(index.diskSize);
  for (let i = 0; i < index.chunkCount; i++) {
    const d = digestAt(index, i);
    if (!d) continue;
    const got = await agent.request<Buffer>('GET', `${AGENT_PATHS.chunks}/${d.toString('hex')}`, undefined, { raw: true });
    assert.equal(got.status, 200);
    decodeFrame(got.body, CHUNK).copy(restored, i * CHUNK);
  }
  assert.ok(restored.equals(secondDisk), 'the restored disk is the one backed up');
  // a chunk of another image (the first backup's old chunk 1) is not this job's to read, though the store has it
  const other = describeChunks(firstDisk, CHUNK).chunks.find((c) => c.i === 1)?.digest as string;
  assert.ok(existsSync(join(store, chunkRelativePath(other))));
  const probe = await agent.request('GET', `${AGENT_PATHS.chunks}/${other}`);
  assert.equal(probe.status, 404);
  // a restore token writes nothing
  const frame = encodeFrame(secondDisk.subarray(0, CHUNK));
  assert.equal((await agent.request('PUT', `${AGENT_PATHS.chunks}/${'0'.repeat(64)}?raw=${CHUNK}`, frame)).status, 403);
  assert.equal((await agent.request('POST', AGENT_PATHS.has, { digests: [other] })).status, 403);
  assert.equal((await agent.request('POST', AGENT_PATHS.progress, { bytesDone: 1000, bytesTotal: DISK.sizeBytes, bytesNew: 0, bytesReused: 0, bytesZero: 0, storedBytes: 1000, chunksDone: 1, chunksTotal: 16 })).status, 200);
  const end = await agent.request('POST', AGENT_PATHS.end, { ok: true, stage: null, error: null, advice: null, report: { bytesWritten: DISK.sizeBytes, verified: false }, wrote: true });
  assert.equal(end.status, 200, JSON.stringify(end.body));
  const job = await api.job(id);
  assert.equal(job.state, 'done');
  assert.equal(job.stats?.bytesWritten, DISK.sizeBytes);
  assert.equal((await agent.request('GET', `${AGENT_PATHS.chunks}/${digestAt(index, 0)?.toString('hex')}`)).status, 401, 'replay after the end');
});

test('a restore that fails after it began writing: the job fails with the agent\'s stage and advice, the target is marked incomplete', async () => {
  const { id, agent } = await jobAgent({ type: 'restore', image: secondImage, machine: 'desk-a', confirm: true });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  assert.equal((await agent.request('POST', AGENT_PATHS.progress, { bytesDone: CHUNK, bytesTotal: DISK.sizeBytes, bytesNew: 0, bytesReused: 0, bytesZero: 0, storedBytes: CHUNK, chunksDone: 1, chunksTotal: 16 })).status, 200);
  const end = await agent.request('POST', AGENT_PATHS.end, { ok: false, stage: 'network', error: 'the appliance stopped answering', advice: 'check the cable', report: null, wrote: true });
  assert.equal(end.status, 200, JSON.stringify(end.body));
  const job = await api.job(id);
  assert.equal(job.state, 'failed');
  assert.equal(job.targetIncomplete, true);
  assert.match(job.error ?? '', /failed at network: the appliance stopped answering — check the cable/);
  assert.match(job.outcome ?? '', /incomplete .* restore it again/);
});

test('an agent that fails before it starts (no such disk) ends its job; the next boot is the local disk', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  const end = await agent.request('POST', AGENT_PATHS.end, { ok: false, stage: 'disk', error: 'no disk with serial SN-X', advice: 'check the disk cabling', report: null, wrote: false });
  assert.equal(end.status, 200, JSON.stringify(end.body));
  const job = await api.job(id);
  assert.equal(job.state, 'failed');
  assert.match(job.error ?? '', /failed before the job started \(at disk\): no disk with serial SN-X — check the disk cabling/);
  assert.equal(await bootToken(base, MAC), null, 'no token: the machine boots its own disk');
});

test('the CLI gives a machine job its end and restore options; a docked disk takes no --end', async () => {
  const made = lifeboat(['restore', '--image', secondImage, '--machine', 'desk-a', '--yes', '--grow-last', '--verify', '--no-verify-first', '--end', 'poweroff', '--json', '--socket', daemon.socket]);
  assert.equal(made.code, 0, made.stderr);
  const job = JSON.parse(made.stdout) as { id: string; options?: Record<string, unknown> };
  assert.deepEqual(job.options, { end: 'poweroff', verify: true, growLast: true, verifyFirst: false });
  const agent = new TestAgent(base, (await bootToken(base, MAC)) as string);
  assert.deepEqual((await agent.hello([DISK])).body.job, { id: job.id, type: 'restore', imageId: secondImage, disk: { serial: null, name: null }, verify: true, verifyFirst: false, growLast: true, end: 'poweroff' });
  await api.cancelJob(job.id);
  const bad = lifeboat(['backup', '--device', join(work.dir, 'x.img'), '--end', 'poweroff', '--socket', daemon.socket]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--end goes with --machine/);
  assert.match(lifeboat(['backup', '--machine', 'desk-a', '--end', 'halt', '--socket', daemon.socket]).stderr, /--end must be reboot or poweroff, not "?halt"?/);
});

test('tokens stay in their scope: a wrong token, an inventory token on job paths, a backup token reading chunks', async () => {
  const wrong = new TestAgent(base, 'x'.repeat(43));
  assert.equal((await wrong.hello([DISK])).status, 401);
  assert.equal((await wrong.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 401);
  const inventoryToken = await bootToken(base, '52:54:00:a9:00:99'); // an unknown machine: discovered, booted for its inventory
  assert.ok(inventoryToken);
  const inventory = new TestAgent(base, inventoryToken);
  assert.equal((await inventory.hello([DISK])).body.job, null);
  for (const [method, path] of [['POST', AGENT_PATHS.start], ['GET', AGENT_PATHS.parentIndex], ['POST', AGENT_PATHS.end]] as const) {
    assert.equal((await inventory.request(method, path, method === 'GET' ? undefined : { disk: DISK })).status, 403, path);
  }
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const chunk = describeChunks(secondDisk, CHUNK).chunks[0]?.digest;
  assert.equal((await agent.request('GET', `${AGENT_PATHS.chunks}/${chunk}`)).status, 403, 'a backup token reads no chunks');
  assert.equal((await agent.request('GET', AGENT_PATHS.parentIndex)).status, 200, 'its parent index it may read');
  await api.cancelJob(id);
  assert.equal((await agent.request('POST', AGENT_PATHS.end, { ok: false, stage: 'read', error: 'stopped', advice: null, report: null, wrote: false })).status, 200);
  await waitFor(async () => (await api.job(id)).state === 'cancelled', 'the job is cancelled');
});

test('two starts at once (a retry): one session, one image id', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  const [a, b] = await Promise.all([0, 1].map(() => agent.request<{ imageId: string }>('POST', AGENT_PATHS.start, { disk: DISK })));
  assert.equal(a?.status, 200);
  assert.equal(b?.status, 200);
  assert.equal(a?.body.imageId, b?.body.imageId);
  const moved = await agent.request<{ error: string }>('POST', AGENT_PATHS.start, { disk: { ...DISK, name: 'vdb' } });
  assert.equal(moved.status, 409);
  assert.match(moved.body.error, /already runs on disk vda/);
  await api.cancelJob(id);
  assert.equal((await agent.request('POST', AGENT_PATHS.end, { ok: false, stage: null, error: 'cancelled', advice: null, report: null, wrote: false })).status, 200);
  assert.equal((await api.job(id)).state, 'cancelled');
});

test('a false digest fails the job and nothing of it is kept; another machine\'s job goes on', async () => {
  await api.addMachine({ name: 'desk-b', macs: ['52:54:00:a9:00:02'] });
  await api.createJob({ type: 'backup', machine: 'desk-b' });
  const other = new TestAgent(base, (await bootToken(base, '52:54:00:a9:00:02')) as string);
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  assert.equal((await other.request('POST', AGENT_PATHS.start, { disk: { ...DISK, serial: 'SN-B' } })).status, 200);
  const raw = randomBytes(CHUNK);
  const lie = 'ab'.repeat(32);
  const r = await agent.request<{ error: string }>('PUT', `${AGENT_PATHS.chunks}/${lie}?raw=${CHUNK}`, encodeFrame(raw));
  assert.equal(r.status, 422);
  assert.match(r.body.error, /has SHA-256 [0-9a-f]{64}: refused/);
  const job = await api.job(id);
  assert.equal(job.state, 'failed');
  assert.match(job.error ?? '', /sent what the appliance refused/);
  assert.ok(!existsSync(join(store, chunkRelativePath(lie))));
  assert.equal((await agent.request('PUT', `${AGENT_PATHS.chunks}/${lie}?raw=${CHUNK}`, encodeFrame(raw))).status, 401, 'the failed job\'s token is dead');
  const r2 = await backupOverWire(other, { ...DISK, serial: 'SN-B' }, syntheticDisk());
  assert.equal(r2.finish.status, 200, JSON.stringify(r2.finish.body));
  assert.equal((await api.images()).find((i) => i.id === r2.start.imageId)?.machineId, (await api.machine('desk-b')).id);
});

test('an oversized frame and a garbage frame each fail their own job', async () => {
  const big = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await big.agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const r = await big.agent.request('PUT', `${AGENT_PATHS.chunks}/${'cd'.repeat(32)}?raw=${CHUNK}`, randomBytes(CHUNK + 64 * 1024 + 1));
  assert.equal(r.status, 413);
  assert.equal((await api.job(big.id)).state, 'failed');
  const junk = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await junk.agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  assert.equal((await junk.agent.request('PUT', `${AGENT_PATHS.chunks}/${'ef'.repeat(32)}?raw=${CHUNK}`, randomBytes(5000))).status, 422);
  const failed = await api.job(junk.id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error ?? '', /chunk offered as (ef)+ is damaged: bad magic number/);
});

test('a finish with a chunk never uploaded is refused: the job fails, no image', async () => {
  const before = (await api.images()).length;
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const disk = randomBytes(DISK.sizeBytes);
  const d = describeChunks(disk, CHUNK);
  for (const c of d.chunks.slice(1)) assert.equal((await agent.request('PUT', `${AGENT_PATHS.chunks}/${c.digest}?raw=${c.raw.length}`, c.frame)).status, 200);
  assert.equal((await agent.request('PUT', AGENT_PATHS.index, d.index)).status, 200);
  const r = await agent.request<{ error: string }>('POST', AGENT_PATHS.finish, finishBody(DISK, d.contentSha256));
  assert.equal(r.status, 422);
  assert.match(r.body.error, /1 chunk\(s\) of the index were never uploaded/);
  const job = await api.job(id);
  assert.equal(job.state, 'failed');
  assert.equal(job.imageId, undefined);
  assert.equal((await api.images()).length, before);
  // what it staged was dropped with its session
  assert.ok(!existsSync(join(store, chunkRelativePath(d.chunks[1]?.digest as string))));
});

test('a finish whose content digest or disk size disagrees with the index is refused', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const d = describeChunks(secondDisk, CHUNK);
  assert.equal((await agent.request('PUT', AGENT_PATHS.index, d.index)).status, 200);
  const r = await agent.request<{ error: string }>('POST', AGENT_PATHS.finish, finishBody(DISK, 'e'.repeat(64)));
  assert.equal(r.status, 422);
  assert.match(r.body.error, /content digest/);
  assert.equal((await api.job(id)).state, 'failed');
});

test('cancel: the agent hears 409 cancelled; the job ends cancelled when it confirms, or after the timeout', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const cancelling = await api.cancelJob(id);
  assert.equal(cancelling.state, 'cancelling');
  const r = await agent.request<{ cancelled?: boolean }>('POST', AGENT_PATHS.has, { digests: ['a'.repeat(64)] });
  assert.equal(r.status, 409);
  assert.equal(r.body.cancelled, true);
  assert.equal((await agent.hello([DISK])).status, 409);
  // no word from the agent: cancelled after the timeout (2 s in this test's config)
  await waitFor(async () => (await api.job(id)).state === 'cancelled', 'the cancel timed out', 15_000);
  assert.match((await api.job(id)).outcome ?? '', /no image was made/);
  assert.equal((await agent.request('POST', AGENT_PATHS.has, { digests: ['a'.repeat(64)] })).status, 401);
});

test('a job for one disk refuses to start on another: the job fails with what to do', async () => {
  await api.machine('desk-a'); // its disks were recorded by the hellos
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a', disk: 'SN-A1' });
  const other = { ...DISK, name: 'vdb', serial: 'SN-B2' };
  const r = await agent.request<{ error: string }>('POST', AGENT_PATHS.start, { disk: other });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /the job is for disk SN-A1 of desk-a; the agent chose vdb \(serial SN-B2\)/);
  assert.equal((await api.job(id)).state, 'failed');
});

test('a protected image over the wire: the passphrase is checked before a job exists, then the appliance certifies with it', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a', passphrase: 'correct horse' });
  const r = await backupOverWire(agent, DISK, secondDisk);
  assert.equal(r.finish.status, 200, JSON.stringify(r.finish.body));
  assert.equal(r.sent, 0, 'the same disk again: nothing new travels');
  assert.equal((await api.job(id)).state, 'done');
  const protectedId = r.start.imageId;
  assert.equal((await api.images()).find((i) => i.id === protectedId)?.hasPassphrase, true);
  await assert.rejects(api.createJob({ type: 'restore', image: protectedId, machine: 'desk-a', confirm: true, passphrase: 'wrong' }), /wrong restore passphrase/);
  const restore = await jobAgent({ type: 'restore', image: protectedId, machine: 'desk-a', confirm: true, passphrase: 'correct horse' });
  const start = await restore.agent.request<{ manifest: { passphrase: unknown } }>('POST', AGENT_PATHS.start, { disk: DISK });
  assert.equal(start.status, 200, JSON.stringify(start.body));
  assert.ok(start.body.manifest.passphrase, 'the manifest keeps the verifier');
  assert.equal((await restore.agent.request('POST', AGENT_PATHS.end, { ok: true, stage: null, error: null, advice: null, report: null, wrote: true })).status, 200);
  assert.equal((await api.job(restore.id)).state, 'done');
});

test('a restore onto too small a disk is refused at start: the job fails, nothing is served', async () => {
  const { id, agent } = await jobAgent({ type: 'restore', image: secondImage, machine: 'desk-a', confirm: true });
  const small = { ...DISK, sizeBytes: 8 * CHUNK };
  const r = await agent.request<{ error: string }>('POST', AGENT_PATHS.start, { disk: small });
  assert.equal(r.status, 409);
  assert.match(r.body.error, /disk vda is .* needs at least .* choose a larger disk/);
  assert.equal((await api.job(id)).state, 'failed');
  assert.equal((await agent.request('GET', `${AGENT_PATHS.chunks}/${'a'.repeat(64)}`)).status, 401);
});

test('garbage and mutated bodies on every route: never a 500, the daemon stays up', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const valid: Record<string, unknown> = {
    [AGENT_PATHS.start]: { disk: DISK },
    [AGENT_PATHS.has]: { digests: ['a'.repeat(64)] },
    [AGENT_PATHS.progress]: { bytesDone: 1, bytesTotal: 2, bytesNew: 0, bytesReused: 0, bytesZero: 0, storedBytes: 0, chunksDone: 0, chunksTotal: 1 },
    [AGENT_PATHS.hello]: JSON.parse(JSON.stringify((await import('./helpers/agent-client.js')).helloBody([DISK]))),
  };
  const mutate = (v: unknown, depth = 0): unknown => {
    const pick = Math.random();
    if (depth > 3 || pick < 0.15) return [null, -1, 1e308, 'x'.repeat(5000), '\u202e', {}, [], true, 2 ** 60, '../../etc'][Math.floor(Math.random() * 10)];
    if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => (Math.random() < 0.1 ? [`${k}_`, x] : [k, Math.random() < 0.5 ? mutate(x, depth + 1) : x])));
    return v;
  };
  const statuses = new Map<number, number>();
  for (let i = 0; i < 240; i++) {
    const paths = Object.keys(valid);
    const path = paths[i % paths.length] as string;
    const kind = i % 4;
    const body = kind === 0 ? randomBytes(Math.floor(Math.random() * 2000)) : kind === 1 ? JSON.stringify(valid[path]).slice(0, Math.floor(Math.random() * 200)) : mutate(valid[path]);
    const r = await agent.request('POST', path, body);
    assert.ok(r.status < 500, `${path} answered ${r.status} to ${String(Buffer.isBuffer(body) ? 'bytes' : JSON.stringify(body)).slice(0, 200)}`);
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  }
  for (const path of [AGENT_PATHS.index, AGENT_PATHS.fingerprints]) {
    for (let i = 0; i < 40; i++) {
      const good = describeChunks(secondDisk, CHUNK)[path === AGENT_PATHS.index ? 'index' : 'fingerprints'];
      const bad = Buffer.from(good);
      for (let k = 0; k < 4; k++) { const at = Math.floor(Math.random() * Math.min(bad.length, 64)); bad[at] = (bad[at] as number) ^ (1 + Math.floor(Math.random() * 255)); }
      const r = await agent.request('PUT', path, i % 2 ? bad : bad.subarray(0, Math.floor(Math.random() * bad.length)));
      assert.ok(r.status < 500, `${path}: ${r.status}`);
    }
  }
  for (const path of ['job/chunks/%E0%A4%A', 'job/chunks/' + 'A'.repeat(64), 'job/chunks/../../hello', 'job/chunks/%2e%2e%2fhello', 'job//start', 'job/chunks/' + 'a'.repeat(64) + '/x', 'hello?x=%ff', 'job/chunks/' + 'a'.repeat(64) + '?raw=1&raw=2', 'job/chunks/' + 'a'.repeat(64) + '?raw=99999999999', '%00']) {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      const r = await agent.request(method, path, method === 'GET' || method === 'DELETE' ? undefined : randomBytes(100));
      assert.ok(r.status < 500 && r.status >= 400, `${method} ${path}: ${r.status}`);
    }
  }
  assert.ok((statuses.get(400) ?? 0) > 100, `mostly refused as bad bodies: ${JSON.stringify([...statuses])}`);
  assert.ok((await api.health()).pid > 0, 'the daemon answers');
  assert.equal((await api.job(id)).state, 'running', 'bad bodies on these routes fail nothing');
  await api.cancelJob(id);
  await waitFor(async () => (await api.job(id)).state === 'cancelled', 'the fuzzed job is cancelled', 15_000);
});

test('a backup to a client disk over the wire: the start names it, no chunk route is open, job/stored records the image with its location', async () => {
  const stored = (imageId: string, over: Record<string, unknown> = {}) => ({
    imageId,
    parentId: null,
    createdAt: '2026-12-03T10:00:00.000Z',
    completedAt: '2026-12-03T10:01:00.000Z',
    source: { kind: 'block', size: DISK.sizeBytes, logicalSectorSize: 512, physicalSectorSize: 512, model: DISK.model, serial: DISK.serial, name: DISK.name },
    imageBytes: DISK.sizeBytes,
    chunkSize: CHUNK,
    chunkCount: 16,
    contentSha256: 'b'.repeat(64),
    manifestSha256: 'c'.repeat(64),
    stats: { bytesNew: 3 * CHUNK, storedBytesNew: CHUNK },
    layout: null,
    ...over,
  });
  // an appliance backup has no job/stored
  const plain = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await plain.agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const wrongRoute = await plain.agent.request('POST', AGENT_PATHS.stored, stored('20261203T100000Z-0a1b2c3d'));
  assert.equal(wrongRoute.status, 409, JSON.stringify(wrongRoute.body));
  await api.cancelJob(plain.id);
  await waitFor(async () => (await api.job(plain.id)).state === 'cancelled', 'the plain job is cancelled', 15_000);

  // a report about another disk: refused, the job fails, nothing recorded
  const bad = await jobAgent({ type: 'backup', machine: 'desk-a', destination: 'disk:LABEL=LBUSB' });
  const hello = await bad.agent.hello([DISK]);
  assert.deepEqual(hello.body.job?.destination, { kind: 'client-disk', label: 'LBUSB' });
  const start = await bad.agent.request<Record<string, unknown>>('POST', AGENT_PATHS.start, { disk: DISK });
  assert.equal(start.status, 200);
  assert.deepEqual(start.body, { type: 'backup', destination: { kind: 'client-disk', label: 'LBUSB' }, host: 'desk-a', label: null });
  for (const [method, path, body] of [['PUT', `${AGENT_PATHS.chunks}/${'a'.repeat(64)}?raw=10`, randomBytes(10)], ['POST', AGENT_PATHS.has, { digests: ['a'.repeat(64)] }], ['POST', AGENT_PATHS.finish, finishBody(DISK, 'a'.repeat(64))], ['GET', AGENT_PATHS.parentIndex, undefined]] as const) {
    const r = await bad.agent.request(method, path, body);
    assert.equal(r.status, 403, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  for (const garbage of [{}, stored('../etc'), stored('20261203T100000Z-0a1b2c3d', { chunkCount: 3 }), stored('20261203T100000Z-0a1b2c3d', { extra: 1 })]) {
    assert.equal((await bad.agent.request('POST', AGENT_PATHS.stored, garbage)).status, 400);
  }
  assert.equal((await api.job(bad.id)).state, 'running', 'bad bodies fail nothing');
  const other = await bad.agent.request('POST', AGENT_PATHS.stored, stored('20261203T100000Z-0a1b2c3d', { source: { ...stored('x').source, serial: 'SN-OTHER' } }));
  assert.equal(other.status, 422);
  const failed = await api.job(bad.id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error ?? '', /report of the image was refused: .*serial SN-OTHER.*the job started on vda \(serial SN-A1/);
  assert.ok(!(await api.images()).some((i) => i.id === '20261203T100000Z-0a1b2c3d'));

  // the machine's passphrase protects images in the appliance only: the job says so
  const secret = join(work.dir, 'desk-a.passphrase');
  writeFileSync(secret, 'correct horse\n', { mode: 0o600 });
  await api.editMachine('desk-a', { passphraseFile: secret });
  const good = await jobAgent({ type: 'backup', machine: 'desk-a', label: 'usb', destination: 'disk:LABEL=LBUSB' });
  await api.editMachine('desk-a', { passphraseFile: null });
  assert.match(JSON.stringify((await api.job(good.id)).log), /protected by a restore passphrase, but an image written to disk:LABEL=LBUSB carries none/);
  assert.equal((await good.agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  const ok = await good.agent.request('POST', AGENT_PATHS.stored, stored('20261203T110000Z-0a1b2c3e'));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const done = await api.job(good.id);
  assert.equal(done.state, 'done');
  assert.equal(done.imageId, '20261203T110000Z-0a1b2c3e');
  const image = (await api.images()).find((i) => i.id === done.imageId);
  assert.equal(image?.location, 'client-disk LABEL=LBUSB');
  assert.equal(image?.label, 'usb');
  assert.equal(image?.machineId, (await api.machine('desk-a')).id);
  assert.equal((await good.agent.request('POST', AGENT_PATHS.stored, stored('20261203T110000Z-0a1b2c3e'))).status, 401, 'the token ended with the job');
  await assert.rejects(api.createJob({ type: 'restore', image: '20261203T110000Z-0a1b2c3e', machine: 'desk-a', confirm: true }), /is on client-disk LABEL=LBUSB, not in the appliance's store/);
  // the appliance forgets it on `images rm` (the files on the disk stay); its store is untouched
  await api.removeImage('20261203T110000Z-0a1b2c3e');
  assert.ok(!(await api.images()).some((i) => i.id === '20261203T110000Z-0a1b2c3e'));
});

test('an agent that goes silent fails its job with advice', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  await waitFor(async () => (await api.job(id)).state === 'failed', 'the silent job failed', 40_000);
  assert.match((await api.job(id)).error ?? '', /went silent: no request for 15 s .*check the machine's console/);
});

test('daemon stop interrupts a running agent job', async () => {
  const { id, agent } = await jobAgent({ type: 'backup', machine: 'desk-a' });
  assert.equal((await agent.request('POST', AGENT_PATHS.start, { disk: DISK })).status, 200);
  assert.equal(await daemon.stop(), 0);
  daemon = await startDaemon(work.dir, { config: join(work.dir, 'config.json'), args: ['--interface', 'lo', '--http-port', base.split(':').pop() as string, '--tftp-port', String(await freePort('udp')), '--agent-port', String(agentPort), '--boot-root', join(work.dir, 'boot')] });
  api = new ApiClient(daemon.socket);
  const job = await api.job(id);
  assert.equal(job.state, 'interrupted');
  assert.match(job.error ?? '', /daemon stopped/);
});
