import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, writeSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ntfsUsage, probeNtfs } from './ntfs.js';
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, bufferReader } from './types.js';
import { noise, withTempDir as withTempDirIn } from '../../../test/helpers/fixtures.js';

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
const fuse = existsSync('/dev/fuse') && process.getuid?.() === 0;
const skip = fuse ? false : 'needs root and /dev/fuse to populate images with ntfs-3g';

const withTempDir = (fn: (dir: string) => void | Promise<void>) => withTempDirIn('lifeboat-ntfs-', fn);

const mounted = (mnt: string): boolean => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);

/** Mounts `image` with ntfs-3g in the foreground, runs `fn`, unmounts and waits for ntfs-3g to finish writing. */
async function withMount<T>(image: string, options: string, fn: (mnt: string) => T | Promise<T>): Promise<T> {
  const mnt = `${image}.mnt`;
  mkdirSync(mnt, { recursive: true });
  // stderr goes to a file, not a pipe: the callers' synchronous file calls block our event loop, and a
  // full pipe would block ntfs-3g in turn (it logs every ENOSPC).
  const logPath = `${image}.ntfs-3g.log`;
  const log = openSync(logPath, 'w');
  const child = spawn('ntfs-3g', ['-o', ['no_detach', options].filter(Boolean).join(','), image, mnt], { stdio: ['ignore', 'ignore', log] });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  for (let waited = 0; !mounted(mnt); waited += 20) {
    if (waited > 10_000 || child.exitCode !== null) throw new Error(`ntfs-3g ${image} failed: ${readFileSync(logPath, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    return await fn(mnt);
  } finally {
    run('umount', [mnt]);
    await exited;
  }
}

interface Built {
  path: string;
  /** Live files: path in the volume → SHA-256. */
  files: Map<string, string>;
  /** Content of deleted files, whose clusters are now free but still hold the bytes. */
  deleted: Buffer[];
}

/** mkntfs an image and fill it through ntfs-3g: a tree, resident and sparse files, one fragmented file, deleted files. */
async function buildNtfs(dir: string, sizeMiB: number, cluster: number, extra: string[] = [], populate = true): Promise<Built> {
  const path = join(dir, 'ntfs.img');
  writeFileSync(path, '');
  truncateSync(path, sizeMiB << 20);
  run('mkntfs', ['-F', '-Q', '-c', String(cluster), '-L', 'Lifeboat NTFS', ...extra, path]);
  const unit = Math.min(cluster, 16384);
  const files = new Map<string, string>();
  const deleted: Buffer[] = [];
  if (!populate) return { path, files, deleted };
  let seed = 7;
  await withMount(path, '', (mnt) => {
    const put = (name: string, size: number): Buffer => {
      const data = noise(size, seed++);
      writeFileSync(join(mnt, name), data);
      files.set(name, sha256(data));
      return data;
    };
    const del = (name: string): void => {
      rmSync(join(mnt, name));
      files.delete(name);
    };
    mkdirSync(join(mnt, 'docs/sub'), { recursive: true });
    put('docs/resident.txt', 200);
    put('docs/sub/deep.bin', unit * 3 + 7);
    put('empty.txt', 0);
    for (let i = 0; i < 5; i++) {
      put(`keep${i}.bin`, unit * 2 + 100);
      put(`gap${i}.bin`, unit * 3);
    }
    for (let i = 0; i < 5; i++) del(`gap${i}.bin`);
    put('fragmented.bin', unit * 14 + 17);
    const fd = openSync(join(mnt, 'sparse.bin'), 'w');
    const head = noise(1000, seed++);
    const tail = noise(3000, seed++);
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, tail, 0, tail.length, 64 * unit);
    closeSync(fd);
    files.set('sparse.bin', sha256(Buffer.concat([head, Buffer.alloc(64 * unit - head.length), tail])));
    for (let i = 0; i < 3; i++) deleted.push(put(`gone${i}.bin`, Math.max(unit * 8 + 5, 200_000)));
  });
  await withMount(path, '', (mnt) => {
    for (let i = 0; i < 3; i++) {
      rmSync(join(mnt, `gone${i}.bin`));
      files.delete(`gone${i}.bin`);
    }
  });
  return { path, files, deleted };
}

function padFree(image: Buffer, used: Extent[], fill: number): Buffer {
  const out = Buffer.alloc(image.length, fill);
  for (const e of used) image.copy(out, e.start, e.start, e.start + e.length);
  return out;
}

function assertWellFormed(usage: FsUsage, deviceSize: number): void {
  let end = -1;
  let sum = 0;
  for (const e of usage.used) {
    assert.ok(e.length > 0 && e.start > end && e.start + e.length <= usage.totalBytes, 'extents sorted, merged, inside the volume');
    end = e.start + e.length;
    sum += e.length;
  }
  assert.equal(usage.usedBytes, sum);
  assert.ok(usage.totalBytes <= deviceSize);
}

/** Every file of a mounted volume: path → SHA-256. */
function hashTree(root: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name.startsWith('$') || name === 'System Volume Information') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else found.set(relative(root, p), sha256(readFileSync(p)));
    }
  };
  walk(root);
  return found;
}

/** Clusters the volume has (boot sector fields), and how many ntfscluster says are free. */
function toolCounts(path: string, image: Buffer): { clusters: number; free: number; clusterSize: number } {
  const bps = image.readUInt16LE(11);
  const spc = image[13]!;
  const clusterSize = bps * (spc <= 0x80 ? spc : 2 ** (256 - spc));
  const clusters = Math.floor(Number(image.readBigUInt64LE(0x28)) * bps / clusterSize);
  const free = Number(/clusters of free space\s*:\s*(\d+)/.exec(run('ntfscluster', ['-f', '-i', path]))?.[1]);
  return { clusters, free, clusterSize };
}

/** The full check: counts against ntfscluster, garbage in free space still checks clean and reads back, zeros leave no stale bytes. */
async function checkImage(dir: string, built: Built, label: string | undefined): Promise<FsUsage> {
  const image = readFileSync(built.path);
  const reader = bufferReader(image);
  assert.equal(await probeNtfs(reader), true);
  const usage = await ntfsUsage(reader);
  assertWellFormed(usage, image.length);
  assert.equal(usage.fsType, 'ntfs');
  assert.equal(usage.label, label);
  assert.match(run('blkid', [built.path]), new RegExp(` UUID="${usage.uuid}"`));

  const { clusters, free, clusterSize } = toolCounts(built.path, image);
  assert.equal(usage.blockSize, clusterSize);
  const volumeEnd = clusters * clusterSize;
  const inVolume = usage.used.reduce((sum, e) => sum + Math.max(0, Math.min(e.start + e.length, volumeEnd) - e.start), 0);
  assert.equal(inVolume / clusterSize, clusters - free, 'used clusters = clusters - ntfscluster free');
  assert.equal(usage.usedBytes - inVolume, usage.totalBytes - volumeEnd, 'the tail with the backup boot sector is kept');
  assert.equal(usage.totalBytes, image.length);

  const wipedPath = join(dir, 'wiped.img');
  writeFileSync(wipedPath, padFree(image, usage.used, 0xa5));
  assert.match(run('ntfsfix', ['-n', wipedPath]), /processed successfully/);
  assert.doesNotMatch(run('ntfsresize', ['-i', '-f', '-P', wipedPath]), /ERROR/);
  assert.deepEqual(await withMount(wipedPath, 'ro', hashTree), built.files);
  rmSync(wipedPath);

  const zeroed = padFree(image, usage.used, 0);
  let present = 0;
  for (const data of built.deleted) {
    for (let at = 64; at < data.length; at += 65536 + 111) {
      const sample = data.subarray(at, at + 48);
      if (image.includes(sample)) present++;
      assert.ok(!zeroed.includes(sample), 'stale bytes of a deleted file survived the padding');
    }
  }
  if (built.deleted.length > 0) assert.ok(present > 0, 'the deleted files did leave stale bytes in the original image');
  return usage;
}

const cases: Array<{ cluster: number; sizeMiB: number; extra?: string[] }> = [
  { cluster: 512, sizeMiB: 24 }, { cluster: 1024, sizeMiB: 24 }, { cluster: 2048, sizeMiB: 24 },
  { cluster: 4096, sizeMiB: 32 }, { cluster: 8192, sizeMiB: 48 }, { cluster: 16384, sizeMiB: 48 },
  { cluster: 32768, sizeMiB: 64 }, { cluster: 65536, sizeMiB: 64 }, { cluster: 2 << 20, sizeMiB: 128 },
  { cluster: 4096, sizeMiB: 48, extra: ['-s', '4096'] },
];
/** The cluster sizes between 64 KiB and 2 MiB, checked on freshly made volumes only. */
const freshCases = [128 << 10, 256 << 10, 512 << 10, 1 << 20];

for (const c of cases) {
  const name = `mkntfs -c ${c.cluster}${c.extra ? ` ${c.extra.join(' ')}` : ''}`;
  test(`${name}: counts match ntfscluster, wiped free space checks clean, files read back`, { skip }, withTempDir(async (dir) => {
    const usage = await checkImage(dir, await buildNtfs(dir, c.sizeMiB, c.cluster, c.extra), 'Lifeboat NTFS');
    assert.equal(usage.blockSize, c.cluster);
  }));
}

for (const cluster of freshCases) {
  test(`mkntfs -c ${cluster}, empty volume: counts match ntfscluster, wiped free space checks clean`, { skip }, withTempDir(async (dir) => {
    const usage = await checkImage(dir, await buildNtfs(dir, 96, cluster, [], false), 'Lifeboat NTFS');
    assert.equal(usage.blockSize, cluster);
  }));
}

/** A volume whose $MFT grew into single-record holes until record 0 needed an $ATTRIBUTE_LIST and extension records. */
async function buildFragmentedMft(dir: string): Promise<Built> {
  const path = join(dir, 'frag.img');
  writeFileSync(path, '');
  truncateSync(path, 10 << 20);
  run('mkntfs', ['-F', '-Q', '-c', '512', path]);
  const files = new Map<string, string>();
  await withMount(path, '', (mnt) => {
    const names: string[] = [];
    try {
      for (let i = 0; ; i++) {
        const data = noise(1024, i + 1);
        writeFileSync(join(mnt, `f${i}`), data);
        names.push(`f${i}`);
        files.set(`f${i}`, sha256(data));
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
    for (let i = 0; i < names.length; i += 2) {
      rmSync(join(mnt, names[i]!));
      files.delete(names[i]!);
    }
    try {
      for (let i = 0; i < 5000; i++) {
        writeFileSync(join(mnt, `e${i}`), '');
        files.set(`e${i}`, sha256(Buffer.alloc(0)));
      }
    } catch (e) {
      if (!['ENOSPC', 'ENOENT'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  });
  return { path, files, deleted: [] };
}

let fragmented: Promise<Built> | undefined;
const fragmentedDir = mkdtempSync(join(tmpdir(), 'lifeboat-ntfs-frag-'));
after(() => rmSync(fragmentedDir, { recursive: true, force: true }));
const fragmentedImage = (): Promise<Built> => (fragmented ??= buildFragmentedMft(fragmentedDir));

test('fragmented $MFT with an $ATTRIBUTE_LIST and extension records', { skip }, async () => {
  const built = await fragmentedImage();
  const info = run('ntfsinfo', ['-f', '-i', '0', built.path]);
  assert.match(info, /\$ATTRIBUTE_LIST/, 'precondition: record 0 has an attribute list');
  assert.match(info, /\$DATA \(0x80\) from mft record (?!0 )\d+/, 'precondition: $MFT data continues in an extension record');
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-ntfs-'));
  try {
    await checkImage(dir, built, undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Byte offset of attribute `type` in MFT record `n` of a freshly made volume (whose first records are contiguous). */
function findAttribute(image: Buffer, n: number, type: number): number {
  const cs = image.readUInt16LE(11) * image[13]!;
  const perRecord = image.readInt8(0x40);
  const rs = perRecord > 0 ? perRecord * cs : 2 ** -perRecord;
  const record = Number(image.readBigUInt64LE(0x30)) * cs + n * rs;
  for (let at = record + image.readUInt16LE(record + 0x14); image.readUInt32LE(at) !== 0xffffffff; at += image.readUInt32LE(at + 4)) {
    if (image.readUInt32LE(at) === type) return at;
  }
  throw new Error(`no attribute 0x${type.toString(16)} in record ${n}`);
}

/** A $LogFile restart page with its update sequence applied, as Windows writes it. */
function restartPage(lsn: bigint, clientsInUse: number, flags: number, magic = 'RSTR'): Buffer {
  const page = Buffer.alloc(4096);
  page.write(magic, 0, 'latin1');
  page.writeUInt16LE(0x1e, 4);
  page.writeUInt16LE(9, 6);
  page.writeUInt32LE(4096, 0x10);
  page.writeUInt32LE(4096, 0x14);
  page.writeUInt16LE(0x30, 0x18);
  page.writeInt16LE(1, 0x1a);
  page.writeInt16LE(1, 0x1c);
  page.writeBigUInt64LE(lsn, 0x30);
  page.writeUInt16LE(1, 0x38);
  page.writeUInt16LE(0xffff, 0x3a);
  page.writeUInt16LE(clientsInUse, 0x3c);
  page.writeUInt16LE(flags, 0x3e);
  page.writeUInt16LE(7, 0x1e);
  for (let i = 1; i < 9; i++) {
    page.writeUInt16LE(page.readUInt16LE(i * 512 - 2), 0x1e + 2 * i);
    page.writeUInt16LE(7, i * 512 - 2);
  }
  return page;
}

test('volumes not shut down cleanly: $Volume dirty flag, $LogFile restart areas', { skip }, withTempDir(async (dir) => {
  const built = await buildNtfs(dir, 24, 4096);
  const image = readFileSync(built.path);
  const attempt = async (edit: (img: Buffer) => void): Promise<FsUsage> => {
    const copy = Buffer.from(image);
    edit(copy);
    return ntfsUsage(bufferReader(copy));
  };
  const refused = (pattern: RegExp) => (e: unknown): boolean => e instanceof LayoutProblem && e.subject === 'ntfs' && pattern.test(e.message);
  const info = findAttribute(image, 3, 0x70);
  const flagsAt = info + image.readUInt16LE(info + 0x14) + 10;
  await assert.rejects(attempt((img) => img.writeUInt16LE(img.readUInt16LE(flagsAt) | 1, flagsAt)), refused(/dirty/));

  const data = findAttribute(image, 2, 0x80);
  const runs = data + image.readUInt16LE(data + 0x20);
  const header = image[runs]!;
  const lcn = image.readUIntLE(runs + 1 + (header & 0x0f), header >> 4);
  const log = lcn * 4096;
  assert.ok(image.subarray(log, log + 8192).every((b) => b === 0xff), 'ntfs-3g left an emptied $LogFile');
  const withPages = (first: Buffer, second?: Buffer) => (img: Buffer): void => {
    first.copy(img, log);
    second?.copy(img, log + 4096);
  };
  const clean = restartPage(100n, 0xffff, 0);
  const active = restartPage(100n, 0, 0);
  assert.equal((await attempt(withPages(clean))).fsType, 'ntfs');
  assert.equal((await attempt(withPages(restartPage(100n, 0, 2)))).fsType, 'ntfs', 'clients in use but the volume-is-clean flag set');
  await assert.rejects(attempt(withPages(active)), refused(/replay/));
  await assert.rejects(attempt(withPages(clean, restartPage(200n, 0, 0))), refused(/replay/), 'the newer restart area wins');
  assert.equal((await attempt(withPages(active, restartPage(200n, 0xffff, 0)))).fsType, 'ntfs');
  await assert.rejects(attempt(withPages(restartPage(100n, 0xffff, 0, 'CHKD'))), refused(/chkdsk/));
  await assert.rejects(attempt(withPages(Buffer.alloc(4096, 0x11))), refused(/no valid restart page/));
  const torn = Buffer.from(clean);
  torn.writeUInt16LE(8, 1022);
  await assert.rejects(attempt(withPages(torn)), refused(/update sequence/));
}));

test('not NTFS, a device smaller than the volume, records marked bad', { skip }, withTempDir(async (dir) => {
  assert.equal(await probeNtfs(bufferReader(Buffer.alloc(4096))), false);
  assert.equal(await probeNtfs(bufferReader(Buffer.alloc(10))), false);
  await assert.rejects(ntfsUsage(bufferReader(Buffer.alloc(4096))), (e: unknown) => e instanceof LayoutProblem && e.subject === 'ntfs');
  const built = await buildNtfs(dir, 24, 4096);
  const image = readFileSync(built.path);
  await assert.rejects(ntfsUsage(bufferReader(image.subarray(0, image.length / 2))), /larger than the/);
  const bad = Buffer.from(image);
  bad.write('BAAD', Number(bad.readBigUInt64LE(0x30)) * 4096 + 6 * 2 ** -bad.readInt8(0x40), 'latin1');
  await assert.rejects(ntfsUsage(bufferReader(bad)), /MFT record 6 has magic "BAAD"/);
}));

/** A reader over `base` with some bytes replaced; reads outside it, or far too much reading, fail the test. */
function patchedReader(base: Buffer, patches: Array<[number, number]>, budget: number): BlockReader {
  let read = 0;
  return {
    size: base.length,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > base.length) {
        throw new Error(`parser read outside the device: ${length} bytes at ${offset}`);
      }
      read += length;
      if (read > budget) throw new Error(`parser read more than ${budget} bytes: looping?`);
      const out = Buffer.from(base.subarray(offset, offset + length));
      for (const [at, value] of patches) if (at >= offset && at < offset + length) out[at - offset] = value;
      return out;
    },
  };
}

test('fuzz: mutated boot sectors and MFT records yield a usage or a LayoutProblem', { skip, timeout: 120_000 }, withTempDir(async (dir) => {
  let seed = 0x7e57;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const outcomes = { ok: 0, problem: 0 };
  const plain = await buildNtfs(dir, 24, 4096);
  for (const [built, records] of [[plain, [0, 2, 3, 6]], [await fragmentedImage(), [0, 2, 3, 6, 15]]] as const) {
    const image = readFileSync(built.path);
    const cs = image.readUInt16LE(11) * image[13]!;
    const rs = 2 ** -image.readInt8(0x40);
    const mft = Number(image.readBigUInt64LE(0x30)) * cs;
    const bootHot = [0x0b, 0x0c, 0x0d, 0x28, 0x2b, 0x2e, 0x30, 0x31, 0x34, 0x37, 0x38, 0x3f, 0x40, 0x1fe];
    for (let i = 0; i < 2000; i++) {
      const patches: Array<[number, number]> = [];
      for (let k = 1 + rand(3); k > 0; k--) {
        const record = mft + records[rand(records.length)]! * rs;
        const at = rand(6) === 0 ? bootHot[rand(bootHot.length)]! : rand(3) === 0 ? record + rand(0x40) : record + rand(rs);
        patches.push([at, [0, 0xff, 0x80, 0x01, rand(256), (image[at] ?? 0) ^ (1 << rand(8))][rand(6)]!]);
      }
      try {
        assertWellFormed(await ntfsUsage(patchedReader(image, patches, 8 * image.length)), image.length);
        outcomes.ok++;
      } catch (e) {
        if (!(e instanceof LayoutProblem)) throw e;
        outcomes.problem++;
      }
    }
  }
  assert.ok(outcomes.ok > 1000 && outcomes.problem > 500, JSON.stringify(outcomes));
}));
