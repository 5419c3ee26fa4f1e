// The agent's whole flow on the host, against the agent-API twin over a real image store
// (test/helpers/agent-twin.ts): real worker threads, real disk files (sgdisk, mkfs.ext4),
// real HTTP. Backup, incremental backup, faults on the wire (dropped connections, lost
// answers, 503s, a cancel), restore onto a larger disk that held other data (GPT relocated,
// last partition grown), and a restore refused before the first write.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAgent } from '../src/agent/agent.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { certifyImage } from '../src/imaging/restore.js';
import { digestAt } from '../src/imaging/repo/index-file.js';
import { AgentTwin, type Fault } from './helpers/agent-twin.js';
import { checkDisk, machineRoot, makeDisk } from './helpers/agent-machine.js';
import { sh, tempDir } from './helpers/cli.js';

const TOKEN = `tok_${process.pid}_abcdefghijklmnop`;
const files = { 'a.bin': randomBytes(3 << 20), 'b.txt': Buffer.from('hello from machine a\n'.repeat(5000)) };
let t: { dir: string; cleanup: () => void };
let twin: AgentTwin;
let url = '';
let disk = '';

before(async () => {
  t = tempDir('lifeboat-agent-');
  const store = await ImageStore.open(join(t.dir, 'store'), { create: true, chunkSize: 1 << 20 });
  twin = new AgentTwin(store);
  url = await twin.listen();
  disk = makeDisk(t.dir, 'a', files);
});
after(async () => {
  await twin.close();
  t.cleanup();
});

async function agent(sizeBytes: number, path: string, spec: Parameters<AgentTwin['offer']>[0]['spec'], workers = 2) {
  twin.offer({ token: TOKEN, machine: 'machine-a', spec });
  const lines: string[] = [];
  const root = machineRoot(t.dir, `lifeboat.url=${url} lifeboat.token=${TOKEN}`, [{ name: 'vda', serial: 'SER-A', sizeBytes }]);
  const code = await runAgent({ root, log: (l) => lines.push(l), retryForMs: 0, devicePath: () => path, workers, api: { retryForMs: 10_000, baseDelayMs: 20, maxDelayMs: 200 } });
  return { code, text: lines.join('\n') };
}

const backupSpec = (id: string) => ({ id, type: 'backup' as const, disk: { serial: 'SER-A', name: null }, label: null, end: 'reboot' as const });

test('backup: the disk goes into the store as a certified image; progress reported; exit 0 (reboot)', async () => {
  const r = await agent(statSync(disk).size, disk, backupSpec('job-1'));
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /job job-1: backup of disk vda .*serial SER-A/);
  assert.match(r.text, /backup done: image \S+, 64 chunks/);
  assert.equal(twin.finished.length, 1);
  const m = twin.finished[0]!;
  await certifyImage(twin.store, m.id);
  assert.ok(m.stats.bytesNew >= 3 << 20, 'the random file was sent');
  assert.ok(twin.progress.length >= 1);
  // At most one progress post every 500 ms (a little slack for the timers).
  const posts = twin.seen.filter((s) => s.path === 'job/progress').map((s) => s.at);
  posts.slice(1).forEach((at, k) => assert.ok(at - (posts[k] as number) >= 450, `progress posts ${at - (posts[k] as number)} ms apart`));
  assert.ok(twin.seen.some((s) => s.method === 'POST' && s.path === 'job/chunks/has'));
});

test('incremental: an unchanged disk sends no chunk; the reused bytes are reported', async () => {
  twin.seen = [];
  const r = await agent(statSync(disk).size, disk, backupSpec('job-2'));
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /incremental on image/);
  assert.match(r.text, /0 new to the store; 0 B new, [\d.]+ MiB reused/);
  assert.equal(twin.seen.filter((s) => s.method === 'PUT' && s.path.startsWith('job/chunks/')).length, 0);
  assert.equal(twin.finished.at(-1)!.parent, twin.finished[0]!.id);
  assert.ok(twin.finished.at(-1)!.stats.bytesReused > 3 << 20);
});

test('faults: dropped connections, a lost answer and 503s are retried; what arrived is not sent again', async () => {
  twin.seen = [];
  const lost: Fault = { match: 'PUT job/chunks/', after: 4, times: 1, kind: 'lost' };
  twin.faults = [{ match: 'PUT job/chunks/', after: 1, times: 1, kind: 'drop' }, lost, { match: 'POST job/chunks/has', after: 2, times: 2, kind: '503' }];
  const fresh = makeDisk(t.dir, 'c', { 'c.bin': randomBytes(12 << 20) });
  // One worker: two workers may both upload a chunk the disk holds twice (a race the store settles), which would blur the count below.
  const r = await agent(statSync(fresh).size, fresh, { ...backupSpec('job-3'), disk: { serial: null, name: 'vda' } }, 1);
  assert.equal(r.code, 0, r.text);
  assert.deepEqual(twin.faults.filter((f) => f.times !== 0), [], 'every fault struck');
  // The frame whose answer was lost had arrived: asked about again, never sent again.
  const path = lost.struck?.[0] as string;
  assert.equal(twin.seen.filter((s) => s.method === 'PUT' && s.path === path).length, 1);
  await certifyImage(twin.store, twin.finished.at(-1)!.id);
});

test('cancel: a 409 cancelled stops the job at once; nothing more is reported; exit 1 (wait)', async () => {
  twin.ends = [];
  twin.faults = [{ match: 'PUT job/chunks/', after: 0, times: 1, kind: 'cancel' }];
  const fresh = makeDisk(t.dir, 'd', { 'd.bin': randomBytes(2 << 20) });
  const before = twin.finished.length;
  const r = await agent(statSync(fresh).size, fresh, backupSpec('job-4'));
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /the job was cancelled at the appliance: stopped/);
  assert.equal(twin.ends.length, 0);
  assert.equal(twin.finished.length, before);
});

test('the answer to job/finish is lost: the agent does not claim success, and says the image may be committed', async () => {
  twin.faults = [{ match: 'POST job/finish', after: 0, times: 1, kind: 'lost' }];
  const before = twin.finished.length;
  const r = await agent(statSync(disk).size, disk, backupSpec('job-f'));
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /FAILED at finish: the appliance no longer accepts this job's token/);
  assert.match(r.text, /may have committed the image before its answer was lost: check the job at the appliance/);
  assert.match(r.text, /the appliance had already ended the job/);
  assert.equal(twin.finished.length, before + 1, 'the twin did commit it');
});

test('restore onto a larger disk that held other data: GPT relocated, last partition grown, verified; files equal', async () => {
  twin.faults = [{ match: 'GET job/chunks/', after: 3, times: 1, kind: 'drop' }];
  twin.ends = [];
  const target = join(t.dir, 'b.img');
  sh(`head -c 96M /dev/urandom > ${target}`);
  const id = twin.finished[0]!.id;
  const r = await agent(statSync(target).size, target, { id: 'job-5', type: 'restore', imageId: id, disk: { serial: null, name: null }, verify: true, verifyFirst: true, growLast: true, end: 'poweroff' });
  assert.equal(r.code, 3, r.text);
  assert.match(r.text, /restore done: .*partition table adapted.*grown with resize2fs.*read back and verified/);
  // where the job's seconds went, every stage in its order, and the worker threads' steps
  assert.match(r.text, /timings: agent up [\d.]+ s at job\/start; job\/start [\d.]+ s, agent certify [\d.]+ s, certify [\d.]+ s, target [\d.]+ s, workers [\d.]+ s, check-first [\d.]+ s, write [\d.]+ s, flush [\d.]+ s, verify [\d.]+ s, grow [\d.]+ s, end report [\d.]+ s; [\d.]+ s in all/);
  assert.match(r.text, /worker threads while writing \(summed over 2\): fetch [\d.]+ s, decode [\d.]+ s, SHA-256 [\d.]+ s, write [\d.]+ s/);
  assert.equal(twin.ends.length, 1);
  assert.equal(twin.ends[0]!.ok, true);
  assert.equal(twin.ends[0]!.wrote, true);
  checkDisk(target, files, t.dir);
});

test('verify first by default (if-partitioned): a disk holding partitions is checked before the first write, a blank one streams; both end equal', async () => {
  const spec = (id: string) => ({ id, type: 'restore' as const, imageId: twin.finished[0]!.id, disk: { serial: null, name: null }, verify: false, verifyFirst: 'if-partitioned' as const, growLast: false, end: 'reboot' as const });
  const partitioned = join(t.dir, 'p.img');
  sh(`cp ${disk} ${partitioned}`);
  const blank = join(t.dir, 'z.img');
  sh(`truncate -s ${statSync(disk).size} ${blank}`);
  for (const [target, checked] of [[partitioned, true], [blank, false]] as const) {
    const r = await agent(statSync(target).size, target, spec(`job-p${checked ? 1 : 0}`));
    assert.equal(r.code, 0, r.text);
    assert.equal(/timings: .* check-first [\d.]+ s, write/.test(r.text), checked, r.text);
    checkDisk(target, files, t.dir);
  }
});

test('a restore cancelled while it writes: stops at once, says the disk is incomplete, reports nothing more; exit 1 (wait)', async () => {
  twin.ends = [];
  twin.faults = [{ match: 'GET job/chunks/', after: 6, times: 1, kind: 'cancel' }];
  const target = join(t.dir, 'h.img');
  sh(`head -c 70M /dev/urandom > ${target}`);
  const r = await agent(statSync(target).size, target, { id: 'job-h', type: 'restore', imageId: twin.finished[0]!.id, disk: { serial: null, name: null }, verify: false, verifyFirst: false, growLast: false, end: 'reboot' });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /writing image \S+ onto/);
  assert.match(r.text, /the job was cancelled at the appliance: stopped; this disk is incomplete — do not boot it/);
  assert.equal(twin.ends.length, 0);
});

test('a chunk that arrives damaged: refused before the first write (verifyFirst); the disk is unchanged, the failure reported with advice', async () => {
  twin.ends = [];
  twin.faults = [{ match: 'GET job/chunks/', after: 2, times: 1, kind: 'garbage' }];
  const target = join(t.dir, 'g.img');
  sh(`head -c 70M /dev/urandom > ${target}`);
  const beforeBytes = readFileSync(target);
  const r = await agent(statSync(target).size, target, { id: 'job-g', type: 'restore', imageId: twin.finished[0]!.id, disk: { serial: 'SER-A', name: null }, verify: false, verifyFirst: true, growLast: false, end: 'reboot' });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /FAILED at certify: image \S+ cannot be restored: 1 chunk\(s\) failed the check before writing/);
  assert.deepEqual(twin.ends.map((e) => [e.ok, e.wrote, e.stage]), [[false, false, 'certify']]);
  assert.match(twin.ends[0]!.advice ?? '', /nothing was written: this disk is unchanged/);
  assert.ok(readFileSync(target).equals(beforeBytes), 'the target is unchanged');
});

test('the appliance refuses the restore at job/start (a chunk missing from the store): nothing written, the failure reported', async () => {
  twin.ends = [];
  const id = twin.finished[0]!.id;
  const index = await twin.store.readIndex(await twin.store.readManifest(id));
  const used = Array.from({ length: index.chunkCount }, (_, i) => digestAt(index, i)).filter((d) => d !== null);
  const digest = (used[used.length >> 1] as Buffer).toString('hex');
  const chunk = join(twin.store.root, 'chunks', digest.slice(0, 4), digest);
  rmSync(chunk, { force: true });
  const target = join(t.dir, 'e.img');
  sh(`head -c 70M /dev/urandom > ${target}`);
  const beforeBytes = readFileSync(target);
  const r = await agent(statSync(target).size, target, { id: 'job-6', type: 'restore', imageId: id, disk: { serial: 'SER-A', name: null }, verify: false, verifyFirst: true, growLast: false, end: 'reboot' });
  assert.equal(r.code, 1, r.text);
  assert.match(r.text, /FAILED at start: the appliance refused POST job\/start: HTTP 422: image \S+ cannot be restored: 1 chunk\(s\) missing/);
  assert.equal(twin.ends.length, 1);
  assert.equal(twin.ends[0]!.ok, false);
  assert.equal(twin.ends[0]!.wrote, false);
  assert.match(twin.ends[0]!.advice ?? '', /nothing was written/);
  assert.ok(readFileSync(target).equals(beforeBytes), 'the target is unchanged');
});
