// The lab's disks, as raw files (root: loop devices and FUSE).
//   Disk A: GPT with ext4 'root', FAT32 'data' and NTFS 'win', each holding text files, a few
//   MiB of pseudo-random data, a nested directory and a file with a UTF-8 name (made with
//   sgdisk, mkfs.ext4 -d, mkfs.vfat + mtools, mkntfs + ntfs-3g).
//   Disk B: a larger disk that held other data: an MBR table with an ext4 and a FAT32
//   partition full of files of its own, so a restore must replace all of it.
// The contents are deterministic (seeded pseudo-random bytes), so every run builds the same files.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UTF8_ENV, must, treeOf } from './disk-check.js';
import { noise } from './fixtures.js';
import { unmount, withLoop } from './system.js';

const MiB = 1 << 20;

/** A UTF-8 name on every filesystem (FAT keeps it as a long name in UTF-16). */
export const UTF8_NAME = 'résumé – Ünïcödé 日本語.txt';

/** Relative path → contents: what one filesystem of the lab disk holds. */
export type Contents = Record<string, string | Buffer>;

export function contentsOfA(seed: number): Record<'root' | 'data' | 'win', Contents> {
  return {
    root: {
      'etc/hostname': 'lab-a\n',
      'etc/motd': 'Lifeboat lab machine A: ext4 root\n'.repeat(40),
      'home/lab/notes.txt': 'back me up, restore me elsewhere\n',
      [`home/lab/${UTF8_NAME}`]: 'ext4 keeps names as bytes: UTF-8 here\n',
      'home/lab/projects/deep/nested/tree/leaf.txt': 'five directories down\n',
      'var/lib/random-4m.bin': noise(4 * MiB, seed + 1),
    },
    data: {
      'README.TXT': 'FAT32 partition of lab machine A\r\n',
      [`Documents/${UTF8_NAME}`]: 'a long FAT name, UTF-16 on disk\r\n',
      'Photos/2026/12/random-3m.raw': noise(3 * MiB, seed + 2),
      'Photos/2026/12/small.txt': 'x'.repeat(5000),
    },
    win: {
      'Windows/System32/drivers/etc/hosts': '127.0.0.1 localhost\r\n',
      [`Users/Lab/Documents/${UTF8_NAME}`]: 'NTFS keeps names as UTF-16\r\n',
      'Users/Lab/Documents/report.txt': 'quarterly numbers\r\n'.repeat(300),
      'Users/Lab/AppData/random-3m.bin': noise(3 * MiB, seed + 3),
    },
  };
}

/** Writes `contents` under `dir` (made). */
export function writeTree(dir: string, contents: Contents): void {
  for (const [rel, data] of Object.entries(contents)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
}

interface Part {
  start: number;
  size: number;
}

/** Partitions of `disk` as (start, size) in bytes, by sgdisk -i. */
function gptParts(disk: string, count: number): Part[] {
  const parts: Part[] = [];
  for (let n = 1; n <= count; n++) {
    const info = must('sgdisk', ['-i', String(n), disk]);
    const first = Number(/First sector: (\d+)/.exec(info)?.[1]);
    const sectors = Number(/Partition size: (\d+) sectors/.exec(info)?.[1]);
    if (!(first > 0 && sectors > 0)) throw new Error(`sgdisk -i ${n} ${disk}: no partition ${n}: ${info}`);
    parts.push({ start: first * 512, size: sectors * 512 });
  }
  return parts;
}

function ext4Into(disk: string, part: Part, label: string, contents: Contents, extra?: (dir: string) => void): void {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-labdisk-'));
  try {
    const files = join(scratch, 'files');
    writeTree(files, contents);
    extra?.(files);
    const fsFile = join(scratch, 'fs.ext4');
    writeFileSync(fsFile, '');
    truncateSync(fsFile, part.size);
    must('mkfs.ext4', ['-q', '-F', '-L', label, '-E', 'root_owner=0:0', '-d', files, fsFile]);
    must('dd', [`if=${fsFile}`, `of=${disk}`, 'bs=1M', `seek=${part.start}`, 'oflag=seek_bytes', 'conv=notrunc,fsync', 'status=none']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function vfatInto(disk: string, part: Part, label: string, contents: Contents): void {
  withLoop(disk, { offset: part.start, size: part.size }, (dev) => {
    must('mkfs.vfat', ['-F', '32', '-n', label, dev]);
    const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-labdisk-'));
    try {
      writeTree(scratch, contents);
      for (const top of Object.keys(contents).map((p) => p.split('/')[0] as string).filter((v, i, a) => a.indexOf(v) === i)) {
        must('mcopy', ['-s', '-m', '-i', dev, join(scratch, top), '::/'], UTF8_ENV);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

function ntfsInto(disk: string, part: Part, label: string, contents: Contents): void {
  withLoop(disk, { offset: part.start, size: part.size }, (dev) => {
    must('mkntfs', ['-Q', '-F', '-L', label, '-p', String(part.start / 512), '-H', '255', '-S', '63', dev]);
    const mnt = mkdtempSync(join(tmpdir(), 'lifeboat-labntfs-'));
    try {
      must('ntfs-3g', [dev, mnt]);
      try {
        writeTree(mnt, contents);
      } finally {
        unmount(mnt);
      }
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });
}

/**
 * Makes disk A at `path` (`mib` MiB, at least 256): GPT, ext4 'root' (112 MiB, with a symlink
 * too), FAT32 'data' (64 MiB) and NTFS 'win' (the rest, ≥ 64 MiB), filled with contentsOfA(seed).
 */
export function makeDiskA(path: string, opts: { mib?: number; seed?: number } = {}): void {
  const mib = opts.mib ?? 256;
  if (mib < 256) throw new Error(`disk A needs at least 256 MiB, not ${mib}`);
  const c = contentsOfA(opts.seed ?? 1);
  writeFileSync(path, '');
  truncateSync(path, mib * MiB);
  must('sgdisk', ['-o', '-n', '1:2048:+112M', '-t', '1:8300', '-c', '1:root', '-n', '2:0:+64M', '-t', '2:0700', '-c', '2:data', '-n', '3:0:0', '-t', '3:0700', '-c', '3:win', path]);
  const [root, data, win] = gptParts(path, 3) as [Part, Part, Part];
  ext4Into(path, root, 'root', c.root, (dir) => symlinkSync('lab/notes.txt', join(dir, 'home/notes-link')));
  vfatInto(path, data, 'DATA', c.data);
  ntfsInto(path, win, 'win', c.win);
}

/**
 * Makes disk B at `path` (`mib` MiB): what a second computer's disk held before the restore,
 * an MBR table with ext4 'olddata' and FAT32 'OLDFAT' filled with files of its own
 * (other seeds, other names), and pseudo-random bytes in the free space after them.
 */
export function makeDiskB(path: string, opts: { mib?: number; seed?: number } = {}): void {
  const mib = opts.mib ?? 384;
  const seed = opts.seed ?? 100;
  writeFileSync(path, '');
  truncateSync(path, mib * MiB);
  must('sfdisk', ['-q', path], undefined, `label: dos\n2048,${(160 * MiB) / 512},83\n,${(96 * MiB) / 512},c\n`);
  const parts: Part[] = [{ start: 2048 * 512, size: 160 * MiB }, { start: 2048 * 512 + 160 * MiB, size: 96 * MiB }];
  ext4Into(path, parts[0] as Part, 'olddata', { 'old/system.log': 'the old life of disk B\n'.repeat(500), 'old/blob.bin': noise(6 * MiB, seed) });
  vfatInto(path, parts[1] as Part, 'OLDFAT', { 'OLD/BACKUP.BIN': noise(5 * MiB, seed + 1), 'OLD/NOTE.TXT': 'B was something else\r\n' });
  // the tail past both partitions holds old bytes too (a restore's ghosts must not matter)
  const tailStart = 2048 * 512 + 256 * MiB;
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-labdisk-'));
  try {
    writeFileSync(join(scratch, 'tail'), noise(8 * MiB, seed + 2));
    must('dd', [`if=${join(scratch, 'tail')}`, `of=${path}`, 'bs=1M', `seek=${tailStart}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The expected file tree of one filesystem of A, as treeOf() reads it back (for checking the readers). */
export function expectedTree(contents: Contents): ReturnType<typeof treeOf> {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-labexp-'));
  try {
    writeTree(scratch, contents);
    return treeOf(scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
