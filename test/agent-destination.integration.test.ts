// Backup destinations (issue 15, claim 9) with the real agent against the real daemon on the
// host (as test/agent-daemon.integration.test.ts): machine A has its disk (vda: GPT + ext4)
// and a second disk (vdb) holding an ext4 filesystem labelled LBUSB. `--to disk:LABEL=LBUSB`
// → the agent mounts vdb (the host's mount, a loop device util-linux sets up for the file),
// backs vda up into vdb's lifeboat-store, unmounts, reports: the job is done and the image
// recorded with location client-disk. Then, on the host: `lifeboat image verify --store`
// passes on that store, a restore from it equals A's disk, a second backup there is
// incremental; `lifeboat images import` brings it in (location: appliance; the daemon's
// verify job passes). Refusals: a label no disk has, the label of the disk being backed up:
// the job fails with the reason, nothing is written to vdb.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runAgent } from '../src/agent/agent.js';
import { ApiClient } from '../src/api/client.js';
import type { Job } from '../src/api/wire.js';
import { ImageStore } from '../src/imaging/repo/image-store.js';
import { checkDisk, machineRoot, makeDisk } from './helpers/agent-machine.js';
import { lifeboat, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';
import { freePort } from './helpers/ports.js';

const MAC = '52:54:00:a9:20:01';
const work = tempDir('lifeboat-agent-dest-');
const files = { 'big.bin': randomBytes(5 << 20), 'notes.txt': Buffer.from('machine a, to the usb disk\n'.repeat(3000)) };
let daemon: TestDaemon;
let api: ApiClient;
let base = '';
let diskA = '';
let usb = '';
let first = '';
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function bootParams(): Promise<string> {
  const script = await (await fetch(`${base}/boot/ipxe?mac=${MAC}&platform=pcbios`)).text();
  const params = script.match(/lifeboat\.\S+/g) ?? [];
  assert.ok(params.some((p) => p.startsWith('lifeboat.token=')), `the daemon gives ${MAC} a job`);
  return params.join(' ');
}

/** Machine A boots with disks vda (`source`) and vdb (the usb file) and its agent runs the job. */
async function boot(source = diskA): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const paths: Record<string, string> = { vda: source, vdb: usb };
  const root = machineRoot(work.dir, await bootParams(), [
    { name: 'vda', serial: 'SN-A1', sizeBytes: statSync(source).size },
    { name: 'vdb', serial: 'USB-1', sizeBytes: statSync(usb).size },
  ]);
  await loopReleased();
  const code = await runAgent({ root, log: (l) => lines.push(l), retryForMs: 5000, devicePath: (name) => paths[name] as string, workers: 2 });
  await loopReleased();
  return { code, text: lines.join('\n') };
}

/**
 * The kernel lets go of an unmounted file's loop device a moment after umount returns; until
 * then mount(8) refuses the file as already mounted. Waits for that (the agent in these tests
 * and withUsb both mount the file through a loop device).
 */
async function loopReleased(): Promise<void> {
  for (let t = 0; t < 100 && sh(`losetup -j ${usb}`).trim() !== ''; t++) await new Promise((r) => setTimeout(r, 100));
}

/** Mounts the usb file at `at` for `fn` (read-only unless asked), always unmounting. */
function withUsb<T>(at: string, fn: () => T, rw = false): T {
  mkdirSync(at, { recursive: true });
  sh(`mount -t ext4 -o ${rw ? 'rw' : 'ro'},loop ${usb} ${at}`);
  try {
    return fn();
  } finally {
    sh(`umount ${at}`);
  }
}

before(async () => {
  const store = join(work.dir, 'store');
  await ImageStore.open(store, { create: true, chunkSize: 1 << 20 });
  mkdirSync(join(work.dir, 'boot'), { recursive: true });
  mkdirSync(join(work.dir, 'docked'), { recursive: true });
  const config = join(work.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ dockedDir: join(work.dir, 'docked'), store }));
  const [http, tftp, agentPort] = [await freePort('tcp'), await freePort('udp'), await freePort('tcp')];
  daemon = await startDaemon(work.dir, { config, args: ['--interface', 'lo', '--http-port', String(http), '--tftp-port', String(tftp), '--agent-port', String(agentPort), '--boot-root', join(work.dir, 'boot')] });
  api = new ApiClient(daemon.socket);
  base = `http://127.0.0.1:${http}`;
  await api.addMachine({ name: 'desk-a', macs: [MAC] });
  diskA = makeDisk(work.dir, 'a', files);
  usb = join(work.dir, 'usb.img');
  sh(`truncate -s 96M ${usb} && mkfs.ext4 -q -F -L LBUSB ${usb}`);
});

after(async () => {
  await daemon?.stop();
  work.cleanup();
});

const cli = (args: string[]) => lifeboat([...args, '--socket', daemon.socket]);

test('backup --to disk:LABEL=LBUSB: the image is on the usb disk, recorded with its location; it verifies there and restores to A\'s disk', async () => {
  const job = await api.createJob({ type: 'backup', machine: 'desk-a', label: 'to usb', destination: 'disk:LABEL=LBUSB' });
  assert.deepEqual(job.options?.destination, { kind: 'client-disk', label: 'LBUSB' });
  const r = await boot();
  assert.equal(r.code, 0, `${r.text}\n${daemon.log().slice(-2000)}`);
  assert.match(r.text, /the image goes to client disk LABEL=LBUSB/);
  assert.match(r.text, /mounting vdb \(ext4, LABEL=LBUSB\)/);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  first = done.imageId ?? '';
  assert.ok(first);
  const image = (await api.images()).find((i) => i.id === first);
  assert.equal(image?.location, 'client-disk LABEL=LBUSB');
  assert.equal(image?.diskSerial, 'SN-A1');
  assert.equal(image?.host, 'desk-a');
  assert.equal(image?.label, 'to usb');
  assert.equal(image?.machineId, (await api.machine('desk-a')).id);
  assert.match(cli(['images', 'list']).stdout, new RegExp(`${first} .*client-disk LABEL=LBUSB`));
  assert.match(cli(['images', 'show', first]).stdout, /location +client-disk LABEL=LBUSB \(not in the appliance's store/);
  assert.deepEqual(await (await ImageStore.open(join(work.dir, 'store'))).imageIds(), [], 'nothing in the appliance\'s store');

  // the appliance cannot restore or verify what it does not hold: it says how to bring it in
  for (const body of [{ type: 'restore' as const, image: first, machine: 'desk-a', confirm: true as const }, { type: 'verify' as const, image: first }]) {
    await assert.rejects(api.createJob(body), /is on client-disk LABEL=LBUSB, not in the appliance's store: bring it in first with `lifeboat images import/);
  }

  const mnt = join(work.dir, 'mnt');
  const restored = join(work.dir, 'restored.img');
  await loopReleased();
  withUsb(mnt, () => {
    const v = lifeboat(['image', 'verify', '--store', join(mnt, 'lifeboat-store'), first]);
    assert.equal(v.code, 0, v.stderr + v.stdout);
    const m = JSON.parse(readFileSync(join(mnt, 'lifeboat-store/images', first, 'manifest.json'), 'utf8')) as { source: { serial?: string }; host: string; parent: string | null };
    assert.equal(m.source.serial, 'SN-A1');
    assert.equal(m.parent, null);
    const rs = lifeboat(['image', 'restore', '--store', join(mnt, 'lifeboat-store'), first, restored, '--yes']);
    assert.equal(rs.code, 0, rs.stderr + rs.stdout);
  });
  checkDisk(restored, files, work.dir);
});

test('a second backup to the same disk is incremental against the first in that store', async () => {
  assert.ok(first);
  const job = await api.createJob({ type: 'backup', machine: 'desk-a', destination: 'disk:LABEL=LBUSB' });
  const r = await boot();
  assert.equal(r.code, 0, `${r.text}\n${daemon.log().slice(-2000)}`);
  const done = await api.job(job.id);
  assert.equal(done.state, 'done', JSON.stringify(done));
  const image = (await api.images()).find((i) => i.id === done.imageId);
  assert.equal(image?.parent, first);
  assert.equal(image?.bytesNew, 0, JSON.stringify(image));
  assert.ok((done.stats?.bytesReused ?? 0) >= 5 << 20, JSON.stringify(done.stats));
});

test('refused: a label no disk has, and the label of the disk being backed up — the job fails with why, the usb disk is untouched', async () => {
  const before = sha(usb);
  const missing = await api.createJob({ type: 'backup', machine: 'desk-a', destination: 'disk:LABEL=NOPE' });
  const r1 = await boot();
  assert.notEqual(r1.code, 0);
  const j1 = (await api.job(missing.id)) as Job;
  assert.equal(j1.state, 'failed');
  assert.match(j1.error ?? '', /no filesystem with LABEL=NOPE on this machine's disks .*vdb \(ext4 "LBUSB"\).*attach the disk/);

  // the disk being backed up (named by its serial) is itself a labelled ext4 filesystem
  const src = join(work.dir, 'src.img');
  sh(`truncate -s 32M ${src} && mkfs.ext4 -q -F -L SRCDISK ${src}`);
  const srcBefore = sha(src);
  const self = await api.createJob({ type: 'backup', machine: 'desk-a', disk: 'SN-A1', destination: 'disk:LABEL=SRCDISK' });
  const r2 = await boot(src);
  assert.notEqual(r2.code, 0);
  const j2 = (await api.job(self.id)) as Job;
  assert.equal(j2.state, 'failed');
  assert.match(j2.error ?? '', /LABEL=SRCDISK is on vda, on disk vda, the disk being backed up: an image cannot be stored on the disk it images/);
  assert.equal(sha(usb), before, 'nothing was written to the usb disk');
  assert.equal(sha(src), srcBefore, 'nor to the source disk');
  assert.ok(!(await api.images()).some((i) => i.id === j1.imageId || i.id === j2.imageId) && !j1.imageId && !j2.imageId, 'no image recorded');
});

test('images import: the usb disk docked in the appliance, the image checked and brought in; its location becomes the appliance', async () => {
  assert.ok(first);
  const docked = join(work.dir, 'docked', 'usb');
  await loopReleased();
  const out = withUsb(docked, () => cli(['images', 'import', first, '--from', join(docked, 'lifeboat-store')]));
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(out.stdout, new RegExp(`image ${first} imported into the appliance's store: \\d+ chunk\\(s\\) copied`));
  const image = (await api.images()).find((i) => i.id === first);
  assert.ok(image);
  assert.equal(image.location, undefined, JSON.stringify(image));
  assert.equal(image.machineId, (await api.machine('desk-a')).id, 'still the machine\'s image');
  const verify = cli(['images', 'verify', first, '--wait']);
  assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  // outside the docked directory: refused
  const outside = cli(['images', 'import', first, '--from', join(work.dir, 'mnt')]);
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /already in the appliance|not under the docked directory/);
});
