// Operator safety through the real daemon and CLI: a job's device is a whole disk that is
// not the appliance's own, or a disk-image file under the docked directory. A typo'd path,
// /etc/passwd, the system disk, a partition (a loop device over part of a disk), a mounted
// disk and symlinks out of the docked directory are refused with no job and no file created;
// whole loop devices and docked files are accepted; /v1/devices lists the system disk as such.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';

let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let docked: string;
const loops: string[] = [];
const mounts: string[] = [];
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const cli = (args: string[]) => lifeboat(args, { env: { LIFEBOAT_SOCKET: daemon.socket } });
const jobCount = () => (JSON.parse(cli(['jobs', 'list', '--json']).stdout) as unknown[]).length;

/** The disk holding / as the kernel's tools name it (findmnt, then lsblk for a partition's disk). */
function rootDisk(): string {
  const source = sh('findmnt -n -o SOURCE /').trim();
  const parent = sh(`lsblk -no PKNAME ${source}`).trim();
  return parent ? `/dev/${parent}` : source;
}

function loop(file: string, extra = ''): string {
  const dev = sh(`losetup -f --show ${extra} ${file}`).trim();
  loops.push(dev);
  return dev;
}

before(async () => {
  work = tempDir(`lifeboat-devpolicy-${process.pid}-`);
  docked = join(work.dir, 'docked');
  writeFileSync(join(work.dir, 'config.json'), JSON.stringify({ dockedDir: docked, scheduleTimerDir: null }));
  daemon = await startDaemon(work.dir, { config: join(work.dir, 'config.json') });
});

after(async () => {
  await daemon?.stop();
  for (const m of mounts) sh(`umount ${m}`);
  for (const l of loops.reverse()) sh(`losetup -d ${l}`);
  work.cleanup();
});

test('refused with what was wrong and what is allowed, no job and no file created: typo, /etc/passwd, system disk, partition, mounted disk, symlinks out of the docked directory', () => {
  sh(`head -c 3M /dev/urandom > ${docked}/good.img`);
  const backup = cli(['backup', '--device', join(docked, 'good.img'), '--wait', '--json']);
  assert.equal(backup.code, 0, `a docked disk-image file is accepted: ${backup.stderr}`);
  const image = lastJson<{ imageId: string }>(backup).imageId;
  assert.ok(image, backup.stdout);
  const jobsBefore = jobCount();

  const refused = (args: string[], why: RegExp) => {
    const r = cli([...args, '--wait']);
    assert.equal(r.code, 1, `${args.join(' ')} must be refused: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, why, args.join(' '));
    assert.match(r.stderr, /a job's device is a whole disk docked in the appliance .* or a disk-image file under /, 'says what is allowed');
  };
  const restore = (device: string) => ['restore', '--image', image, '--device', device, '--yes'];

  const typo = `/dev/sdz-typo-${process.pid}`;
  refused(restore(typo), new RegExp(`${typo} does not exist`));
  refused(['backup', '--device', typo], new RegExp(`${typo} does not exist`));
  assert.equal(existsSync(typo), false, 'no file created in /dev');

  const passwd = sha('/etc/passwd');
  refused(['backup', '--device', '/etc/passwd'], /\/etc\/passwd is a file outside .*docked/);
  refused(restore('/etc/passwd'), /\/etc\/passwd is a file outside .*docked/);
  assert.equal(sha('/etc/passwd'), passwd);

  const system = rootDisk();
  refused(['backup', '--device', system], new RegExp(`${system} is the appliance's own system disk \\(.* holds / \\(the root filesystem\\)`));
  refused(restore(system), /own system disk/);

  const disk = join(work.dir, 'disk.img');
  sh(`truncate -s 32M ${disk}`);
  const part = loop(disk, '-o 1048576 --sizelimit 16777216');
  refused(restore(part), new RegExp(`${part} is loop\\d+, a loop device over part of ${disk} \\(offset 1048576, size limit 16777216\\): a partition, not a whole disk`));
  refused(['backup', '--device', part], /a partition, not a whole disk/);

  const outside = join(work.dir, 'outside.img');
  sh(`head -c 1M /dev/zero > ${outside}`);
  const outsideSha = sha(outside);
  symlinkSync(outside, join(docked, 'escape.img'));
  refused(restore(join(docked, 'escape.img')), new RegExp(`escape\\.img is a file outside .* \\(it resolves to ${outside}\\)`));
  refused(['backup', '--device', join(docked, 'escape.img')], /resolves to/);
  symlinkSync(join(work.dir, 'created-outside.img'), join(docked, 'dangling.img'));
  refused(restore(join(docked, 'dangling.img')), /dangling\.img is a symlink to nothing/);
  symlinkSync(work.dir, join(docked, 'up'));
  refused(restore(join(docked, 'up', 'new.img')), /does not exist \(it resolves to .*new\.img\)/);
  assert.equal(sha(outside), outsideSha);
  assert.equal(existsSync(join(work.dir, 'created-outside.img')), false);
  assert.equal(existsSync(join(work.dir, 'new.img')), false);

  const fs = join(work.dir, 'fs.img');
  sh(`truncate -s 32M ${fs} && mkfs.ext4 -q -F ${fs}`);
  const mounted = loop(fs);
  const mnt = join(work.dir, 'mnt');
  sh(`mkdir -p ${mnt} && mount ${mounted} ${mnt}`);
  mounts.push(mnt);
  const r = cli([...restore(mounted), '--wait']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`${mounted} is mounted at ${mnt}: unmount it before restoring onto it`));

  assert.equal(jobCount(), jobsBefore, 'no job was created by any refusal');
});

test('accepted: a whole loop device (through a symlink, recorded by its kernel name) and a new file in the docked directory', () => {
  const img = join(work.dir, 'whole.img');
  sh(`truncate -s 8M ${img}`);
  const dev = loop(img);
  const alias = join(work.dir, 'by-id-alias');
  symlinkSync(dev, alias);
  const image = lastJson<{ imageId: string }>(cli(['backup', '--device', join(docked, 'good.img'), '--wait', '--json'])).imageId;
  const r = cli(['restore', '--image', image, '--device', alias, '--yes', '--wait', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(lastJson<{ devicePath: string; state: string }>(r).devicePath, dev, 'the job names the disk, not the alias');
  assert.equal(createHash('sha256').update(readFileSync(img).subarray(0, 3 << 20)).digest('hex'), sha(join(docked, 'good.img')));
  const fresh = join(docked, 'fresh.img');
  const f = cli(['restore', '--image', image, '--device', fresh, '--yes', '--wait']);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(sha(fresh), sha(join(docked, 'good.img')));
});

test('/v1/devices: the system disk is listed as the system disk, never a target; docked files are listed', async () => {
  const devices = await new ApiClient(daemon.socket).devices();
  const system = devices.find((d) => d.path === rootDisk());
  assert.ok(system, JSON.stringify(devices));
  assert.match(system.system ?? '', /\/ \(the root filesystem\)/);
  assert.equal(system.inUse, true);
  const file = devices.find((d) => d.path === join(docked, 'good.img'));
  assert.equal(file?.kind, 'file');
  assert.equal(file?.system, null);
  assert.equal(devices.some((d) => d.path.endsWith('escape.img')), false, 'a symlink out of the docked directory is not listed');
});
