// The agent lab (issue 15, lab steps 1, 2 and 4), end to end on the two-machine network of
// test/helpers/vm-lab.ts, through the operator's own commands:
//   1. A (SeaBIOS + iPXE, virtio disk A: GPT with ext4 + FAT32 + NTFS) → `lifeboat backup
//      --machine a --wait` → the image is committed, progress was seen on the event stream,
//      A's disk serial is in `machines show a --json`, the image records it, and A's agent
//      ends the job by rebooting or powering off (QEMU runs with -no-reboot: it exits);
//   2. B (OVMF Secure Boot with Microsoft's keys, OVMF's own PXE, a larger NVMe disk holding
//      other data) → `lifeboat restore --image <id> --machine b --yes --wait` → B's disk passes
//      sgdisk -v, e2fsck -fn, fsck.vfat -n, ntfsfix -n and every file equals A's;
//   4. A killed mid-backup → the job failed with a reason, no image was added; the next backup
//      succeeds and is incremental against the first (reused bytes reported, parent named).
// PENDING until the agent's backup and restore land: test/run-tests.mjs leaves this file out;
// run it with `node test/run-tests.mjs "$PWD/test/e2e/agent-lab.integration.test.ts"`. Today
// A reaches its hello, then step 1 fails: the job stays `booting` (the agent does not run jobs).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageRecord, Job, LiveEvent, MachineWithDisks } from '../../src/api/wire.js';
import type { Manifest } from '../../src/imaging/repo/manifest.js';
import { tempDir } from '../helpers/cli.js';
import { UTF8_ENV, checkDisk, compareDiskFiles, must, readLayout } from '../helpers/disk-check.js';
import { makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { type Vm, type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const JOB_MS = 600_000;
const HELLO_MS = 600_000;
const work = tempDir('lifeboat-agentlab-');
const diskA = join(work.dir, 'a.img');
const diskB = join(work.dir, 'b.img');
const specA: VmSpec = { name: 'a', mac: '52:54:00:1a:01:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: diskA, bus: 'virtio', serial: `LAB-A-${process.pid}` } };
const specB: VmSpec = { name: 'b', mac: '52:54:00:1a:01:0b', firmware: 'uefi-sb', uuid: randomUUID(), disk: { file: diskB, bus: 'nvme', serial: `LAB-B-${process.pid}` } };
const events: LiveEvent[] = [];
const stopEvents = new AbortController();
let lab: VmLab;
let firstImage = '';

before(async () => {
  prepareBootOs(join(work.dir, 'data'));
  makeDiskA(diskA);
  makeDiskB(diskB, { mib: 384 });
  // a killed machine's job must fail within the test's patience: silent agents fail after a minute
  lab = await VmLab.start(work.dir, { agent: { silenceMinutes: 1 } });
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac]);
  lab.cli(['machines', 'add', '--name', 'b', '--mac', specB.mac]);
  void lab.api.events((e) => events.push(e), stopEvents.signal).catch(() => {});
});

after(async () => {
  stopEvents.abort();
  await lab?.stop();
  work.cleanup();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  job: Job | null;
  vm: Vm;
}

/**
 * Runs `lifeboat <args>` (a --machine job with --wait --json), boots the machine once its job
 * waits for the boot, and resolves when the command ends. `during` runs alongside (faults).
 */
async function jobWithBoot(args: string[], spec: VmSpec, during?: (vm: Vm, jobId: string) => Promise<void>): Promise<Run> {
  const cli: ChildProcess = lab.cliSpawn(args);
  let stdout = '';
  let stderr = '';
  cli.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  let jobId = '';
  await lab.until(async () => {
    const j = (await lab.api.jobs({ state: ['waiting-for-boot'] })).find((x) => x.machineName === spec.name);
    jobId = j?.id ?? '';
    return jobId !== '';
  }, 30_000, `the job for ${spec.name} waits for its boot`, []);
  const vm = lab.boot(spec);
  try {
    await lab.hello(spec.name, vm, HELLO_MS);
    // the agent takes the job from its hello: it must leave `booting` soon after
    await lab.until(async () => (await lab.api.job(jobId)).state !== 'booting', 120_000, `the agent on ${spec.name} said hello but job ${jobId} stayed \`booting\`: the agent does not run jobs (issue 15)`, [vm]);
  } catch (err) {
    cli.kill('SIGTERM');
    await vm.kill();
    throw err;
  }
  if (during) await during(vm, jobId);
  const timer = setTimeout(() => cli.kill('SIGTERM'), JOB_MS);
  const code = await ended;
  clearTimeout(timer);
  const last = stdout.trim().split('\n').pop() ?? '';
  let job: Job | null = null;
  try {
    job = JSON.parse(last) as Job;
  } catch {
    job = null;
  }
  return { code, stdout, stderr, job, vm };
}

function explain(r: Run): string {
  return `\nexit ${r.code}\nstderr: ${r.stderr.slice(-1500)}\n${lab.diagnostics([r.vm])}`;
}

const progressOf = (jobId: string) => events.flatMap((e) => (e.type === 'job-progress' && e.jobId === jobId ? [e.progress] : []));

/** The agent ends its job by rebooting or powering off: with -no-reboot QEMU exits either way. */
async function endsItsBoot(vm: Vm): Promise<void> {
  await lab.until(() => !vm.running(), 120_000, `${vm.spec.name} rebooted or powered off after its job`, [vm]);
}

test('1. A (BIOS) backed up over the wire: image committed, progress on the event stream, disk serial recorded', { timeout: HELLO_MS + JOB_MS + 120_000 }, async () => {
  const r = await jobWithBoot(['backup', '--machine', 'a', '--label', 'lab: first', '--wait', '--json'], specA);
  try {
    assert.equal(r.code, 0, `the backup failed${explain(r)}`);
    assert.equal(r.job?.state, 'done');
    firstImage = r.job?.imageId ?? '';
    assert.ok(firstImage, 'the job names its image');
    const progress = progressOf(r.job?.id ?? '');
    assert.ok(progress.length >= 2, `progress on the event stream: ${progress.length} event(s)`);
    assert.ok(progress.some((p) => p.operation === 'backup' && p.bytesDone > 0 && p.bytesTotal === 256 << 20), JSON.stringify(progress.slice(-2)));
    const a = JSON.parse(lab.cli(['machines', 'show', 'a', '--json'])) as MachineWithDisks;
    assert.deepEqual(a.disks.map((d) => d.serial), [specA.disk.serial]);
    const images = JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[];
    assert.deepEqual(images.map((i) => i.id), [firstImage]);
    const m = JSON.parse(lab.cli(['images', 'show', firstImage, '--json'])) as Manifest;
    assert.equal(m.source.serial, specA.disk.serial);
    assert.equal(m.diskSize, 256 << 20);
    assert.equal(m.parent, null);
    await endsItsBoot(r.vm);
  } finally {
    await r.vm.kill();
  }
});

test('2. B (UEFI Secure Boot, larger NVMe that held other data) restored from A\'s image: clean, every file equals A\'s', { timeout: HELLO_MS + JOB_MS + 180_000 }, async () => {
  assert.ok(firstImage, 'step 1 made an image');
  assert.notDeepEqual(compareDiskFiles(diskA, diskB), [], 'B holds other data before the restore');
  const r = await jobWithBoot(['restore', '--image', firstImage, '--machine', 'b', '--yes', '--wait', '--json'], specB);
  try {
    assert.equal(r.code, 0, `the restore failed${explain(r)}`);
    assert.equal(r.job?.state, 'done');
    assert.ok(progressOf(r.job?.id ?? '').some((p) => p.operation === 'restore' && p.bytesDone > 0), 'restore progress on the event stream');
    assert.match(r.vm.serial(), /Secure boot enabled/);
    await endsItsBoot(r.vm);
  } finally {
    await r.vm.kill();
  }
  assert.equal(readLayout(diskB).table, 'gpt');
  assert.deepEqual(checkDisk(diskB), []);
  assert.deepEqual(compareDiskFiles(diskA, diskB), []);
});

test('4. A killed mid-backup: the job fails, no image is added; the next backup succeeds, incremental against the first', { timeout: 2 * (HELLO_MS + JOB_MS) + 240_000 }, async () => {
  assert.ok(firstImage, 'step 1 made an image');
  // a change on A's FAT partition first (A is off): the next image must carry it
  const data = readLayout(diskA).partitions.find((p) => p.number === 2);
  assert.ok(data);
  const note = join(work.dir, 'changed.txt');
  writeFileSync(note, `changed before the second backup ${new Date().toISOString()}\r\n`);
  must('mcopy', ['-o', '-i', `${diskA}@@${data.start}`, note, '::/README.TXT'], UTF8_ENV);

  const killed = await jobWithBoot(['backup', '--machine', 'a', '--label', 'lab: killed', '--wait', '--json'], specA, async (vm, jobId) => {
    await lab.until(() => progressOf(jobId).some((p) => p.bytesDone > 0), JOB_MS, 'the backup is under way', [vm]);
    await vm.kill();
  });
  assert.notEqual(killed.code, 0, `the backup of a machine that lost power must fail${explain(killed)}`);
  assert.equal(killed.job?.state, 'failed', killed.stdout.slice(-1000));
  assert.ok((killed.job?.error ?? '').length > 0, 'the failure says why');
  const images = JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[];
  assert.deepEqual(images.map((i) => i.id), [firstImage], 'no partial image');

  const again = await jobWithBoot(['backup', '--machine', 'a', '--label', 'lab: second', '--wait', '--json'], specA);
  try {
    assert.equal(again.code, 0, `the backup after the failed one failed${explain(again)}`);
    const id = again.job?.imageId ?? '';
    const m = JSON.parse(lab.cli(['images', 'show', id, '--json'])) as Manifest;
    assert.equal(m.parent, firstImage, 'incremental against the first image');
    assert.ok(m.stats.bytesReused > 0, `reused bytes reported: ${JSON.stringify(m.stats)}`);
    // the changed file made something new; most of the used data was already in the first image
    assert.ok(m.stats.chunksNew >= 1, `the change is in the image: ${JSON.stringify(m.stats)}`);
    assert.ok(m.stats.bytesNew * 4 < m.stats.bytesNew + m.stats.bytesReused, `little is new: ${JSON.stringify(m.stats)}`);
    await endsItsBoot(again.vm);
  } finally {
    await again.vm.kill();
  }
});
