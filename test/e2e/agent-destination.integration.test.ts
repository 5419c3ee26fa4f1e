// Backup destinations in the QEMU lab (issue 15, claim 9): VM A (SeaBIOS + iPXE) boots the
// real boot OS with its disk A (virtio, GPT: ext4 'root' + FAT32 + NTFS) and a second virtio
// disk holding an ext4 filesystem labelled LBUSB (a file made by mkfs.ext4 -L).
//   `lifeboat backup --machine a --to disk:LABEL=LBUSB --wait` → the agent (in the boot OS:
//   busybox mount, the kernel's ext4 module) backs A's disk up into LBUSB's lifeboat-store;
//   the job is done and the image recorded with location client-disk. After the VM stops the
//   test mounts that disk's file on the host: `lifeboat image verify --store` passes and a
//   restore from it equals disk A (sgdisk -v, e2fsck, fsck.vfat, ntfsfix; every file). Docked
//   in the appliance, `lifeboat images import` brings it in: its location becomes appliance.
//   Refusals: a label no disk has; the label of a filesystem on the disk being backed up
//   (`--disk <A's serial> --to disk:LABEL=root`) → the job fails with why, nothing written.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageRecord, Job } from '../../src/api/wire.js';
import { lifeboat, sh, tempDir } from '../helpers/cli.js';
import { checkDisk, compareDiskFiles } from '../helpers/disk-check.js';
import { makeDiskA } from '../helpers/lab-disks.js';
import { type Vm, type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const JOB_MS = 600_000;
const HELLO_MS = 600_000;
const work = tempDir('lifeboat-destlab-');
const diskA = join(work.dir, 'a.img');
const usb = join(work.dir, 'usb.img');
const serialA = `LAB-A-${process.pid}`;
const specA: VmSpec = { name: 'a', mac: '52:54:00:1a:02:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: diskA, bus: 'virtio', serial: serialA }, extraDisks: [{ file: usb, serial: `USB-${process.pid}` }] };
let lab: VmLab;
let image = '';
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

before(async () => {
  prepareBootOs(join(work.dir, 'data'));
  makeDiskA(diskA);
  sh(`truncate -s 320M ${usb} && mkfs.ext4 -q -F -L LBUSB ${usb}`);
  lab = await VmLab.start(work.dir, { agent: { silenceMinutes: 1 } });
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac]);
});

after(async () => {
  await lab?.stop();
  spawnUmount(join(work.dir, 'mnt'));
  spawnUmount(join(work.dir, 'usb'));
  work.cleanup();
});

function spawnUmount(at: string): void {
  try {
    sh(`mountpoint -q ${at} && umount ${at} || true`);
  } catch {
    // not mounted
  }
}

/** `lifeboat <args> --wait --json` for machine A; boots A once the job waits; resolves when the command and the VM end. */
async function jobWithBoot(args: string[]): Promise<{ code: number | null; job: Job | null; out: string; vm: Vm }> {
  const cli: ChildProcess = lab.cliSpawn(args);
  let stdout = '';
  let out = '';
  cli.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    out += d.toString();
  });
  cli.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  await lab.until(async () => (await lab.api.jobs({ state: ['waiting-for-boot'] })).some((x) => x.machineName === 'a'), 30_000, 'the job for a waits for its boot', []);
  const vm = lab.boot(specA);
  const timer = setTimeout(() => cli.kill('SIGTERM'), HELLO_MS + JOB_MS);
  const code = await ended;
  clearTimeout(timer);
  // the agent ends its boot (reboot after success; after a failure it waits: the test stops it)
  await lab.until(() => !vm.running(), code === 0 ? 120_000 : 1, 'a ended its boot', [vm]).catch(() => {});
  await vm.kill();
  let job: Job | null = null;
  try {
    job = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Job;
  } catch {
    job = null;
  }
  return { code, job, out, vm };
}

/**
 * Mounts the usb disk's file at `at` for `fn`, always unmounting (once the kernel let go of an
 * earlier loop device on it). `inDaemon`: in the daemon's mount namespace (`ip netns exec`
 * gave it its own, which mounts made here may not reach): the disk docked in the appliance.
 */
async function withUsb<T>(at: string, fn: () => T, inDaemon = false): Promise<T> {
  for (let t = 0; t < 100 && sh(`losetup -j ${usb}`).trim() !== ''; t++) await new Promise((r) => setTimeout(r, 100));
  mkdirSync(at, { recursive: true });
  const ns = inDaemon ? `nsenter --mount=/proc/${lab.daemon.child.pid}/ns/mnt ` : '';
  sh(`${ns}mount -t ext4 -o loop ${usb} ${at}`);
  try {
    return fn();
  } finally {
    sh(`${ns}umount ${at}`);
  }
}

test('backup --to disk:LABEL=LBUSB in the boot OS: the image is on the second disk, verifies there, restores to disk A', { timeout: HELLO_MS + JOB_MS + 300_000 }, async (t) => {
  const r = await jobWithBoot(['backup', '--machine', 'a', '--to', 'disk:LABEL=LBUSB', '--label', 'to usb', '--wait', '--json']);
  assert.equal(r.code, 0, `the backup failed: ${r.out.slice(-1500)}\n${lab.diagnostics([r.vm])}`);
  assert.equal(r.job?.state, 'done');
  const running = r.job?.history?.find((h) => h.state === 'running')?.at;
  if (running && r.job?.finishedAt) t.diagnostic(`backup of A's 256 MiB disk into the client disk: ${((Date.parse(r.job.finishedAt) - Date.parse(running)) / 1000).toFixed(1)} s from running to done (mount, engine, sync, unmount, report)`);
  image = r.job?.imageId ?? '';
  assert.ok(image);
  assert.match(r.vm.serial(), /mounting vdb \(ext4, LABEL=LBUSB\)/);
  const rec = (JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).find((i) => i.id === image);
  assert.equal(rec?.location, 'client-disk LABEL=LBUSB');
  assert.equal(rec?.diskSerial, serialA);
  assert.equal(rec?.diskSize, 256 << 20);

  const mnt = join(work.dir, 'mnt');
  const restored = join(work.dir, 'restored.img');
  await withUsb(mnt, () => {
    const v = lifeboat(['image', 'verify', '--store', join(mnt, 'lifeboat-store'), image]);
    assert.equal(v.code, 0, v.stderr + v.stdout);
    const rs = lifeboat(['image', 'restore', '--store', join(mnt, 'lifeboat-store'), image, restored, '--yes']);
    assert.equal(rs.code, 0, rs.stderr + rs.stdout);
  });
  assert.deepEqual(checkDisk(restored), []);
  assert.deepEqual(compareDiskFiles(diskA, restored), []);
});

test('refused in the boot OS: a label no disk has; a filesystem of the disk being backed up — nothing written', { timeout: 2 * (HELLO_MS + JOB_MS) + 120_000 }, async () => {
  const [usbBefore, aBefore] = [sha(usb), sha(diskA)];
  const none = await jobWithBoot(['backup', '--machine', 'a', '--to', 'disk:LABEL=NOPE', '--wait', '--json']);
  assert.notEqual(none.code, 0);
  assert.equal(none.job?.state, 'failed', none.out.slice(-1500));
  assert.match(none.job?.error ?? '', /no filesystem with LABEL=NOPE on this machine's disks .*vdb \(ext4 "LBUSB"\)/);
  const self = await jobWithBoot(['backup', '--machine', 'a', '--disk', serialA, '--to', 'disk:LABEL=root', '--wait', '--json']);
  assert.notEqual(self.code, 0);
  assert.equal(self.job?.state, 'failed', self.out.slice(-1500));
  assert.match(self.job?.error ?? '', /LABEL=root is on vda1, on disk vda, the disk being backed up/);
  assert.equal(sha(usb), usbBefore, 'the usb disk is unchanged');
  assert.equal(sha(diskA), aBefore, 'disk A is unchanged');
});

test('images import from the usb disk docked in the appliance: checked, brought in, location appliance', { timeout: 300_000 }, async () => {
  assert.ok(image, 'the first test made an image');
  const docked = join(work.dir, 'usb'); // the lab's docked directory is its work directory
  const out = await withUsb(docked, () => lab.cli(['images', 'import', image, '--from', join(docked, 'lifeboat-store')]), true);
  assert.match(out, new RegExp(`image ${image} imported into the appliance's store: \\d+ chunk\\(s\\) copied`));
  const rec = (JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).find((i) => i.id === image);
  assert.ok(rec);
  assert.equal(rec.location, undefined);
  lab.cli(['images', 'verify', image, '--wait']);
});
