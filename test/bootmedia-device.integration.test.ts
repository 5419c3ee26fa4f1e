// `lifeboat bootmedia --out /dev/…` on real block devices (loop devices): a whole disk is
// written after a typed confirmation (or --yes) that names what is overwritten, then read
// back; the system disk, a partition and a mounted disk are refused before a byte is
// written, and without a terminal and without --yes nothing is written either.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, sh, tempDir } from './helpers/cli.js';
import { type LoopDevice, attachLoop } from './helpers/system.js';

const work = tempDir(`lifeboat-medium-dev-${process.pid}-`);
const dataDir = join(work.dir, 'data');
const efiDir = join(work.dir, 'efi');
const loops: LoopDevice[] = [];
const cleanups: Array<() => void> = [];
const TOKEN = 'T'.repeat(43);

const bootmedia = (out: string, extra: string[] = [], input = '') =>
  spawnSync(process.execPath, [CLI, 'bootmedia', '--out', out, '--server', 'http://10.0.0.1:8080', '--token', TOKEN, '--data-dir', dataDir, '--efi', efiDir, ...extra], { encoding: 'utf8', input, timeout: 120_000 });

/** The first `n` bytes of a device (after flushing its buffers: what is on the disk). */
function head(dev: string, n: number, at = 0): Buffer {
  sh(`blockdev --flushbufs ${dev}`);
  const fd = openSync(dev, 'r');
  try {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, at);
    return buf;
  } finally {
    closeSync(fd);
  }
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function rootDisk(): string {
  const source = sh('findmnt -n -o SOURCE /').trim();
  const parent = sh(`lsblk -no PKNAME ${source}`).trim();
  return parent ? `/dev/${parent}` : source;
}

/** A 64 MiB disk-image file with a GPT and one partition, on a loop device. */
function usbStick(name: string): { dev: string; file: string } {
  const file = join(work.dir, name);
  sh(`truncate -s 64M ${file} && printf 'label: gpt\\nstart=2048, size=40960, type=linux, name="PHOTOS"\\n' | sfdisk -q ${file}`);
  sh(`dd if=/dev/urandom of=${file} bs=1M seek=63 count=1 conv=notrunc status=none`); // something at the end, where a stale backup GPT would be
  const loop = attachLoop(file);
  loops.push(loop);
  return { dev: loop.dev, file };
}

before(() => {
  mkdirSync(join(dataDir, 'boot/lifeboat'), { recursive: true });
  writeFileSync(join(dataDir, 'boot/lifeboat/vmlinuz'), Buffer.alloc(300_000, 7));
  writeFileSync(join(dataDir, 'boot/lifeboat/initrd.img'), Buffer.alloc(500_000, 9));
  mkdirSync(efiDir);
  const files: Record<string, string> = {};
  for (const name of ['shimx64.efi', 'gcdx64.efi']) {
    const data = Buffer.alloc(200_000, name.length);
    writeFileSync(join(efiDir, name), data);
    files[name] = sha(data);
  }
  writeFileSync(join(efiDir, 'manifest.json'), JSON.stringify({ files }));
});

after(() => {
  for (const c of cleanups.reverse()) c();
  for (const l of loops) l.detach();
  work.cleanup();
});

test('a whole disk: refused without a terminal and --yes, written with --yes, read back, its stale end cleared', () => {
  const stick = usbStick('stick.img');
  const before = sha(head(stick.dev, 64 << 20));
  const noYes = bootmedia(stick.dev);
  assert.equal(noYes.status, 2, noYes.stderr);
  assert.match(noYes.stderr, new RegExp(`overwrites ${stick.dev} \\(unknown model, serial unknown, 64\\.0 MiB, 1 partition\\(s\\)\\): add --yes`));
  assert.equal(sha(head(stick.dev, 64 << 20)), before, 'nothing written');

  const r = bootmedia(stick.dev, ['--yes']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`boot medium ${stick.dev}: .*, sha256 [0-9a-f]{64}, read back and compared`));
  const disk = head(stick.dev, 64 << 20);
  assert.equal(disk.subarray(0x8001, 0x8006).toString('latin1'), 'CD001', 'an ISO 9660 volume at the start');
  assert.equal(disk.readUInt16LE(510), 0xaa55, 'the isohybrid MBR (boots from USB)');
  assert.ok(disk.toString('latin1').includes(TOKEN), 'the parameters are on it');
  assert.ok(disk.subarray(63 << 20).equals(Buffer.alloc(1 << 20)), 'the last MiB (a stale backup GPT) is cleared');
});

test('the typed confirmation names the disk and its partitions; anything but "yes" writes nothing', () => {
  const stick = usbStick('stick2.img');
  const before = sha(head(stick.dev, 64 << 20));
  // A terminal for the CLI (script(1) gives it a pty): the question, then an answer.
  const ask = (answer: string) => spawnSync('script', ['-qec', `${process.execPath} ${CLI} bootmedia --out ${stick.dev} --server http://10.0.0.1:8080 --token ${TOKEN} --data-dir ${dataDir} --efi ${efiDir}`, '/dev/null'], { encoding: 'utf8', input: `${answer}\n`, timeout: 120_000 });
  const no = ask('no');
  assert.notEqual(no.status, 0);
  assert.match(no.stdout, new RegExp(`Write the boot medium \\(.*\\) onto ${stick.dev}: unknown model, serial unknown, 64\\.0 MiB\\.`));
  assert.match(no.stdout, new RegExp(`${stick.dev}p1 +20\\.0 MiB`), 'its partition is listed');
  assert.match(no.stdout, /Type "yes" to continue/);
  assert.match(no.stdout, /nothing was written to .*: not confirmed/);
  assert.equal(sha(head(stick.dev, 64 << 20)), before, 'nothing written');
  const yes = ask('yes');
  assert.equal(yes.status, 0, yes.stdout);
  assert.equal(head(stick.dev, 6, 0x8001).toString('latin1').slice(0, 5), 'CD001');
});

test('refused before a byte is written: the system disk, a partition, a mounted disk', () => {
  const system = rootDisk();
  const sys = bootmedia(system, ['--yes']);
  assert.equal(sys.status, 1);
  assert.match(sys.stderr, new RegExp(`${system} is the appliance's own disk \\(.*holds / \\(the root filesystem\\).*\\): a boot medium never goes there`));

  const stick = usbStick('parted.img');
  const part = attachLoop(stick.file, { offset: 2048 * 512, size: 40960 * 512 });
  loops.push(part);
  const before = sha(head(part.dev, 20 << 20));
  const p = bootmedia(part.dev, ['--yes']);
  assert.equal(p.status, 1);
  assert.match(p.stderr, new RegExp(`${part.dev} is ${part.dev.slice(5)}, a loop device over part of .*parted\\.img: a partition, not a whole disk`));
  assert.equal(sha(head(part.dev, 20 << 20)), before);

  const fsFile = join(work.dir, 'mounted.img');
  sh(`truncate -s 64M ${fsFile} && mkfs.ext4 -q -F ${fsFile}`);
  const mounted = attachLoop(fsFile);
  loops.push(mounted);
  const mnt = join(work.dir, 'mnt');
  sh(`mkdir -p ${mnt} && mount ${mounted.dev} ${mnt}`);
  cleanups.push(() => spawnSync('umount', [mnt]));
  const m = bootmedia(mounted.dev, ['--yes']);
  assert.equal(m.status, 1);
  assert.match(m.stderr, new RegExp(`${mounted.dev} is mounted at ${mnt}: unmount it before writing a boot medium onto it`));
  assert.ok(head(mounted.dev, 2, 0x438).equals(Buffer.from([0x53, 0xef])), 'its ext4 superblock is untouched');
});
