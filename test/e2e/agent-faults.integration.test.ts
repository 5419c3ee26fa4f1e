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
// 4b/4c. C's network is cut in the middle of a backup (C: disk A's layout with other random
//     files, so its frames are new to the store). The agent's retry window is the daemon's
//     `agent.retrySeconds`, which reaches it as the boot parameter lifeboat.retry (small here,
//     so this file runs in minutes):
// 4b. cut for longer than the window: the agent gives up, and once the link is back reports
//     the failure with its stage and advice; no image, nothing staged is left;
// 4c. (C's next backup) cut for less than the window: the agent resumes, the backup completes
//     and verifies, and the appliance received no frame twice (the job's frame figures).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageRecord, Job, LiveEvent } from '../../src/api/wire.js';
import { CLI, REPO, tempDir } from '../helpers/cli.js';
import { makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { type Vm, type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const HELLO_MS = 600_000;
/** The daemon's agent.retrySeconds: the agent retries a request for this long after it first failed; one attempt waits half of it (agent-api.ts). */
const RETRY_SECONDS = 20;
// the agent notices the cut within an attempt (10 s) and retries for 20 s (an attempt begun late
// may run 10 s past; the requests of one outage give up together, ~40 s after the cut), then
// tries for 20 s more to report the failure
const AGENT_GIVES_UP_MS = 150_000;
// longer than the agent takes to give up (4b: its report, sent once the link is back, must arrive
// first); the appliance fails a machine that stays cut (4) after it
const SILENCE_MINUTES = 1.5;
/** 4c's cut: longer than an attempt's wait (so connections are dropped and retried), well inside the window. */
const SHORT_CUT_MS = 13_000;
const work = tempDir('lifeboat-agentfaults-');
const diskA = join(work.dir, 'a.img');
const diskB = join(work.dir, 'b.img');
const diskC = join(work.dir, 'c.img');
const store = join(work.dir, 'data', 'store');
const specA: VmSpec = { name: 'a', mac: '52:54:00:1a:02:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: diskA, bus: 'virtio', serial: `LAB-FA-${process.pid}` } };
const specB: VmSpec = { name: 'b', mac: '52:54:00:1a:02:0b', firmware: 'bios', uuid: randomUUID(), disk: { file: diskB, bus: 'virtio', serial: `LAB-FB-${process.pid}` } };
const specC: VmSpec = { name: 'c', mac: '52:54:00:1a:02:0c', firmware: 'bios', uuid: randomUUID(), disk: { file: diskC, bus: 'virtio', serial: `LAB-FC-${process.pid}` } };
const events: LiveEvent[] = [];
const stopEvents = new AbortController();
let lab: VmLab;
let imageId = '';

before(async () => {
  const dataDir = join(work.dir, 'data');
  prepareBootOs(dataDir);
  makeDiskA(diskA);
  makeDiskB(diskB, { mib: 384 });
  makeDiskA(diskC, { seed: 7 });
  const out = execFileSync(process.execPath, [CLI, 'image', 'backup', '--store', join(dataDir, 'store'), '--label', 'faults: source', '--json', diskA], { encoding: 'utf8' });
  imageId = (JSON.parse(out.trim().split('\n').pop() as string) as { id: string }).id;
  lab = await VmLab.start(work.dir, { agent: { silenceMinutes: SILENCE_MINUTES, retrySeconds: RETRY_SECONDS } }, { dhcp: 'proxy' });
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac]);
  lab.cli(['machines', 'add', '--name', 'b', '--mac', specB.mac]);
  lab.cli(['machines', 'add', '--name', 'c', '--mac', specC.mac]);
  void lab.api.events((e) => events.push(e), stopEvents.signal).catch(() => {});
});

after(async () => {
  stopEvents.abort();
  await lab?.stop();
  work.cleanup();
});

/** Cuts (down) or restores (up) a machine's network: its tap on the lab's bridge. */
function setLink(vm: Vm, state: 'down' | 'up'): void {
  const r = spawnSync('ip', ['-n', lab.ns, 'link', 'set', vm.tap, state], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ip link set ${vm.tap} ${state}: ${r.stderr}`);
}

/** Files under `dir`, recursively, whose name matches `name` (0 when it does not exist). */
function countFiles(dir: string, name: RegExp): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => name.test(f)).length;
}

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
    setLink(vm, 'down');

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

test('4b. C\'s network cut mid-backup for longer than the retry window: the agent fails at network and reports it with advice once the link is back; no image, nothing staged left', { timeout: HELLO_MS + 2 * AGENT_GIVES_UP_MS }, async (t) => {
  const chunksBefore = countFiles(join(store, 'chunks'), /^[0-9a-f]{4}\/[0-9a-f]{64}$/);
  const { cli, jobId, out, ended } = await startJob(['backup', '--machine', 'c', '--label', 'faults: long cut', '--wait', '--json'], 'c');
  const vm = lab.boot(specC);
  try {
    await lab.hello('c', vm, HELLO_MS);
    await lab.until(() => progressOf(jobId).some((p) => p.storedBytes > 0), HELLO_MS, 'frames of C\'s disk arrive', [vm]);
    const cutAt = Date.now();
    setLink(vm, 'down');
    await lab.until(() => /lifeboat agent: FAILED at network/.test(vm.serial()) || !vm.running(), AGENT_GIVES_UP_MS, 'C\'s agent gave up', [vm]);
    const gaveUpAfter = Date.now() - cutAt;
    setLink(vm, 'up');
    await lab.until(() => /the failure (was|could not be) reported|the appliance had already ended the job/.test(vm.serial()) || !vm.running(), AGENT_GIVES_UP_MS, 'C\'s agent tried to report its failure', [vm]);
    const reportedAfter = Date.now() - cutAt;
    const timer = setTimeout(() => cli.kill('SIGTERM'), AGENT_GIVES_UP_MS);
    const code = await ended;
    clearTimeout(timer);
    const console = vm.serial();
    const timeline = `cut at ${new Date(cutAt).toISOString()}, the agent gave up after ${gaveUpAfter} ms (the link back then), its report done after ${reportedAfter} ms\n--- C's console after the cut ---\n${console.slice(-4000)}`;
    // the agent: it retried for the window it was given (lifeboat.retry), said so, then gave up
    assert.match(console, new RegExp(`lifeboat\\.retry=${RETRY_SECONDS}`), 'the boot parameters carry the daemon\'s agent.retrySeconds');
    assert.match(console, new RegExp(`retried for up to ${RETRY_SECONDS} s \\(lifeboat\\.retry\\)`));
    assert.match(console, new RegExp(`the appliance did not answer [A-Z]+ \\S+ \\([^\\n]*\\): retrying for up to ${RETRY_SECONDS} s`));
    assert.ok(gaveUpAfter >= RETRY_SECONDS * 1000 && gaveUpAfter < AGENT_GIVES_UP_MS, `gave up after the window: ${gaveUpAfter} ms`);
    assert.match(console, /lifeboat agent: FAILED at network: the appliance at \S+ did not answer/);
    // the appliance: failed with the agent's stage and advice (its report arrived after the link came back)
    assert.notEqual(code, 0, `a backup whose network stayed cut must fail\nstdout: ${out.stdout.slice(-1000)}\nstderr: ${out.stderr.slice(-1000)}\n${lab.diagnostics([vm])}`);
    const job = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Job;
    assert.equal(job.state, 'failed', out.stdout.slice(-1000));
    assert.match(job.error ?? '', /the agent on c failed at network: the appliance at .* did not answer .* nothing was committed and this disk was not changed: check the network cable and that the appliance is running; then start the backup again from the appliance/, `${job.error}\n${timeline}\n${lab.diagnostics([vm])}`);
    assert.match(console, /the failure was reported to the appliance/, timeline);
    t.diagnostic(`C's agent gave up ${(gaveUpAfter / 1000).toFixed(1)} s after the cut; its report was done ${(reportedAfter / 1000).toFixed(1)} s after it`);
    // nothing of it is left: no image, no staged frame, no chunk published
    assert.equal(job.imageId ?? null, null);
    const images = JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[];
    assert.ok(!images.some((i) => i.label === 'faults: long cut'), `no image of the failed backup: ${images.map((i) => i.label).join(', ')}`);
    assert.equal(countFiles(join(store, 'tmp'), /\.chunk$/), 0, 'the job\'s staged frames were discarded');
    assert.equal(countFiles(join(store, 'chunks'), /^[0-9a-f]{4}\/[0-9a-f]{64}$/), chunksBefore, 'no chunk of the failed backup was published');
    assert.ok(vm.running(), `C stays on its console after the failure (no reboot)\n${lab.diagnostics([vm])}`);
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});

test('4c. C\'s next backup, its network cut for less than the retry window: the agent resumes, the image commits and verifies, no frame arrived twice', { timeout: HELLO_MS + 300_000 }, async (t) => {
  const { cli, jobId, out, ended } = await startJob(['backup', '--machine', 'c', '--label', 'faults: short cut', '--wait', '--json'], 'c');
  const vm = lab.boot(specC);
  try {
    await lab.hello('c', vm, HELLO_MS);
    await lab.until(() => progressOf(jobId).some((p) => p.storedBytes > 0), HELLO_MS, 'frames of C\'s disk arrive', [vm]);
    const atCut = progressOf(jobId).at(-1);
    const consoleBefore = vm.serial().length;
    setLink(vm, 'down');
    await new Promise((r) => setTimeout(r, SHORT_CUT_MS));
    setLink(vm, 'up');
    const timer = setTimeout(() => cli.kill('SIGTERM'), 300_000);
    const code = await ended;
    clearTimeout(timer);
    assert.equal(code, 0, `the backup resumed after a short cut must succeed\nstderr: ${out.stderr.slice(-1500)}\n${lab.diagnostics([vm])}`);
    const job = JSON.parse(out.stdout.trim().split('\n').pop() as string) as Job;
    assert.equal(job.state, 'done');
    assert.ok(atCut && atCut.chunksDone < atCut.chunksTotal, `cut before the backup finished: ${JSON.stringify(atCut)}`);
    // the cut was felt and survived: connections dropped, retried, resumed
    const after = vm.serial().slice(consoleBefore);
    assert.match(after, /the appliance did not answer [A-Z]+ \S+ \([^\n]*\): retrying for up to \d+ s/, lab.diagnostics([vm]));
    assert.match(after, /the appliance answers again after \d+\.\d s/, lab.diagnostics([vm]));
    // no frame twice: every frame that arrived was new to the store, one per new chunk of the image
    const stats = (await lab.api.job(jobId)).stats ?? {};
    assert.ok((stats.chunksNew ?? 0) > 0, `C's frames were new to the store: ${JSON.stringify(stats)}`);
    assert.equal(stats.framesAlreadyStored, 0, `a frame arrived that the store already had: ${JSON.stringify(stats)}`);
    assert.equal(stats.framesReceived, stats.chunksNew, `frames received vs new chunks: ${JSON.stringify(stats)}`);
    t.diagnostic(`cut ${SHORT_CUT_MS / 1000} s at ${atCut.chunksDone}/${atCut.chunksTotal} chunks; ${stats.framesReceived} frames received for ${stats.chunksNew} new chunks, ${stats.framesAlreadyStored} already stored`);
    // the image is whole: the daemon's verify re-reads and checks every chunk
    const verify = JSON.parse(lab.cli(['images', 'verify', job.imageId as string, '--wait', '--json']).trim().split('\n').pop() as string) as Job;
    assert.equal(verify.state, 'done', JSON.stringify(verify));
    assert.equal(verify.stats?.problems ?? 0, 0);
    assert.ok((verify.stats?.chunksChecked ?? 0) > 0, JSON.stringify(verify.stats));
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});
