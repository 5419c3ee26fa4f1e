// Filesystem-aware imaging and restore to other disks (issue 3), proven on disks the
// real tools make and check. Each disk starts as random bytes, so every free block,
// every unassigned region and every deleted file holds stale, incompressible data:
// the backup must read and store only what the partition table and the filesystems
// say is in use, and a restore must come out clean by the filesystems' own checkers
// (sgdisk -v, e2fsck -fn, fsck.vfat -n, ntfsfix -n), with every file's SHA-256
// unchanged, onto new, same-size, larger, smaller and pre-filled targets.
// Loop devices are attached per partition with -o/--sizelimit (no udev here) and
// detached right after use; everything made lives in a temp dir removed at the end.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { type CliResult, lastJson, lifeboat, tempDir } from './helpers/cli.js';
import { type LoopDevice, attachLoop, unmount } from './helpers/system.js';

const MiB = 1 << 20;
const KiB = 1024;
const SECTOR = 512;
/** Backup GPT: 32 sectors of entries plus the header. */
const GPT_BACKUP_BYTES = 33 * SECTOR;
const NO_PASSPHRASE = { LIFEBOAT_PASSPHRASE: '' };
const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

const TOOLS = ['sgdisk', 'sfdisk', 'mkfs.ext4', 'mkfs.ext2', 'debugfs', 'dumpe2fs', 'e2fsck', 'mkfs.vfat', 'fsck.vfat', 'mcopy', 'mmd', 'mdel', 'mkntfs', 'ntfs-3g', 'ntfsfix', 'ntfscat', 'ntfscluster', 'mkswap', 'losetup', 'blkid', 'wipefs'];
const missingTools = TOOLS.filter((t) => spawnSync('bash', ['-c', `command -v ${t}`]).status !== 0);
const SKIP =
  process.getuid?.() !== 0 ? 'needs root (loop devices, ntfs-3g)' : missingTools.length > 0 ? `missing tools: ${missingTools.join(' ')} (make apt)` : false;

// ---------------------------------------------------------------- processes

/** Runs a tool with an argument vector; stdout as bytes. */
function runRaw(cmd: string, args: string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<Buffer> {
  return spawnSync(cmd, args, { env: env ?? process.env, maxBuffer: 256 * MiB });
}

/** Runs a tool, throwing with its stderr when it fails; returns stdout as text. */
function tool(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = runRaw(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout.toString('utf8');
}

/** Runs a tool and returns its exit code and both outputs as text, without throwing. */
function check(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = runRaw(cmd, args);
  return { code: r.status, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

// ---------------------------------------------------------------- loop devices and mounts

const attached = new Set<LoopDevice>();

/** Attaches `size` bytes of `file` at `offset` to a free loop device, runs `fn`, detaches. */
function withLoop<T>(file: string, offset: number, size: number, fn: (dev: string) => T, writable = false): T {
  const loop = attachLoop(file, { offset, size, readOnly: !writable });
  attached.add(loop);
  try {
    return fn(loop.dev);
  } finally {
    loop.detach();
    attached.delete(loop);
  }
}

/** Mounts `dev` with ntfs-3g at `dir`, runs `fn`, unmounts (FUSE's umount waits for the flush). */
function withNtfsMount<T>(dev: string, dir: string, fn: () => T): T {
  mkdirSync(dir, { recursive: true });
  tool('ntfs-3g', [dev, dir]);
  try {
    return fn();
  } finally {
    unmount(dir);
  }
}

/** A temp dir plus whatever loop devices are still attached, all undone by close(). */
function scope(prefix: string): { dir: string; close: () => void } {
  const t = tempDir(prefix);
  return {
    dir: t.dir,
    close: () => {
      for (const loop of [...attached]) loop.detach();
      t.cleanup();
    },
  };
}

// ---------------------------------------------------------------- bytes

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function readRegion(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Writes `length` bytes of `fill` (or random bytes) into `file` at `offset`, creating it if missing. */
function fillRegion(file: string, offset: number, length: number, fill: number | 'random'): void {
  const fd = openSync(file, 'a+');
  closeSync(fd);
  const wfd = openSync(file, 'r+');
  try {
    const block = fill === 'random' ? null : Buffer.alloc(4 * MiB, fill);
    for (let done = 0; done < length; ) {
      const n = Math.min(4 * MiB, length - done);
      const buf = block ? block.subarray(0, n) : randomBytes(n);
      writeSync(wfd, buf, 0, n, offset + done);
      done += n;
    }
  } finally {
    closeSync(wfd);
  }
}

/** A new file of `size` bytes: random everywhere, or one byte value everywhere. */
function newFile(path: string, size: number, fill: number | 'random'): void {
  writeFileSync(path, '');
  fillRegion(path, 0, size, fill);
}

/** Copies all of `src` into `dst` at byte `offset`. */
function ddInto(src: string, dst: string, offset: number): void {
  tool('dd', [`if=${src}`, `of=${dst}`, 'bs=1M', `seek=${offset}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none']);
}

const ZEROS = Buffer.alloc(MiB);

/** True when every byte is zero (memcmp against a zero buffer, a MiB at a time). */
function isZero(b: Buffer): boolean {
  for (let off = 0; off < b.length; off += MiB) {
    const piece = b.subarray(off, off + MiB);
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

interface Scan {
  /** Byte offsets of sectors that start with a GPT header signature. */
  gptHeaders: number[];
  /** Which of the samples were found anywhere. */
  found: boolean[];
}

/** Reads a whole disk a MiB at a time: where GPT headers are, and whether any sample shows up. */
function scanDisk(file: string, samples: Buffer[]): Scan {
  const size = statSync(file).size;
  const overlap = 256;
  const found = samples.map(() => false);
  const gptHeaders: number[] = [];
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MiB + overlap);
    for (let off = 0; off < size; off += MiB) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - off), off);
      const piece = buf.subarray(0, n);
      if (isZero(piece)) continue;
      for (let at = piece.indexOf('EFI PART'); at >= 0 && at < MiB; at = piece.indexOf('EFI PART', at + 1)) {
        if (at % SECTOR === 0) gptHeaders.push(off + at);
      }
      samples.forEach((sample, i) => {
        if (!found[i] && piece.indexOf(sample) >= 0) found[i] = true;
      });
    }
  } finally {
    closeSync(fd);
  }
  return { gptHeaders, found };
}

// ---------------------------------------------------------------- file sets

interface Content {
  path: string;
  data: Buffer;
}

interface FileSpec {
  path: string;
  size: number;
  sha: string;
}

function text(bytes: number, seed: string): Buffer {
  const line = `${seed}: the quick brown fox jumps over the lazy dog 0123456789\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes));
}

const rnd = (bytes: number) => randomBytes(bytes);
const specs = (files: Content[]): FileSpec[] => files.map((f) => ({ path: f.path, size: f.data.length, sha: sha(f.data) }));
/**
 * 32 bytes from the middle of each deleted (random) file, stale data that must never come
 * back; picked without 0x00 and 0x5A bytes so that searching zeroed or 0x5A-filled disks is fast.
 */
const samplesOf = (files: Content[]): Buffer[] =>
  files.map((f) => {
    for (let at = f.data.length >> 1; at + 32 <= f.data.length; at++) {
      const s = f.data.subarray(at, at + 32);
      if (!s.includes(0) && !s.includes(0x5a)) return Buffer.from(s);
    }
    throw new Error(`no usable sample in ${f.path}`);
  });
const randomBytesIn = (files: Content[], randomPaths: string[]) => files.filter((f) => randomPaths.includes(f.path)).reduce((n, f) => n + f.data.length, 0);

function writeTree(root: string, files: Content[]): void {
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.data);
  }
}

const parentDirs = (files: Content[]): string[] => {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length);
};

// ---------------------------------------------------------------- filesystems: build, measure, read

interface BuiltFs {
  files: FileSpec[];
  stale: Buffer[];
  /** Bytes in use as the filesystem's own tools count them. */
  toolUsed: number;
  /** Bytes of random (incompressible) content in the kept files. */
  keptRandom: number;
}

/** Used bytes of an ext2/3/4 filesystem by dumpe2fs: (block count - free blocks) * block size. */
function extUsed(dev: string): number {
  const h = tool('dumpe2fs', ['-h', dev]);
  const num = (re: RegExp) => Number(re.exec(h)?.[1] ?? NaN);
  return (num(/^Block count:\s+(\d+)/m) - num(/^Free blocks:\s+(\d+)/m)) * num(/^Block size:\s+(\d+)/m);
}

/** Used bytes of a FAT filesystem by fsck.fat -v: everything before the data area plus the used clusters. */
function fatUsed(dev: string): number {
  const out = tool('fsck.vfat', ['-n', '-v', dev]);
  const dataStart = Number(/Data area starts at byte (\d+)/.exec(out)?.[1] ?? NaN);
  const clusterBytes = Number(/(\d+) bytes per cluster/.exec(out)?.[1] ?? NaN);
  const used = Number(/(\d+)\/\d+ clusters/.exec(out)?.[1] ?? NaN);
  return dataStart + used * clusterBytes;
}

/** Used bytes of an NTFS volume by ntfscluster -i: volume bytes minus free bytes, by $Bitmap. */
function ntfsUsed(dev: string): number {
  const out = tool('ntfscluster', ['-i', dev]);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return num(/bytes per volume\s*:\s*(\d+)/) - num(/bytes of free space\s*:\s*(\d+)/);
}

/**
 * An ext2/3/4 filesystem in a new random-filled file: made with `mkfs -d` from the kept
 * and the doomed files, then the doomed files removed with debugfs, so their blocks are
 * free but still hold their random bytes.
 */
function buildExt(
  dir: string,
  file: string,
  size: number,
  o: { type: 'ext2' | 'ext4'; blockSize: number; label: string; keep: Content[]; drop: Content[]; randomPaths: string[] },
): BuiltFs {
  newFile(file, size, 'random');
  const stage = join(dir, `${o.label}-tree`);
  writeTree(stage, [...o.keep, ...o.drop]);
  const extended = o.type === 'ext4' ? 'nodiscard,lazy_itable_init=0,lazy_journal_init=0' : 'nodiscard,lazy_itable_init=0';
  tool(`mkfs.${o.type}`, ['-q', '-F', '-b', String(o.blockSize), '-L', o.label, '-E', extended, '-d', stage, file]);
  rmSync(stage, { recursive: true, force: true });
  for (const f of o.drop) tool('debugfs', ['-w', '-R', `rm /${f.path}`, file]);
  const fsck = check('e2fsck', ['-fn', file]);
  assert.equal(fsck.code, 0, `the source ${o.type} itself is not clean: ${fsck.out}`);
  return { files: specs(o.keep), stale: samplesOf(o.drop), toolUsed: extUsed(file), keptRandom: randomBytesIn(o.keep, o.randomPaths) };
}

/** A FAT filesystem in a new random-filled file, filled with mcopy, the doomed files then mdel'ed. */
function buildFat(
  dir: string,
  file: string,
  size: number,
  o: { bits: 16 | 32; label: string; keep: Content[]; drop: Content[]; randomPaths: string[] },
): BuiltFs {
  newFile(file, size, 'random');
  tool('mkfs.vfat', ['-F', String(o.bits), '-n', o.label, file]);
  const all = [...o.keep, ...o.drop];
  for (const d of parentDirs(all)) tool('mmd', ['-i', file, `::/${d}`], MTOOLS_ENV);
  const local = join(dir, `${o.label}-file`);
  for (const f of all) {
    writeFileSync(local, f.data);
    tool('mcopy', ['-i', file, local, `::/${f.path}`], MTOOLS_ENV);
  }
  rmSync(local);
  for (const f of o.drop) tool('mdel', ['-i', file, `::/${f.path}`], MTOOLS_ENV);
  const fsck = check('fsck.vfat', ['-n', file]);
  assert.equal(fsck.code, 0, `the source FAT itself is not clean: ${fsck.out}`);
  return { files: specs(o.keep), stale: samplesOf(o.drop), toolUsed: fatUsed(file), keptRandom: randomBytesIn(o.keep, o.randomPaths) };
}

/** NTFS made in place on the disk through a loop device, filled and thinned under ntfs-3g. */
function buildNtfs(
  dir: string,
  disk: string,
  offset: number,
  size: number,
  o: { label: string; keep: Content[]; drop: Content[]; randomPaths: string[] },
): BuiltFs {
  return withLoop(
    disk,
    offset,
    size,
    (dev) => {
      tool('mkntfs', ['-Q', '-F', '-L', o.label, '-p', String(offset / SECTOR), dev]);
      const mnt = join(dir, 'ntfs-mnt');
      withNtfsMount(dev, mnt, () => writeTree(mnt, [...o.keep, ...o.drop]));
      withNtfsMount(dev, mnt, () => {
        for (const f of o.drop) rmSync(join(mnt, f.path));
      });
      const fix = check('ntfsfix', ['-n', dev]);
      assert.equal(fix.code, 0, `the source NTFS itself is not clean: ${fix.out}`);
      return { files: specs(o.keep), stale: samplesOf(o.drop), toolUsed: ntfsUsed(dev), keptRandom: randomBytesIn(o.keep, o.randomPaths) };
    },
    true,
  );
}

/** Swap in a random-filled file: mkswap writes the header page only, the rest stays stale. */
function buildSwap(file: string, size: number, label: string): void {
  newFile(file, size, 'random');
  tool('mkswap', ['-L', label, file]);
}

/** Every file's SHA-256 as debugfs reads it from an ext2/3/4 device. */
function extShas(dev: string, files: FileSpec[]): FileSpec[] {
  return files.map((f) => {
    const data = runRaw('debugfs', ['-R', `cat /${f.path}`, dev]).stdout;
    return { path: f.path, size: data.length, sha: sha(data) };
  });
}

/** Every file's SHA-256 as mcopy reads it from a FAT filesystem at `offset` in `disk`. */
function fatShas(disk: string, offset: number, files: FileSpec[]): FileSpec[] {
  return files.map((f) => {
    const data = runRaw('mcopy', ['-n', '-i', `${disk}@@${offset}`, `::/${f.path}`, '-'], MTOOLS_ENV).stdout;
    return { path: f.path, size: data.length, sha: sha(data) };
  });
}

/** Every file's SHA-256 as ntfscat reads it from an NTFS device. */
function ntfsShas(dev: string, files: FileSpec[]): FileSpec[] {
  return files.map((f) => {
    const data = runRaw('ntfscat', [dev, `/${f.path}`]).stdout;
    return { path: f.path, size: data.length, sha: sha(data) };
  });
}

/** blkid -p's view of a device: TYPE, LABEL, UUID (empty object when nothing is found). */
function probe(dev: string): Record<string, string> {
  const r = check('blkid', ['-p', '-o', 'export', dev]);
  const out: Record<string, string> = {};
  for (const line of r.out.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined && m[1] !== 'DEVNAME') out[m[1]] = m[2];
  }
  return out;
}

/** sfdisk --json of a disk without what legitimately differs between disks: device names and the last usable LBA. */
function tableOf(disk: string): unknown {
  const t = (JSON.parse(tool('sfdisk', ['--json', disk])) as { partitiontable: Record<string, unknown> & { partitions: Array<Record<string, unknown>> } }).partitiontable;
  const { device: _device, lastlba: _lastlba, partitions, ...rest } = t;
  return { ...rest, partitions: partitions.map(({ node, ...p }) => ({ ...p, node: String(node).slice(disk.length) })) };
}

// ---------------------------------------------------------------- lifeboat

interface Stats {
  bytesRead: number;
  bytesZero: number;
  bytesNew: number;
  storedBytesNew: number;
  chunksUnused: number;
}

interface LayoutPartition {
  number: number;
  start: number;
  size: number;
  typeName: string;
  filesystem: string | null;
  method: string;
  usedBytes: number;
  fsLabel?: string | null;
  fsUuid?: string | null;
}

interface Layout {
  table: string;
  partitions: LayoutPartition[];
  usedBytes: number;
  warnings: string[];
  /** A filesystem on the whole disk, when there is no partition table. */
  wholeDisk?: { filesystem: string; method: string };
}

function backup(source: string, store: string, extra: string[] = []): { id: string; diskSize: number; stats: Stats } {
  const r = lifeboat(['image', 'backup', source, '--store', store, '--json', ...extra], { env: NO_PASSPHRASE });
  assert.equal(r.code, 0, r.stderr);
  return lastJson<{ id: string; diskSize: number; stats: Stats }>(r);
}

function layoutOf(id: string, store: string): Layout {
  const r = lifeboat(['image', 'show', id, '--store', store, '--json'], { env: NO_PASSPHRASE });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { layout: Layout }).layout;
}

function restore(id: string, target: string, store: string, extra: string[] = []): CliResult {
  return lifeboat(['image', 'restore', id, target, '--store', store, '--yes', ...extra], { env: NO_PASSPHRASE });
}

function restoreOk(id: string, target: string, store: string, extra: string[] = []): void {
  const r = restore(id, target, store, extra);
  assert.equal(r.code, 0, `restore onto ${target} failed (${r.code}): ${r.stderr}`);
}

/** Bytes of every chunk file in a store. */
function storedBytes(store: string): number {
  const dir = join(store, 'chunks');
  let total = 0;
  for (const sub of readdirSync(dir)) for (const name of readdirSync(join(dir, sub))) total += statSync(join(dir, sub, name)).size;
  return total;
}

const mib = (n: number) => `${(n / MiB).toFixed(2)} MiB`;

// ---------------------------------------------------------------- the GPT disk

interface Region {
  start: number;
  size: number;
}

interface GptDisk {
  path: string;
  size: number;
  parts: { bios: Region & { n: number }; ext4: Region & { n: number }; fat: Region & { n: number }; ntfs: Region & { n: number }; swap: Region & { n: number }; unknown: Region & { n: number } };
  /** Unpartitioned regions that hold random bytes. */
  gaps: Region[];
  ext4: BuiltFs;
  fat: BuiltFs;
  ntfs: BuiltFs;
  /** Bytes the disk needs: the end of its last partition plus the backup GPT. */
  minimumSize: number;
  /** Raw-imaged bytes of random content: the first MiB, the BIOS boot and the unknown partition. */
  rawRandom: number;
  /** Stale random bytes on the disk: free blocks, deleted files, swap pages, gaps. */
  staleRandom: number;
  probes: Record<'ext4' | 'fat' | 'ntfs' | 'swap', Record<string, string>>;
}

const region = (n: number, startMiB: number, sizeMiB: number) => ({ n, start: startMiB * MiB, size: sizeMiB * MiB });

/**
 * 512 MiB, random bytes up to 320 MiB, then:
 *   1  1 MiB  BIOS boot (EF02), random      2  96 MiB ext4 (4k blocks)   3  64 MiB FAT32
 *   4  64 MiB NTFS                          5  16 MiB swap               gap 8 MiB random
 *   6  8 MiB  8300, random, no filesystem   free from 258 MiB (random up to 320 MiB, then zeros)
 */
function buildGptDisk(dir: string): GptDisk {
  const path = join(dir, 'gpt-source.img');
  const size = 512 * MiB;
  const parts = { bios: region(1, 1, 1), ext4: region(2, 2, 96), fat: region(3, 98, 64), ntfs: region(4, 162, 64), swap: region(5, 226, 16), unknown: region(6, 250, 8) };
  writeFileSync(path, '');
  fillRegion(path, 0, 320 * MiB, 'random');
  tool('truncate', ['-s', String(size), path]);
  const codes: Record<keyof typeof parts, string> = { bios: 'EF02', ext4: '8300', fat: '0700', ntfs: '0700', swap: '8200', unknown: '8300' };
  const args = ['-o'];
  for (const [key, p] of Object.entries(parts) as Array<[keyof typeof parts, Region & { n: number }]>) {
    args.push('-n', `${p.n}:${p.start / SECTOR}:${(p.start + p.size) / SECTOR - 1}`, '-t', `${p.n}:${codes[key]}`, '-c', `${p.n}:${key}`);
  }
  tool('sgdisk', [...args, path]);

  const ext4File = join(dir, 'ext4.part');
  const ext4 = buildExt(dir, ext4File, parts.ext4.size, {
    type: 'ext4',
    blockSize: 4096,
    label: 'lb-ext4',
    keep: [
      { path: 'etc/hostname', data: text(20, 'host') },
      { path: 'docs/notes.txt', data: text(300 * KiB, 'notes') },
      { path: 'bin/blob.bin', data: rnd(3 * MiB) },
      { path: 'data/deep/dir/small.bin', data: rnd(10_000) },
      { path: 'data/zeros.bin', data: Buffer.alloc(2 * MiB) },
      { path: 'empty.txt', data: Buffer.alloc(0) },
    ],
    drop: [
      { path: 'big1.bin', data: rnd(40 * MiB) },
      { path: 'data/big2.bin', data: rnd(8 * MiB) },
    ],
    randomPaths: ['bin/blob.bin', 'data/deep/dir/small.bin'],
  });
  ddInto(ext4File, path, parts.ext4.start);
  rmSync(ext4File);

  const fatFile = join(dir, 'fat.part');
  const fat = buildFat(dir, fatFile, parts.fat.size, {
    bits: 32,
    label: 'LBFAT32',
    keep: [
      { path: 'boot/readme.txt', data: text(5000, 'fat') },
      { path: 'data/blob.bin', data: rnd(2 * MiB) },
      { path: 'data/sub/x.bin', data: rnd(5000) },
      { path: 'a-long-file-name.text', data: text(70_000, 'long') },
    ],
    drop: [{ path: 'big.bin', data: rnd(30 * MiB) }],
    randomPaths: ['data/blob.bin', 'data/sub/x.bin'],
  });
  ddInto(fatFile, path, parts.fat.start);
  rmSync(fatFile);

  const ntfs = buildNtfs(dir, path, parts.ntfs.start, parts.ntfs.size, {
    label: 'lb-ntfs',
    keep: [
      { path: 'Users/doc.txt', data: text(100_000, 'ntfs') },
      { path: 'Users/blob.bin', data: rnd(2 * MiB) },
      { path: 'Windows/System32/x.dll', data: rnd(70_000) },
      { path: 'tiny.txt', data: text(100, 'resident') },
    ],
    drop: [{ path: 'big.bin', data: rnd(30 * MiB) }],
    randomPaths: ['Users/blob.bin', 'Windows/System32/x.dll'],
  });

  const swapFile = join(dir, 'swap.part');
  buildSwap(swapFile, parts.swap.size, 'lb-swap');
  ddInto(swapFile, path, parts.swap.start);
  rmSync(swapFile);

  const probes = {
    ext4: withLoop(path, parts.ext4.start, parts.ext4.size, probe),
    fat: withLoop(path, parts.fat.start, parts.fat.size, probe),
    ntfs: withLoop(path, parts.ntfs.start, parts.ntfs.size, probe),
    swap: withLoop(path, parts.swap.start, parts.swap.size, probe),
  };
  const gaps = [
    { start: 242 * MiB, size: 8 * MiB },
    { start: 258 * MiB, size: 62 * MiB },
  ];
  const fsStale = [
    [parts.ext4.size, ext4.toolUsed],
    [parts.fat.size, fat.toolUsed],
    [parts.ntfs.size, ntfs.toolUsed],
    [parts.swap.size, 4096],
  ].reduce((n, [total, used]) => n + (total ?? 0) - (used ?? 0), 0);
  return {
    path,
    size,
    parts,
    gaps,
    ext4,
    fat,
    ntfs,
    minimumSize: parts.unknown.start + parts.unknown.size + GPT_BACKUP_BYTES,
    rawRandom: 1 * MiB + parts.bios.size + parts.unknown.size,
    staleRandom: fsStale + gaps.reduce((n, g) => n + g.size, 0),
    probes,
  };
}

/** Everything a restored GPT disk must show, whatever the target's size and old content. */
function checkGptTarget(src: GptDisk, target: string, o: { fresh: boolean; sourceStaleSamples: Buffer[] }): void {
  const size = statSync(target).size;
  const p = src.parts;

  const verify = check('sgdisk', ['-v', target]);
  assert.match(verify.out, /No problems found/, `sgdisk -v ${target}:\n${verify.out}`);
  assert.deepEqual(tableOf(target), tableOf(src.path), 'same partitions, types, names and UUIDs as the source');

  withLoop(target, p.ext4.start, p.ext4.size, (dev) => {
    const fsck = check('e2fsck', ['-fn', dev]);
    assert.equal(fsck.code, 0, `e2fsck -fn on the restored ext4:\n${fsck.out}`);
    assert.deepEqual(extShas(dev, src.ext4.files), src.ext4.files, 'ext4 files');
    assert.deepEqual(probe(dev), src.probes.ext4, 'blkid -p on the ext4 partition');
  });
  withLoop(target, p.fat.start, p.fat.size, (dev) => {
    const fsck = check('fsck.vfat', ['-n', dev]);
    assert.equal(fsck.code, 0, `fsck.vfat -n on the restored FAT32:\n${fsck.out}`);
    assert.deepEqual(probe(dev), src.probes.fat, 'blkid -p on the FAT32 partition');
  });
  assert.deepEqual(fatShas(target, p.fat.start, src.fat.files), src.fat.files, 'FAT32 files');
  withLoop(target, p.ntfs.start, p.ntfs.size, (dev) => {
    const fix = check('ntfsfix', ['-n', dev]);
    assert.equal(fix.code, 0, `ntfsfix -n on the restored NTFS:\n${fix.out}`);
    assert.match(fix.out, /processed successfully/);
    assert.deepEqual(ntfsShas(dev, src.ntfs.files), src.ntfs.files, 'NTFS files');
    assert.deepEqual(probe(dev), src.probes.ntfs, 'blkid -p on the NTFS partition');
  });
  withLoop(target, p.swap.start, p.swap.size, (dev) => assert.deepEqual(probe(dev), src.probes.swap, 'blkid -p on the swap partition'));
  assert.ok(readRegion(target, p.swap.start, 4096).equals(readRegion(src.path, p.swap.start, 4096)), 'swap header page byte-identical');

  for (const raw of [p.bios, p.unknown]) {
    assert.equal(sha(readRegion(target, raw.start, raw.size)), sha(readRegion(src.path, raw.start, raw.size)), `partition ${raw.n} byte-identical`);
  }
  assert.ok(readRegion(target, 0, MiB).subarray(0, 440).equals(readRegion(src.path, 0, 440)), 'boot code in the MBR kept');

  const scan = scanDisk(target, o.sourceStaleSamples);
  assert.deepEqual(scan.gptHeaders, [SECTOR, size - SECTOR], 'GPT headers only at LBA 1 and at the target\'s last sector');
  if (o.fresh) {
    for (const g of src.gaps) {
      const end = Math.min(g.start + g.size, size - GPT_BACKUP_BYTES);
      if (end > g.start) assert.ok(isZero(readRegion(target, g.start, end - g.start)), `unpartitioned ${mib(g.start)}..${mib(end)} comes back as zeros`);
    }
  }
  assert.deepEqual(scan.found, o.sourceStaleSamples.map(() => false), 'no byte of a deleted file comes back');
}

/** wipefs -n on the whole target: the new table's PMBR and two GPT headers, nothing else. */
function checkSignatures(target: string): void {
  const size = statSync(target).size;
  const sigs = (JSON.parse(tool('wipefs', ['-n', '-J', target])) as { signatures: Array<{ offset: string; type: string }> }).signatures;
  const seen = sigs.map((s) => `${s.type}@${Number(s.offset)}`).sort();
  assert.deepEqual(seen, [`PMBR@${0x1fe}`, `gpt@${SECTOR}`, `gpt@${size - SECTOR}`].sort(), `wipefs -n ${target}`);
}

/**
 * The disk a target used to be: a GPT whose partitions start where the source has none
 * (its gap, its free tail, past its end), each with a filesystem blkid finds.
 */
const OLD_DISK: Array<{ start: number; size: number; mk: 'ext4' | 'vfat' | 'swap' | null }> = [
  { start: 1 * MiB, size: 240 * MiB, mk: null },
  { start: 242 * MiB, size: 8 * MiB, mk: 'ext4' },
  { start: 300 * MiB, size: 32 * MiB, mk: 'vfat' },
  { start: 540 * MiB, size: 16 * MiB, mk: 'swap' },
];

function makeOldDisk(target: string, size: number): void {
  newFile(target, size, 0x5a);
  const args = ['-o'];
  OLD_DISK.forEach((p, i) => args.push('-n', `${i + 1}:${p.start / SECTOR}:${(p.start + p.size) / SECTOR - 1}`));
  tool('sgdisk', [...args, target]);
  for (const p of OLD_DISK) {
    if (p.mk === null) continue;
    const type = p.mk === 'vfat' ? 'vfat' : p.mk;
    withLoop(
      target,
      p.start,
      p.size,
      (dev) => {
        if (p.mk === 'ext4') tool('mkfs.ext4', ['-q', '-F', dev]);
        else if (p.mk === 'vfat') tool('mkfs.vfat', [dev]);
        else tool('mkswap', [dev]);
        assert.equal(probe(dev).TYPE, type, `the old disk has ${type} at ${mib(p.start)}`);
      },
      true,
    );
  }
  assert.equal((JSON.parse(tool('wipefs', ['-n', '-J', target])) as { signatures: unknown[] }).signatures.length, 3, 'the old disk has a GPT');
}

// ---------------------------------------------------------------- 1-3, 6. GPT disk

test('GPT disk with BIOS boot, ext4, FAT32, NTFS, swap, an unknown partition and random gaps', { skip: SKIP }, async (t) => {
  const s = scope('lifeboat-fsaware-gpt-');
  try {
    const src = buildGptDisk(s.dir);
    const store = join(s.dir, 'store');
    const staleSamples = [...src.ext4.stale, ...src.fat.stale, ...src.ntfs.stale];
    // The test means something only if the deleted files' bytes are really on the source.
    assert.deepEqual(scanDisk(src.path, staleSamples).found, staleSamples.map(() => true), 'the deleted files\' data is still on the source disk');
    const toolUsed = src.ext4.toolUsed + src.fat.toolUsed + src.ntfs.toolUsed + 4096;
    const keptRandom = src.ext4.keptRandom + src.fat.keptRandom + src.ntfs.keptRandom;
    let id = '';

    await t.test('backup reads only used blocks and stores none of the stale bytes', () => {
      const b = backup(src.path, store);
      id = b.id;
      const layout = layoutOf(id, store);
      const stored = storedBytes(store);
      t.diagnostic(
        `disk ${mib(src.size)}; bytesRead ${mib(b.stats.bytesRead)}; tools' used ${mib(toolUsed)} (ext4 ${mib(src.ext4.toolUsed)}, fat ${mib(src.fat.toolUsed)}, ntfs ${mib(src.ntfs.toolUsed)}) + raw ${mib(src.rawRandom)}; ` +
          `layout used ${mib(layout.usedBytes)}; stored ${mib(stored)} (storedBytesNew ${mib(b.stats.storedBytesNew)}); incompressible kept ${mib(keptRandom + src.rawRandom)}; stale random ${mib(src.staleRandom)}`,
      );

      assert.equal(layout.table, 'gpt');
      assert.deepEqual(layout.warnings, []);
      const byNumber = new Map(layout.partitions.map((p) => [p.number, p]));
      const expect: Array<[number, string | null, string, string | null]> = [
        [1, null, 'raw', null],
        [2, 'ext4', 'used-blocks', 'lb-ext4'],
        [3, 'fat32', 'used-blocks', 'LBFAT32'],
        [4, 'ntfs', 'used-blocks', 'lb-ntfs'],
        [5, 'swap', 'header', 'lb-swap'],
        [6, null, 'raw', null],
      ];
      for (const [n, fs, method, label] of expect) {
        const p = byNumber.get(n);
        assert.ok(p, `partition ${n} in the layout`);
        assert.equal(p.filesystem, fs, `partition ${n} filesystem`);
        assert.equal(p.method, method, `partition ${n} method`);
        if (label !== null) assert.equal(p.fsLabel, label, `partition ${n} label`);
      }
      assert.equal(byNumber.get(2)?.fsUuid?.toLowerCase(), src.probes.ext4.UUID?.toLowerCase(), 'ext4 UUID recorded');
      // The parsers agree with the filesystems' own tools.
      assert.equal(byNumber.get(2)?.usedBytes, src.ext4.toolUsed, 'ext4 used bytes as dumpe2fs counts them');
      assert.equal(byNumber.get(3)?.usedBytes, src.fat.toolUsed, 'FAT32 used bytes as fsck.fat -v counts them');
      // NTFS: $Bitmap's clusters plus the backup boot sector, which lies past the last cluster.
      const ntfsLayoutUsed = byNumber.get(4)?.usedBytes ?? NaN;
      assert.ok(ntfsLayoutUsed >= src.ntfs.toolUsed + SECTOR && ntfsLayoutUsed <= src.ntfs.toolUsed + 4096, `NTFS used bytes ${ntfsLayoutUsed}: ntfscluster -i counts ${src.ntfs.toolUsed} + the backup boot sector`);
      assert.ok((byNumber.get(5)?.usedBytes ?? Infinity) <= 64 * KiB, 'swap: only the header is used');
      assert.equal(byNumber.get(1)?.usedBytes, src.parts.bios.size);
      assert.equal(byNumber.get(6)?.usedBytes, src.parts.unknown.size);

      // Reading: the used blocks, the raw regions and the table areas, plus read-alignment slack.
      const needed = toolUsed + src.rawRandom + GPT_BACKUP_BYTES;
      assert.ok(b.stats.bytesRead < src.size, 'bytesRead < disk size');
      assert.ok(b.stats.bytesRead >= needed - 64 * KiB, `bytesRead ${b.stats.bytesRead} covers the used data ${needed}`);
      assert.ok(b.stats.bytesRead <= needed + 8 * MiB, `bytesRead ${mib(b.stats.bytesRead)} ≈ used ${mib(needed)}`);
      // Storing: about the compressed size of the used data. The kept random content cannot
      // compress, the metadata compresses well, and the stale random bytes (free blocks,
      // deleted files, swap pages, gaps: ~290 MiB) could not compress either, so any of them
      // in the store would show up byte for byte above the kept random content.
      const incompressible = keptRandom + src.rawRandom;
      assert.ok(src.staleRandom > 200 * MiB, `the disk really holds ${mib(src.staleRandom)} of stale random bytes`);
      assert.equal(stored, b.stats.storedBytesNew, 'a fresh store holds exactly the new chunks');
      assert.ok(stored >= incompressible * 0.99, `stored ${mib(stored)} holds the incompressible kept data ${mib(incompressible)}`);
      assert.ok(stored <= toolUsed + src.rawRandom, `stored ${mib(stored)} ≤ used ${mib(toolUsed + src.rawRandom)}`);
      assert.ok(stored - incompressible <= 4 * MiB, `stored ${mib(stored)} ≈ compressed used data (${mib(incompressible)} of it incompressible)`);
      assert.ok(stored - incompressible < src.staleRandom / 50, `stored ${mib(stored)}: not even 2% of the ${mib(src.staleRandom)} of stale bytes`);
    });

    await t.test('(a) restore onto a new file: clean, files intact, stale regions zero', () => {
      const target = join(s.dir, 'a-new.img');
      restoreOk(id, target, store);
      assert.equal(statSync(target).size, src.size, 'a new file gets the image size');
      checkGptTarget(src, target, { fresh: true, sourceStaleSamples: staleSamples });
      rmSync(target);
    });

    await t.test('(b) restore onto an existing same-size file filled with 0x5A, with --verify', () => {
      const target = join(s.dir, 'b-same.img');
      newFile(target, src.size, 0x5a);
      restoreOk(id, target, store, ['--verify']);
      assert.equal(statSync(target).size, src.size);
      checkGptTarget(src, target, { fresh: false, sourceStaleSamples: staleSamples });
      checkSignatures(target);
      rmSync(target);
    });

    const larger = join(s.dir, 'c-larger.img');
    await t.test('(c) restore onto a larger existing file (+100 MiB) that held an old GPT disk', () => {
      const size = src.size + 100 * MiB;
      makeOldDisk(larger, size);
      restoreOk(id, larger, store);
      assert.equal(statSync(larger).size, size, 'an existing file keeps its size');
      checkGptTarget(src, larger, { fresh: false, sourceStaleSamples: staleSamples });
      checkSignatures(larger);
      assert.ok(!readRegion(larger, src.size - SECTOR, 8).equals(Buffer.from('EFI PART')), 'no ghost GPT header where the source disk ended');
    });

    await t.test('(c) the old disk\'s filesystems in what is now unassigned space leave no ghost for blkid', () => {
      const ghosts = OLD_DISK.filter((o) => o.mk !== null)
        .map((o) => ({ at: mib(o.start), was: o.mk, blkid: withLoop(larger, o.start, o.size, probe).TYPE }))
        .filter((g) => g.blkid !== undefined);
      rmSync(larger);
      assert.deepEqual(ghosts, [], 'blkid -p finds nothing where the old disk had filesystems');
    });

    await t.test('(d) restore onto a smaller existing file that still holds every partition', () => {
      const target = join(s.dir, 'd-smaller.img');
      const size = 300 * MiB;
      newFile(target, size, 0x5a);
      restoreOk(id, target, store);
      assert.equal(statSync(target).size, size);
      checkGptTarget(src, target, { fresh: false, sourceStaleSamples: staleSamples });
      checkSignatures(target);
      rmSync(target);
    });

    await t.test('(e) restore onto a file too small is refused before writing a byte, naming the size needed', () => {
      const target = join(s.dir, 'e-small.img');
      newFile(target, 200 * MiB, 0x5a);
      const before = sha(readRegion(target, 0, 200 * MiB));
      const r = restore(id, target, store);
      t.diagnostic(`refused: ${r.stderr.trim()}`);
      assert.equal(r.code, 1, `exit code ${r.code}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /e-small\.img/, 'names the target');
      const needed = [String(src.minimumSize), `${(src.minimumSize / MiB).toFixed(1)} MiB`, `${Math.ceil(src.minimumSize / MiB)} MiB`];
      assert.ok(
        needed.some((n) => r.stderr.includes(n)),
        `names the size needed (${src.minimumSize} bytes = ${mib(src.minimumSize)}): ${r.stderr}`,
      );
      assert.equal(statSync(target).size, 200 * MiB);
      assert.equal(sha(readRegion(target, 0, 200 * MiB)), before, 'target unchanged');
    });

    await t.test('--raw backup reads every byte and restores byte-identical', () => {
      const rawStore = join(s.dir, 'raw-store');
      const b = backup(src.path, rawStore, ['--raw']);
      t.diagnostic(`--raw: bytesRead ${mib(b.stats.bytesRead)} of ${mib(src.size)}; stored ${mib(storedBytes(rawStore))}`);
      assert.equal(b.stats.bytesRead, src.size);
      const target = join(s.dir, 'raw-restored.img');
      restoreOk(b.id, target, rawStore);
      assert.equal(check('cmp', [src.path, target]).code, 0, 'byte-identical to the source');
    });
  } finally {
    s.close();
  }
});

// ---------------------------------------------------------------- 4. MBR disk with logical partitions

interface MbrDisk {
  path: string;
  size: number;
  ext4: Region & { fs: BuiltFs };
  ext2: Region & { fs: BuiltFs };
  fat16: Region & { fs: BuiltFs };
  swap: Region;
  /** Where the EBRs are. */
  ebrs: number[];
  /** Random bytes in no partition: after each EBR, free in the extended partition, after it. */
  unassigned: Region[];
  stale: Buffer[];
  toolUsed: number;
  keptRandom: number;
  probes: Record<'ext4' | 'ext2' | 'fat16' | 'swap', Record<string, string>>;
}

/**
 * 256 MiB, random bytes up to 200 MiB, then (MiB):
 *   1  1..65    ext4              2  65..185  extended
 *   5  66..98   ext2, 1k blocks   6  99..147  FAT16       7  148..164  swap
 */
function buildMbrDisk(dir: string): MbrDisk {
  const path = join(dir, 'mbr-source.img');
  const size = 256 * MiB;
  writeFileSync(path, '');
  fillRegion(path, 0, 200 * MiB, 'random');
  tool('truncate', ['-s', String(size), path]);
  const sectors = (m: number) => (m * MiB) / SECTOR;
  const script = [
    'label: dos',
    'label-id: 0x4c425430',
    'unit: sectors',
    '',
    `start=${sectors(1)}, size=${sectors(64)}, type=83`,
    `start=${sectors(65)}, size=${sectors(120)}, type=5`,
    `start=${sectors(66)}, size=${sectors(32)}, type=83`,
    `start=${sectors(99)}, size=${sectors(48)}, type=6`,
    `start=${sectors(148)}, size=${sectors(16)}, type=82`,
    '',
  ].join('\n');
  const r = spawnSync('sfdisk', ['-q', '--no-reread', path], { input: script });
  assert.equal(r.status, 0, `sfdisk: ${r.stderr.toString()}`);

  const place = (file: string, start: number) => {
    ddInto(file, path, start);
    rmSync(file);
  };
  const ext4 = { start: 1 * MiB, size: 64 * MiB };
  const ext4Fs = buildExt(dir, join(dir, 'mbr-ext4.part'), ext4.size, {
    type: 'ext4',
    blockSize: 4096,
    label: 'mbr-ext4',
    keep: [
      { path: 'etc/fstab', data: text(600, 'fstab') },
      { path: 'home/user/photo.raw', data: rnd(MiB + 12_345) },
    ],
    drop: [{ path: 'tmp/big.bin', data: rnd(24 * MiB) }],
    randomPaths: ['home/user/photo.raw'],
  });
  place(join(dir, 'mbr-ext4.part'), ext4.start);
  const ext2 = { start: 66 * MiB, size: 32 * MiB };
  const ext2Fs = buildExt(dir, join(dir, 'mbr-ext2.part'), ext2.size, {
    type: 'ext2',
    blockSize: 1024,
    label: 'mbr-ext2',
    keep: [
      { path: 'grub/grub.cfg', data: text(4000, 'grub') },
      { path: 'vmlinuz', data: rnd(1500 * KiB) },
      { path: 'a/b/c/d/e.txt', data: text(1, 'e') },
    ],
    drop: [{ path: 'initrd.old', data: rnd(12 * MiB) }],
    randomPaths: ['vmlinuz'],
  });
  place(join(dir, 'mbr-ext2.part'), ext2.start);
  const fat16 = { start: 99 * MiB, size: 48 * MiB };
  const fat16Fs = buildFat(dir, join(dir, 'mbr-fat16.part'), fat16.size, {
    bits: 16,
    label: 'MBRFAT16',
    keep: [
      { path: 'autoexec.bat', data: text(300, 'dos') },
      { path: 'games/doom.wad', data: rnd(MiB + 777) },
    ],
    drop: [{ path: 'games/big.dat', data: rnd(20 * MiB) }],
    randomPaths: ['games/doom.wad'],
  });
  place(join(dir, 'mbr-fat16.part'), fat16.start);
  const swap = { start: 148 * MiB, size: 16 * MiB };
  buildSwap(join(dir, 'mbr-swap.part'), swap.size, 'mbr-swap');
  place(join(dir, 'mbr-swap.part'), swap.start);

  const ebrs = [65 * MiB, 98 * MiB, 147 * MiB];
  for (const e of ebrs) assert.equal(readRegion(path, e + 510, 2).toString('hex'), '55aa', `sfdisk put an EBR at ${mib(e)}`);
  return {
    path,
    size,
    ext4: { ...ext4, fs: ext4Fs },
    ext2: { ...ext2, fs: ext2Fs },
    fat16: { ...fat16, fs: fat16Fs },
    swap,
    ebrs,
    unassigned: [...[65, 98, 147].map((m) => ({ start: m * MiB + SECTOR, size: MiB - SECTOR })), { start: 164 * MiB, size: 36 * MiB }],
    stale: [...ext4Fs.stale, ...ext2Fs.stale, ...fat16Fs.stale],
    toolUsed: ext4Fs.toolUsed + ext2Fs.toolUsed + fat16Fs.toolUsed + 4096,
    keptRandom: ext4Fs.keptRandom + ext2Fs.keptRandom + fat16Fs.keptRandom,
    probes: {
      ext4: withLoop(path, ext4.start, ext4.size, probe),
      ext2: withLoop(path, ext2.start, ext2.size, probe),
      fat16: withLoop(path, fat16.start, fat16.size, probe),
      swap: withLoop(path, swap.start, swap.size, probe),
    },
  };
}

function checkMbrTarget(src: MbrDisk, target: string, o: { fresh: boolean }): void {
  assert.deepEqual(tableOf(target), tableOf(src.path), 'sfdisk --json: the same table, logical partitions included');
  for (const key of ['ext4', 'ext2'] as const) {
    const part = src[key];
    withLoop(target, part.start, part.size, (dev) => {
      const fsck = check('e2fsck', ['-fn', dev]);
      assert.equal(fsck.code, 0, `e2fsck -fn on the restored ${key}:\n${fsck.out}`);
      assert.deepEqual(extShas(dev, part.fs.files), part.fs.files, `${key} files`);
      assert.deepEqual(probe(dev), src.probes[key], `blkid -p on the ${key} partition`);
    });
  }
  withLoop(target, src.fat16.start, src.fat16.size, (dev) => {
    const fsck = check('fsck.vfat', ['-n', dev]);
    assert.equal(fsck.code, 0, `fsck.vfat -n on the restored FAT16:\n${fsck.out}`);
    assert.deepEqual(probe(dev), src.probes.fat16, 'blkid -p on the FAT16 partition');
  });
  assert.deepEqual(fatShas(target, src.fat16.start, src.fat16.fs.files), src.fat16.fs.files, 'FAT16 files');
  withLoop(target, src.swap.start, src.swap.size, (dev) => assert.deepEqual(probe(dev), src.probes.swap, 'blkid -p on the swap partition'));
  for (const ebr of src.ebrs) assert.ok(readRegion(target, ebr, SECTOR).equals(readRegion(src.path, ebr, SECTOR)), `EBR at ${mib(ebr)} byte-identical`);
  if (o.fresh) {
    for (const u of src.unassigned) assert.ok(isZero(readRegion(target, u.start, u.size)), `unassigned ${mib(u.start)}..${mib(u.start + u.size)} comes back as zeros`);
  }
  assert.deepEqual(scanDisk(target, src.stale).found, src.stale.map(() => false), 'no byte of a deleted file comes back');
}

test('MBR disk: primary ext4, extended partition with ext2 (1k blocks), FAT16 and swap', { skip: SKIP }, async (t) => {
  const s = scope('lifeboat-fsaware-mbr-');
  try {
    const src = buildMbrDisk(s.dir);
    assert.deepEqual(scanDisk(src.path, src.stale).found, src.stale.map(() => true), 'the deleted files\' data is still on the source disk');
    const store = join(s.dir, 'store');
    let id = '';

    await t.test('backup follows the EBR chain and reads only used blocks', () => {
      const b = backup(src.path, store);
      id = b.id;
      const layout = layoutOf(id, store);
      const stored = storedBytes(store);
      t.diagnostic(
        `disk ${mib(src.size)}; bytesRead ${mib(b.stats.bytesRead)}; tools' used ${mib(src.toolUsed)}; layout used ${mib(layout.usedBytes)}; stored ${mib(stored)}; incompressible kept ${mib(src.keptRandom + MiB)}`,
      );
      t.diagnostic(`partitions: ${layout.partitions.map((p) => `${p.number}:${p.filesystem ?? p.typeName}/${p.method}/${p.usedBytes}`).join(' ')}`);
      assert.deepEqual(layout.warnings, []);
      const byNumber = new Map(layout.partitions.map((p) => [p.number, p]));
      for (const [n, fs, label] of [
        [1, 'ext4', 'mbr-ext4'],
        [5, 'ext2', 'mbr-ext2'],
        [6, 'fat16', 'MBRFAT16'],
        [7, 'swap', 'mbr-swap'],
      ] as const) {
        assert.equal(byNumber.get(n)?.filesystem, fs, `partition ${n} filesystem`);
        assert.equal(byNumber.get(n)?.fsLabel, label, `partition ${n} label`);
        assert.equal(byNumber.get(n)?.method, fs === 'swap' ? 'header' : 'used-blocks', `partition ${n} method`);
      }
      assert.equal(byNumber.get(5)?.start, src.ext2.start);
      assert.equal(byNumber.get(7)?.size, src.swap.size);
      assert.equal(byNumber.get(1)?.usedBytes, src.ext4.fs.toolUsed, 'ext4 used bytes as dumpe2fs counts them');
      assert.equal(byNumber.get(5)?.usedBytes, src.ext2.fs.toolUsed, 'ext2 used bytes as dumpe2fs counts them');
      assert.equal(byNumber.get(6)?.usedBytes, src.fat16.fs.toolUsed, 'FAT16 used bytes as fsck.fat -v counts them');
      // Used data, the first MiB and the EBRs, plus read-alignment slack.
      assert.ok(b.stats.bytesRead >= src.toolUsed, `bytesRead ${b.stats.bytesRead} covers the used data ${src.toolUsed}`);
      assert.ok(b.stats.bytesRead <= src.toolUsed + MiB + 8 * MiB, `bytesRead ${mib(b.stats.bytesRead)} ≈ used ${mib(src.toolUsed)}`);
      assert.ok(stored >= src.keptRandom, `stored ${mib(stored)} holds the kept random data`);
      assert.ok(stored <= src.keptRandom + MiB + 3 * MiB, `stored ${mib(stored)} ≈ compressed used data`);
    });

    await t.test('restore onto a new file', () => {
      const target = join(s.dir, 'mbr-new.img');
      restoreOk(id, target, store);
      assert.equal(statSync(target).size, src.size);
      checkMbrTarget(src, target, { fresh: true });
      rmSync(target);
    });

    await t.test('restore onto a larger existing file filled with 0x5A', () => {
      const target = join(s.dir, 'mbr-larger.img');
      newFile(target, src.size + 100 * MiB, 0x5a);
      restoreOk(id, target, store, ['--verify']);
      assert.equal(statSync(target).size, src.size + 100 * MiB);
      checkMbrTarget(src, target, { fresh: false });
      rmSync(target);
    });
  } finally {
    s.close();
  }
});

// ---------------------------------------------------------------- 5. bare filesystem

test('bare ext4 image (2k blocks, no partition table): only used blocks read, restore clean', { skip: SKIP }, async (t) => {
  const s = scope('lifeboat-fsaware-bare-');
  try {
    const path = join(s.dir, 'bare.img');
    const size = 128 * MiB;
    const fs = buildExt(s.dir, path, size, {
      type: 'ext4',
      blockSize: 2048,
      label: 'bare',
      keep: [
        { path: 'var/log/syslog', data: text(200 * KiB, 'syslog') },
        { path: 'srv/blob.bin', data: rnd(2 * MiB + 1) },
      ],
      drop: [{ path: 'var/cache/big.bin', data: rnd(48 * MiB) }],
      randomPaths: ['srv/blob.bin'],
    });
    assert.deepEqual(scanDisk(path, fs.stale).found, [true], 'the deleted file\'s data is still in the image');
    const store = join(s.dir, 'store');
    let id = '';

    await t.test('backup reads only used blocks', () => {
      const b = backup(path, store);
      id = b.id;
      const layout = layoutOf(id, store);
      const stored = storedBytes(store);
      t.diagnostic(`disk ${mib(size)}; bytesRead ${mib(b.stats.bytesRead)}; dumpe2fs used ${mib(fs.toolUsed)}; layout used ${mib(layout.usedBytes)}; stored ${mib(stored)}`);
      assert.equal(layout.table, 'none');
      assert.deepEqual(layout.partitions, []);
      assert.deepEqual(layout.wholeDisk, { filesystem: 'ext4', method: 'used-blocks' });
      assert.equal(layout.usedBytes, fs.toolUsed, 'used bytes as dumpe2fs counts them');
      assert.deepEqual(layout.warnings, []);
      assert.ok(b.stats.bytesRead >= fs.toolUsed, `bytesRead ${b.stats.bytesRead} covers the used data ${fs.toolUsed}`);
      // The first MiB is kept raw whatever it holds.
      assert.ok(b.stats.bytesRead <= fs.toolUsed + MiB + 4 * MiB, `bytesRead ${mib(b.stats.bytesRead)} ≈ used ${mib(fs.toolUsed)}`);
      assert.ok(stored <= fs.keptRandom + 2 * MiB, `stored ${mib(stored)} ≈ compressed used data`);
    });

    for (const [name, prefill] of [
      ['a new file', null],
      ['an existing same-size file filled with 0x5A', 0x5a],
    ] as const) {
      await t.test(`restore onto ${name}: e2fsck-clean, files intact`, () => {
        const target = join(s.dir, 'bare-restored.img');
        if (prefill !== null) newFile(target, size, prefill);
        restoreOk(id, target, store);
        const fsck = check('e2fsck', ['-fn', target]);
        assert.equal(fsck.code, 0, `e2fsck -fn:\n${fsck.out}`);
        assert.deepEqual(extShas(target, fs.files), fs.files);
        assert.deepEqual(scanDisk(target, fs.stale).found, fs.stale.map(() => false), 'no byte of the deleted file comes back');
        rmSync(target);
      });
    }
  } finally {
    s.close();
  }
});
