// The lab's disks and their checkers, on this machine (no VM): disk A (GPT: ext4 + FAT32 +
// NTFS with files) is made, read back and checked; disk B (larger, another table and other
// files) is made; A is copied raw onto B (dd, then the backup GPT moved to B's end as a
// restore onto a larger disk does) and B must pass every check with every file equal to A's.
// Then B is damaged, one thing at a time, and the checkers must name exactly what broke: a
// file's bytes (fsck cannot see that; the file comparison must), then each filesystem.
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/cli.js';
import { type FileTree, checkDisk, compareDiskFiles, diffTrees, must, readDiskFiles, readLayout } from '../helpers/disk-check.js';
import { UTF8_NAME, contentsOfA, expectedTree, makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { withLoop } from '../helpers/system.js';

const work = tempDir('lifeboat-labdisks-');
const A = join(work.dir, 'a.img');
const B = join(work.dir, 'b.img');
const MiB = 1 << 20;

before(() => {
  makeDiskA(A);
  makeDiskB(B, { mib: 384 });
});
after(() => work.cleanup());

/** A copy of B with A written over it raw, its backup GPT moved to the end: what a good restore leaves. */
function restoredCopy(name: string): string {
  const disk = join(work.dir, name);
  copyFileSync(B, disk);
  must('dd', [`if=${A}`, `of=${disk}`, 'bs=4M', 'conv=notrunc', 'status=none']);
  must('sgdisk', ['-e', disk]);
  return disk;
}

/** Patches `bytes` at `at` inside partition `n` of `disk`, through a loop device. */
function patch(disk: string, n: number, at: (dev: string) => number, bytes: Buffer): void {
  const p = readLayout(disk).partitions.find((x) => x.number === n);
  assert.ok(p, `no partition ${n}`);
  withLoop(disk, { offset: p.start, size: p.size }, (dev) => {
    const where = at(dev);
    const fd = openSync(dev, 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, where);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** The first sector of `dev` (a filesystem's boot sector). */
function bootSector(dev: string): Buffer {
  const fd = openSync(dev, 'r');
  try {
    const b = Buffer.alloc(512);
    readSync(fd, b, 0, 512, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

test('disk A: GPT with ext4, FAT32 and NTFS, clean, and every file reads back as written (UTF-8 names, nesting, MiB of data)', () => {
  const layout = readLayout(A);
  assert.equal(layout.table, 'gpt');
  assert.deepEqual(layout.partitions.map((p) => [p.number, p.name, p.fs]), [[1, 'root', 'ext4'], [2, 'data', 'vfat'], [3, 'win', 'ntfs']]);
  assert.deepEqual(checkDisk(A), []);
  const files = readDiskFiles(A);
  const c = contentsOfA(1);
  const root = expectedTree(c.root);
  root.set('/home/notes-link', { kind: 'symlink', target: 'lab/notes.txt' });
  root.set('/lost+found', { kind: 'dir' });
  const expected: Record<number, FileTree> = { 1: root, 2: expectedTree(c.data), 3: expectedTree(c.win) };
  for (const n of [1, 2, 3]) assert.deepEqual(diffTrees(expected[n] as FileTree, files.get(n)?.tree ?? new Map(), `partition ${n} `), [], `partition ${n} reads back as written`);
  assert.ok(files.get(2)?.tree.has(`/Documents/${UTF8_NAME}`), 'the FAT long UTF-8 name');
  assert.ok(files.get(3)?.tree.has(`/Users/Lab/Documents/${UTF8_NAME}`), 'the NTFS UTF-8 name');
});

test('disk B: larger, an MBR with other filesystems and other files; the comparison with A names what differs', () => {
  const layout = readLayout(B);
  assert.equal(layout.table, 'dos');
  assert.deepEqual(layout.partitions.map((p) => p.fs), ['ext4', 'vfat']);
  assert.deepEqual(checkDisk(B), []);
  const diff = compareDiskFiles(A, B);
  assert.ok(diff.includes('partition 3 (ntfs): not on ' + B), diff.join('\n'));
  assert.ok(diff.some((d) => d.startsWith('partition 1 (ext4) /var/lib/random-4m.bin: only in the first')), diff.join('\n'));
  assert.ok(diff.some((d) => d.startsWith('partition 2 (vfat) /OLD/BACKUP.BIN: only in the second')), diff.join('\n'));
});

test('A copied raw onto the larger B: every check passes and every file equals A\'s', () => {
  const disk = restoredCopy('good.img');
  assert.deepEqual(checkDisk(disk), []);
  assert.deepEqual(compareDiskFiles(A, disk), []);
  // without moving the backup GPT to the end, sgdisk -v objects (it exits 0: the checker reads its words)
  const raw = join(work.dir, 'raw.img');
  copyFileSync(B, raw);
  must('dd', [`if=${A}`, `of=${raw}`, 'bs=4M', 'conv=notrunc', 'status=none']);
  const problems = checkDisk(raw);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0] as string, /^partition table: sgdisk -v: .*secondary header/);
});

test('damaged file bytes (invisible to fsck): the comparison names that one file and nothing else', () => {
  const disk = restoredCopy('bytes.img');
  // the 100th block of the 4 MiB file, found by debugfs, overwritten in place
  patch(disk, 1, (dev) => {
    const block = Number(/(\d+)/.exec(must('debugfs', ['-R', 'bmap /var/lib/random-4m.bin 100', dev]).split('\n').find((l) => /^\d+$/.test(l.trim())) ?? '')?.[1]);
    const size = Number(/Block size:\s+(\d+)/.exec(must('dumpe2fs', ['-h', dev]))?.[1]);
    assert.ok(block > 0 && size > 0, 'debugfs found the block');
    return block * size + 17;
  }, Buffer.from('LIFEBOAT-DAMAGE'));
  assert.deepEqual(checkDisk(disk), [], 'the filesystems are still consistent');
  const diff = compareDiskFiles(A, disk);
  assert.equal(diff.length, 1, diff.join('\n'));
  assert.match(diff[0] as string, /^partition 1 \(ext4\) \/var\/lib\/random-4m\.bin: differs: file of 4194304 bytes, sha256 [0-9a-f]{16}… vs file of 4194304 bytes, sha256 [0-9a-f]{16}…$/);
});

test('a damaged filesystem, each kind: the check names the partition and its tool', () => {
  const disk = restoredCopy('fs.img');
  // ext4: an inode cleared under a directory entry
  withLoop(disk, { offset: 2048 * 512, size: 112 * MiB }, (dev) => must('debugfs', ['-w', '-R', 'clri /home/lab/notes.txt', dev]));
  // FAT32: a free cluster marked used in the first FAT only (the copies differ, a chain is lost)
  patch(disk, 2, (dev) => {
    const bs = bootSector(dev);
    return bs.readUInt16LE(14) * bs.readUInt16LE(11) + 4 * 3000;
  }, Buffer.from([0xff, 0xff, 0xff, 0x0f]));
  // NTFS: the first record of $MFTMirr overwritten
  patch(disk, 3, (dev) => {
    const bs = bootSector(dev);
    return Number(bs.readBigUInt64LE(0x38)) * bs.readUInt16LE(11) * (bs[13] as number);
  }, Buffer.alloc(1024, 0xad));
  const problems = checkDisk(disk);
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0] as string, /^partition 1 'root' \(ext4\): e2fsck -fn exited 4: /);
  assert.match(problems[1] as string, /^partition 2 'data' \(vfat\): fsck\.vfat -n exited 1: /);
  assert.match(problems[2] as string, /^partition 3 'win' \(ntfs\): ntfsfix -n exited 1: /);
});
