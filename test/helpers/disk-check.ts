// Checkers for the lab's disks (raw files holding a partition table and filesystems): the
// partition table and every filesystem checked by its own tool (sgdisk -v, e2fsck -fn,
// fsck.vfat -n, ntfsfix -n), and every file read out of each filesystem (debugfs rdump for
// ext4, mtools for FAT, ntfs-3g read-only for NTFS) so two disks can be compared file by
// file. Partitions are attached by offset on loop devices (no udev here), read-only, and
// detached afterwards. Every result is a list of precise differences or problems: empty
// means checked and clean.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmount, withLoop } from './system.js';

/** Environment for mtools: UTF-8 names (long FAT names are UTF-16 on disk). */
export const UTF8_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '1' };

export interface Run {
  code: number | null;
  /** stdout and stderr together */
  out: string;
  stdout: string;
}

/** Runs a program (no shell) and returns its exit code and everything it printed. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, input = ''): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, input, maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (is it installed? make apt)`);
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

/** Like run(), but a non-zero exit is an error naming the command and its output. */
export function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, input = ''): string {
  const r = run(cmd, args, env, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.out.slice(-2000)}`);
  return r.out;
}

export type FsType = 'ext4' | 'vfat' | 'ntfs';

export interface PartitionView {
  number: number;
  /** GPT name ('' for MBR) */
  name: string;
  /** GPT type GUID or MBR type byte */
  type: string;
  start: number;
  size: number;
  /** what blkid finds in it (null: nothing it knows) */
  fs: string | null;
}

export interface DiskLayout {
  table: 'gpt' | 'dos';
  sectorSize: number;
  partitions: PartitionView[];
}

/** The partition table (sfdisk -J) and what filesystem each partition holds (blkid -p). */
export function readLayout(disk: string): DiskLayout {
  const r = run('sfdisk', ['-J', disk]);
  if (r.code !== 0) throw new Error(`${disk}: no partition table sfdisk can read: ${r.out.trim()}`);
  const pt = (JSON.parse(r.stdout) as { partitiontable: { label: string; sectorsize?: number; partitions?: Array<{ node: string; start: number; size: number; type: string; name?: string }> } }).partitiontable;
  if (pt.label !== 'gpt' && pt.label !== 'dos') throw new Error(`${disk}: partition table ${pt.label}, expected gpt or dos`);
  const sector = pt.sectorsize ?? 512;
  const partitions = (pt.partitions ?? []).map((p) => {
    const number = Number(/(\d+)$/.exec(p.node)?.[1]);
    const start = p.start * sector;
    const size = p.size * sector;
    const fs = withLoop(disk, { offset: start, size, readOnly: true }, (dev) => {
      const probe = run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev]);
      return probe.code === 0 ? probe.out.trim() || null : null;
    });
    return { number, name: p.name ?? '', type: p.type, start, size, fs };
  });
  return { table: pt.label, sectorSize: sector, partitions };
}

/**
 * Checks the partition table and each filesystem with its own tool, read-only. Returns the
 * problems found, each naming the partition, the tool and what it said; [] when all is clean.
 * A partition whose filesystem has no checker here is a problem too (nothing unchecked passes).
 */
export function checkDisk(disk: string): string[] {
  const problems: string[] = [];
  const layout = readLayout(disk);
  if (layout.table === 'gpt') {
    // sgdisk -v exits 0 even when it finds problems: its words are the verdict.
    const v = run('sgdisk', ['-v', disk]);
    if (v.code !== 0 || !/No problems found/.test(v.out)) problems.push(`partition table: sgdisk -v: ${v.out.trim().replace(/\s+/g, ' ')}`);
  }
  for (const p of layout.partitions) {
    const where = `partition ${p.number}${p.name ? ` '${p.name}'` : ''} (${p.fs ?? 'no filesystem'})`;
    withLoop(disk, { offset: p.start, size: p.size, readOnly: true }, (dev) => {
      let r: Run;
      if (p.fs === 'ext4') r = run('e2fsck', ['-fn', dev]);
      else if (p.fs === 'vfat') r = run('fsck.vfat', ['-n', dev]);
      else if (p.fs === 'ntfs') {
        r = run('ntfsfix', ['-n', dev]);
        // ntfsfix -n exits 0 on some inconsistencies it would fix: its words count too.
        if (r.code === 0 && !/processed successfully/.test(r.out)) r = { ...r, code: 1 };
      } else {
        problems.push(`${where}: no checker for this filesystem`);
        return;
      }
      const tool = p.fs === 'ext4' ? 'e2fsck -fn' : p.fs === 'vfat' ? 'fsck.vfat -n' : 'ntfsfix -n';
      if (r.code !== 0) problems.push(`${where}: ${tool} exited ${r.code}: ${r.out.trim().split('\n').slice(-6).join(' | ')}`);
    });
  }
  return problems;
}

export type FileEntry = { kind: 'dir' } | { kind: 'file'; size: number; sha256: string } | { kind: 'symlink'; target: string };
/** Path (from the filesystem's root, '/'-separated) → what is there. */
export type FileTree = Map<string, FileEntry>;

/** Every directory, file and symlink under `root` (a directory on this machine). */
export function treeOf(root: string): FileTree {
  const tree: FileTree = new Map();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = `${rel}/${name}`;
      const st = lstatSync(path);
      if (st.isSymbolicLink()) tree.set(key, { kind: 'symlink', target: readlinkSync(path) });
      else if (st.isDirectory()) {
        tree.set(key, { kind: 'dir' });
        walk(path, key);
      } else if (st.isFile()) tree.set(key, { kind: 'file', size: st.size, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') });
    }
  };
  walk(root, '');
  return tree;
}

/** The files of one filesystem on `dev` (a loop device of a partition), read without writing to it. */
export function readFsTree(dev: string, fs: string): FileTree {
  const scratch = mkdtempSync(join(tmpdir(), 'lifeboat-fsread-'));
  try {
    if (fs === 'ext4') {
      const r = run('debugfs', ['-R', `rdump / ${scratch}`, dev]);
      if (r.code !== 0 || /rdump: .*(error|cannot|No such)/i.test(r.out)) throw new Error(`debugfs rdump of ${dev}: ${r.out.trim()}`);
      return treeOf(scratch);
    }
    if (fs === 'vfat') {
      must('mcopy', ['-s', '-n', '-m', '-i', dev, '::/', `${scratch}/`], UTF8_ENV);
      return treeOf(scratch);
    }
    if (fs === 'ntfs') {
      must('ntfs-3g', ['-o', 'ro', dev, scratch]);
      try {
        return treeOf(scratch);
      } finally {
        unmount(scratch);
      }
    }
    throw new Error(`${dev}: no reader for filesystem ${fs}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Partition number → the files of its filesystem, for every partition holding ext4, FAT or NTFS. */
export function readDiskFiles(disk: string): Map<number, { name: string; fs: string; tree: FileTree }> {
  const out = new Map<number, { name: string; fs: string; tree: FileTree }>();
  for (const p of readLayout(disk).partitions) {
    if (p.fs !== 'ext4' && p.fs !== 'vfat' && p.fs !== 'ntfs') continue;
    const fs = p.fs;
    out.set(p.number, { name: p.name, fs, tree: withLoop(disk, { offset: p.start, size: p.size, readOnly: true }, (dev) => readFsTree(dev, fs)) });
  }
  return out;
}

function describe(e: FileEntry): string {
  return e.kind === 'file' ? `file of ${e.size} bytes, sha256 ${e.sha256.slice(0, 16)}…` : e.kind === 'symlink' ? `symlink to ${e.target}` : 'directory';
}

/** The differences between two trees, each line naming the path (prefixed by `where`). */
export function diffTrees(a: FileTree, b: FileTree, where = ''): string[] {
  const out: string[] = [];
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) out.push(`${where}${path}: only in the first (${describe(ea)})`);
    else if (JSON.stringify(ea) !== JSON.stringify(eb)) out.push(`${where}${path}: differs: ${describe(ea)} vs ${describe(eb)}`);
  }
  for (const [path, eb] of b) if (!a.has(path)) out.push(`${where}${path}: only in the second (${describe(eb)})`);
  return out;
}

/**
 * Every file of disk `a` equals disk `b`'s: same partitions (by number) with the same
 * filesystems, and in each the same directories, files (size and SHA-256) and symlinks.
 * Returns the differences; [] when every file is the same.
 */
export function compareDiskFiles(a: string, b: string): string[] {
  const fa = readDiskFiles(a);
  const fb = readDiskFiles(b);
  const out: string[] = [];
  if (fa.size === 0) out.push(`${a}: no filesystem to compare (nothing was checked)`);
  for (const [n, pa] of fa) {
    const pb = fb.get(n);
    if (!pb) out.push(`partition ${n} (${pa.fs}): not on ${b}`);
    else if (pb.fs !== pa.fs) out.push(`partition ${n}: ${pa.fs} on ${a}, ${pb.fs} on ${b}`);
    else out.push(...diffTrees(pa.tree, pb.tree, `partition ${n} (${pa.fs}) `));
  }
  for (const n of fb.keys()) if (!fa.has(n)) out.push(`partition ${n}: only on ${b}`);
  return out;
}
