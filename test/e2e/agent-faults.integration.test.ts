// The agent lab, steps 3 and 4's network fault (issue 15), on the network of
// test/helpers/vm-lab.ts in proxy mode: dnsmasq is the LAN's DHCP server, Lifeboat answers only
// the boot (ProxyDHCP).
// 3a. A (SeaBIOS + iPXE) takes its address from dnsmasq and its boot from Lifeboat, and is
//     backed up over the wire (`lifeboat backup --machine a --wait`): the image is committed.
// 3b. A boots from a boot ISO made for it through the daemon (`lifeboat bootmedia --machine a`)
//     instead of PXE, and its waiting backup runs: the image is committed, the medium was used.
//     (3c, a machine with no job boots its local disk, is in lab.integration.test.ts.)
// 4.  B's network is cut in the middle of a restore onto its disk. What each side must do:
// - the appliance hears nothing more from B's agent: after `agent.silenceMinutes` (small here)
//   it fails the job with a reason that says what to check, and since the agent had begun
//   writing, the record says the target is incomplete (`targetIncomplete`, outcome words) and
//   `lifeboat jobs show` says so in capitals with what to do;
// - the agent keeps retrying with backoff for a bounded time (src/agent/agent-api.ts), then
//   prints the failure, the stage (`network`) and advice on the console, says it could not
//   report it, and the machine stays there (no reboot: its disk is incomplete).
// The image is made beforehand with the local `lifeboat image backup` into the daemon's store
// (no VM time spent on a backup here: agent-lab proves the backup over the wire).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageRecord, Job, LiveEvent } from '../../src/api/wire.js';
import { CLI, REPO, tempDir } from '../helpers/cli.js';
import { makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const HELLO_MS = 600_000;
// the agent retries a request for 60 s (each attempt may wait 30 s for an answer), then tries
// for another 60 s to report the failure: its verdict is on the console within a few minutes
const AGENT_GIVES_UP_MS = 300_000;
const SILENCE_MINUTES = 0.5;
const work = tempDir('lifeboat-agentfaults-');
const diskA = join(work.dir, 'a.img');
const diskB = join(work.dir, 'b.img');
const specA: VmSpec = { name: 'a', mac: '52:54:00:1a:02:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: diskA, bus: 'virtio', serial: `LAB-FA-${process.pid}` } };
const specB: VmSpec = { name: 'b', mac: '52:54:00:1a:02:0b', firmware: 'bios', uuid: randomUUID(), disk: { file: diskB, bus: 'virtio', serial: `LAB-FB-${process.pid}` } };
const events: LiveEvent[] = [];
const stopEvents = new AbortController();
let lab: VmLab;
let imageId = '';

before(async () => {
  const dataDir = join(work.dir, 'data');
  prepareBootOs(dataDir);
  makeDiskA(diskA);
  makeDiskB(diskB, { mib: 384 });
  const out = execFileSync(process.execPath, [CLI, 'image', 'backup', '--store', join(dataDir, 'store'), '--label', 'faults: source', '--json', diskA], { encoding: 'utf8' });
  imageId = (JSON.parse(out.trim().split('\n').pop() as string) as { id: string }).id;
  lab = await VmLab.start(work.dir, { agent: { silenceMinutes: SILENCE_MINUTES } }, { dhcp: 'proxy' });
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac]);
  lab.cli(['machines', 'add', '--name', 'b', '--mac', specB.mac]);
  void lab.api.events((e) => events.push(e), stopEvents.signal).catch(() => {});
});

after(async () => {
  stopEvents.abort();
  await lab?.stop();
  work.cleanup();
});

const progressOf = (jobId: string) => events.flatMap((e) => (e.type === 'job-progress' && e.jobId === jobId ? [e.progress] : []));

/** Starts `lifeboat <args>` and resolves with it and the id of the job once it waits for the boot of `machine`. */
async function startJob(args: string[], machine: string): Promise<{ cli: ChildProcess; jobId: string; out: { stdout: string; stderr: string }; ended: Promise<number | null> }> {
  const cli: ChildProcess = lab.cliSpawn(args);
  const out = { stdout: '', stderr: '' };
  cli.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  cli.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  let jobId = '';
  await lab.until(async () => {
    jobId = (await lab.api.jobs({ state: ['waiting-for-boot'] })).find((x) => x.machineName === machine)?.id ?? '';
    return jobId !== '';
  }, 30_000, `the job waits for ${machine}'s boot`, []);
  return { cli, jobId, out, ended };
}

test('3a. proxy DHCP beside dnsmasq: A\'s address from dnsmasq, its boot from Lifeboat; backed up over the wire', { timeout: HELLO_MS + 600_000 }, async () => {
  const { cli, jobId, out, ended } = await startJob(['backup', '--machine', 'a', '--label', 'faults: proxy', '--wait', '--json'], 'a');
  const vm = lab.boot(specA);
  try {
    const timer = setTimeout(() => cli.kill('SIGTERM'), HELLO_MS + 300_000);
    const code = await ended;
    clearTimeout(timer);
    assert.equal(code, 0, `the backup failed\nstderr: ${out.stderr.slice(-1500)}\n--- dnsmasq ---\n${lab.dnsmasqLog().slice(-1500)}\n${lab.diagnostics([vm])}`);
    const job = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Job;
    assert.equal(job.id, jobId);
    assert.equal(job.state, 'done');
    const images = JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[];
    assert.ok(images.some((i) => i.id === job.imageId), `the image ${job.imageId} is committed`);
    // the addresses came from dnsmasq (the daemon in proxy mode hands out none): its log has A's acks
    const acks = [...lab.dnsmasqLog().matchAll(/DHCPACK\([^)]*\) (10\.219\.0\.\d+) ([0-9a-f:]{17})/g)].filter((m) => m[2] === specA.mac);
    assert.ok(acks.length >= 1, `dnsmasq gave A its address\n${lab.dnsmasqLog().slice(-2000)}`);
    assert.ok(vm.serial().includes(acks[0]?.[1] ?? '?'), `A's console shows the address dnsmasq gave (${acks[0]?.[1]})\n${lab.diagnostics([vm])}`);
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});

test('3b. a boot ISO instead of PXE: A boots `lifeboat bootmedia --machine a` from CD and its backup runs', { timeout: HELLO_MS + 600_000 }, async () => {
  const iso = join(work.dir, 'a.iso');
  lab.cli(['bootmedia', '--out', iso, '--machine', 'a', '--data-dir', join(work.dir, 'data'), '--efi', join(REPO, 'var/kernels/efi')]);
  const { cli, jobId, out, ended } = await startJob(['backup', '--machine', 'a', '--label', 'faults: from CD', '--wait', '--json'], 'a');
  const vm = lab.boot({ ...specA, cdrom: iso });
  try {
    const timer = setTimeout(() => cli.kill('SIGTERM'), HELLO_MS + 300_000);
    const code = await ended;
    clearTimeout(timer);
    assert.equal(code, 0, `the backup from CD failed\nstderr: ${out.stderr.slice(-1500)}\n${lab.diagnostics([vm])}`);
    const job = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Job;
    assert.equal(job.id, jobId);
    assert.equal(job.state, 'done');
    assert.ok((JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).some((i) => i.id === job.imageId), `the image ${job.imageId} is committed`);
    const serial = vm.serial();
    // from the network the parameters come from the kernel's command line: here from the CD
    assert.match(serial, /parameters from \/etc\/lifeboat\/params/, `the agent took its parameters from the medium\n${lab.diagnostics([vm])}`);
    assert.ok((await lab.api.media()).some((m) => m.machine === 'a' && m.lastUsedAt), 'the medium was used');
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});

test('4. B\'s network cut mid-restore: the job fails as silent with the target incomplete; the agent gives up, says so on the console and stays', { timeout: HELLO_MS + 2 * AGENT_GIVES_UP_MS }, async () => {
  assert.ok(imageId, 'the local backup made an image');
  assert.ok((JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).some((i) => i.id === imageId), 'the daemon sees the image the local CLI wrote into its store');
  const { cli, jobId, out, ended } = await startJob(['restore', '--image', imageId, '--machine', 'b', '--yes', '--wait', '--json'], 'b');
  const vm = lab.boot(specB);
  try {
    await lab.hello('b', vm, HELLO_MS);
    await lab.until(() => progressOf(jobId).some((p) => p.operation === 'restore' && p.bytesDone > 0), HELLO_MS, 'the restore is writing B\'s disk', [vm]);
    const cutAt = Date.now();
    const cut = spawnSync('ip', ['-n', lab.ns, 'link', 'set', vm.tap, 'down'], { encoding: 'utf8' });
    assert.equal(cut.status, 0, `cutting B's link: ${cut.stderr}`);

    // the appliance's side: silence → failed, target incomplete, with advice
    const timer = setTimeout(() => cli.kill('SIGTERM'), SILENCE_MINUTES * 60_000 + 120_000);
    const code = await ended;
    clearTimeout(timer);
    const heardAfter = Date.now() - cutAt;
    assert.equal(code === 0, false, `the restore of a machine whose network was cut must fail\nstdout: ${out.stdout.slice(-1000)}\nstderr: ${out.stderr.slice(-1000)}\n${lab.diagnostics([vm])}`);
    const job = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Job;
    assert.equal(job.state, 'failed', out.stdout.slice(-1000));
    const last = progressOf(jobId).at(-1);
    assert.ok(last && last.bytesDone < last.bytesTotal, `cut before the restore finished: ${JSON.stringify(last)}`);
    assert.ok(heardAfter >= SILENCE_MINUTES * 60_000 - 5000, `failed only after the silence timeout: ${heardAfter} ms`);
    assert.match(job.error ?? '', /went silent.*check the machine's console and its network link/);
    assert.equal(job.targetIncomplete, true, JSON.stringify(job));
    assert.match(job.outcome ?? '', /is incomplete.*do not use it: restore it again/);
    assert.match(out.stderr, /INCOMPLETE: do not use it; restore it again/);
    const shown = lab.cli(['jobs', 'show', jobId]);
    assert.match(shown, /TARGET INCOMPLETE: .*holds part of image .* do not use it; restore it again/);
    assert.match(shown, /went silent/);

    // the agent's side: bounded retries, then the failure and advice on the console; it stays
    await lab.until(() => /the failure could not be reported to the appliance/.test(vm.serial()) || !vm.running(), AGENT_GIVES_UP_MS, 'B\'s agent gave up and said so', [vm]);
    const console = vm.serial();
    assert.match(console, /lifeboat agent: FAILED at network: the appliance at/);
    // (the console is read as latin1: the agent's em dash is any few bytes here)
    assert.match(console, /lifeboat agent: this disk is incomplete .{1,6} do not boot it: check the network cable and that the appliance is running/);
    assert.match(console, /lifeboat agent: the failure could not be reported to the appliance/);
    await lab.until(() => /this machine stays here \(no reboot\)/.test(vm.serial()) || !vm.running(), 30_000, 'the boot OS says B stays', [vm]);
    assert.ok(vm.running(), `B stays on its console after the failure (no reboot)\n${lab.diagnostics([vm])}`);
    // the job stays as the appliance recorded it: the agent's late report could not change it
    assert.equal((await lab.api.job(jobId)).targetIncomplete, true);
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});
