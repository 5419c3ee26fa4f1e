import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fatUsage, markUsedEntries, probeFat } from './fat.js';
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, bufferReader } from './types.js';
import { noise, withTempDir as withTempDirIn } from '../../../test/helpers/fixtures.js';

const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const withTempDir = (fn: (dir: string) => void | Promise<void>) => withTempDirIn('lifeboat-fat-', fn);

interface Built {
  path: string;
  /** Live files: image path → SHA-256. */
  files: Map<string, string>;
  /** Content of files deleted with mdel, whose clusters are free but still hold the bytes. */
  deleted: Buffer[];
}

/** mkfs.vfat an image, fill it with mcopy (fragmenting one file across holes), then mdel some files. */
function buildFat(dir: string, sizeMiB: number, cluster: number, mkfsArgs: string[]): Built {
  const path = join(dir, 'fat.img');
  writeFileSync(path, '');
  truncateSync(path, sizeMiB << 20);
  run('mkfs.vfat', [...mkfsArgs, '-n', 'LIFEBOAT', '-i', '1234abcd', path]);
  const files = new Map<string, string>();
  const deleted: Buffer[] = [];
  let seed = 1;
  const put = (name: string, size: number): Buffer => {
    const data = noise(size, seed++);
    const local = join(dir, 'src.bin');
    writeFileSync(local, data);
    run('mcopy', ['-i', path, local, `::${name}`]);
    files.set(name, sha256(data));
    return data;
  };
  const del = (name: string): void => {
    run('mdel', ['-i', path, `::${name}`]);
    files.delete(name);
  };
  run('mmd', ['-i', path, '::DOCS', '::DOCS/SUB']);
  put('DOCS/A long file name.txt', 300);
  put('DOCS/SUB/deep.bin', cluster * 3 + 7);
  put('empty.txt', 0);
  for (let i = 0; i < 10; i++) {
    put(`keep${i}.bin`, cluster * 2 + 100);
    put(`gap${i}.bin`, cluster * 3);
  }
  for (let i = 0; i < 10; i++) del(`gap${i}.bin`);
  put('fragmented.bin', cluster * 25 + 17);
  for (let i = 0; i < 3; i++) deleted.push(put(`gone${i}.bin`, cluster * 8 + 5));
  put('tail.bin', cluster + 1);
  for (let i = 0; i < 3; i++) del(`gone${i}.bin`);
  return { path, files, deleted };
}

/** A copy of `image` whose bytes outside `used` are `fill`. */
function padFree(image: Buffer, used: Extent[], fill: number): Buffer {
  const out = Buffer.alloc(image.length, fill);
  for (const e of used) image.copy(out, e.start, e.start, e.start + e.length);
  return out;
}

function assertWellFormed(usage: FsUsage): void {
  let end = -1;
  let sum = 0;
  for (const e of usage.used) {
    assert.ok(e.length > 0 && e.start > end && e.start + e.length <= usage.totalBytes, 'extents sorted, merged, inside the volume');
    end = e.start + e.length;
    sum += e.length;
  }
  assert.equal(usage.usedBytes, sum);
}

/** Reads every file out of an image with mcopy and returns path → SHA-256. */
function filesIn(dir: string, image: string): Map<string, string> {
  const out = join(dir, 'out');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  run('mcopy', ['-s', '-n', '-i', image, '::*', out]);
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else found.set(relative(out, p), sha256(readFileSync(p)));
    }
  };
  walk(out);
  return found;
}

const cases = [
  { name: 'FAT12, 512-byte sectors, 2 KiB clusters', type: 'fat12', sizeMiB: 4, sector: 512, spc: 4 },
  { name: 'FAT12, 4096-byte sectors', type: 'fat12', sizeMiB: 8, sector: 4096, spc: 1 },
  { name: 'FAT16, 512-byte sectors, 2 KiB clusters', type: 'fat16', sizeMiB: 32, sector: 512, spc: 4 },
  { name: 'FAT16, 4096-byte sectors, 8 KiB clusters', type: 'fat16', sizeMiB: 64, sector: 4096, spc: 2 },
  { name: 'FAT32, 512-byte sectors and clusters', type: 'fat32', sizeMiB: 40, sector: 512, spc: 1 },
  { name: 'FAT32, 4096-byte sectors', type: 'fat32', sizeMiB: 272, sector: 4096, spc: 1 },
] as const;

for (const c of cases) {
  test(`${c.name}: counts match fsck.vfat, wiped free space still checks clean`, withTempDir(async (dir) => {
    const cluster = c.sector * c.spc;
    const bits = c.type.slice(3);
    const built = buildFat(dir, c.sizeMiB, cluster, ['-F', bits, '-S', String(c.sector), '-s', String(c.spc)]);
    const image = readFileSync(built.path);
    const reader = bufferReader(image);
    assert.equal(await probeFat(reader), true);
    const usage = await fatUsage(reader);
    assertWellFormed(usage);
    assert.equal(usage.fsType, c.type);
    assert.equal(usage.blockSize, cluster);
    assert.equal(usage.totalBytes, c.sizeMiB << 20);
    assert.equal(usage.label, 'LIFEBOAT');
    assert.equal(usage.uuid, '1234-ABCD');
    assert.match(run('blkid', [built.path]), / UUID="1234-ABCD"/);

    // Used and total data clusters, as fsck.vfat counts them.
    const summary = /(\d+)\/(\d+) clusters/.exec(run('fsck.vfat', ['-n', '-v', built.path]));
    const [usedClusters, totalClusters] = [Number(summary?.[1]), Number(summary?.[2])];
    const bps = image.readUInt16LE(11);
    const fatSz = image.readUInt16LE(22) || image.readUInt32LE(36);
    const dataStart = (image.readUInt16LE(14) + image[16]! * fatSz) * bps + Math.ceil((image.readUInt16LE(17) * 32) / bps) * bps;
    const dataUsed = usage.used.reduce((sum, e) => sum + Math.max(0, e.start + e.length - Math.max(e.start, dataStart)), 0);
    assert.equal(dataUsed / cluster, usedClusters);
    assert.equal(usage.usedBytes, dataStart + dataUsed);
    assert.equal(Math.floor((usage.totalBytes - dataStart) / cluster), totalClusters);
    const free = /([\d ]+) bytes free/.exec(run('mdir', ['-i', built.path, '::']))?.[1]?.replace(/ /g, '');
    assert.equal(Number(free), (totalClusters - usedClusters) * cluster);

    // Garbage in every free byte: the filesystem still checks clean and every file reads back intact.
    const wipedPath = join(dir, 'wiped.img');
    writeFileSync(wipedPath, padFree(image, usage.used, 0xa5));
    run('fsck.vfat', ['-n', wipedPath]);
    assert.deepEqual(filesIn(dir, wipedPath), built.files);

    // Zeros in every free byte: deleted files leave nothing behind (and they did before).
    const zeroed = padFree(image, usage.used, 0);
    for (const data of built.deleted) {
      for (let at = 64; at < data.length; at += cluster * 3) {
        const sample = data.subarray(at, at + 48);
        assert.ok(image.includes(sample), 'mdel left the deleted bytes in the original image');
        assert.ok(!zeroed.includes(sample), 'stale bytes of a deleted file survived the padding');
      }
    }
  }));
}

test('FAT32-style BPB with too few clusters is refused as ambiguous', withTempDir(async (dir) => {
  const path = join(dir, 'small32.img');
  writeFileSync(path, '');
  truncateSync(path, 20 << 20);
  run('mkfs.vfat', ['-F', '32', path]);
  const reader = bufferReader(readFileSync(path));
  assert.equal(await probeFat(reader), true);
  await assert.rejects(fatUsage(reader), (e: unknown) => e instanceof LayoutProblem && /ambiguous/.test(e.message));
}));

test('bad-cluster marks, FAT copies that differ, reserved FAT32 bits, root-directory label', withTempDir(async (dir) => {
  const built = buildFat(dir, 40, 512, ['-F', '32', '-s', '1']);
  const image = readFileSync(built.path);
  const fatStart = image.readUInt16LE(14) * 512;
  const fatBytes = image.readUInt32LE(36) * 512;
  const before = await fatUsage(bufferReader(image));
  const dataStart = fatStart + 2 * fatBytes;
  const clusters = image.readUInt32LE(32) - dataStart / 512;
  const at = (cluster: number): number => dataStart + (cluster - 2) * 512;
  const [bad, onlySecond, reservedBits] = [clusters - 10, clusters - 20, clusters - 30];
  image.writeUInt32LE(0x0ffffff7, fatStart + bad * 4);
  image.writeUInt32LE(0x0fffffff, fatStart + fatBytes + onlySecond * 4);
  image.writeUInt32LE(0x10000000, fatStart + reservedBits * 4);
  image.write('OTHERLABEL ', 71, 'latin1');
  const after = await fatUsage(bufferReader(image));
  assert.equal(after.usedBytes, before.usedBytes + 2 * 512);
  const isUsed = (offset: number): boolean => after.used.some((e) => offset >= e.start && offset < e.start + e.length);
  assert.ok(isUsed(at(bad)) && isUsed(at(onlySecond)) && !isUsed(at(reservedBits)));
  assert.equal(after.label, 'LIFEBOAT', 'the root-directory label wins over the BPB copy');
}));

test('not FAT, or a BPB larger than the device', async () => {
  assert.equal(await probeFat(bufferReader(Buffer.alloc(4096))), false);
  assert.equal(await probeFat(bufferReader(Buffer.alloc(100))), false);
  await assert.rejects(fatUsage(bufferReader(Buffer.alloc(4096))), (e: unknown) => e instanceof LayoutProblem && e.subject === 'fat');
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-fat-'));
  try {
    const path = join(dir, 'f.img');
    writeFileSync(path, '');
    truncateSync(path, 4 << 20);
    run('mkfs.vfat', ['-F', '12', '-s', '4', path]);
    const image = readFileSync(path);
    await assert.rejects(fatUsage(bufferReader(image.subarray(0, 3 << 20))), /device has only/);
    const ntfsLike = Buffer.from(image.subarray(0, 512));
    ntfsLike[16] = 0;
    assert.equal(await probeFat(bufferReader(ntfsLike)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

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

test('fuzz: mutated BPBs, FATs and root directories yield a usage or a LayoutProblem', { timeout: 120_000 }, withTempDir(async (dir) => {
  let seed = 0xfa7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const outcomes = { ok: 0, problem: 0 };
  for (const [bits, sizeMiB, spc] of [['12', 4, 4], ['16', 16, 2], ['32', 34, 1]] as const) {
    const sub = join(dir, bits);
    mkdirSync(sub);
    const built = buildFat(sub, sizeMiB, 512 * spc, ['-F', bits, '-s', String(spc)]);
    const image = readFileSync(built.path);
    const fatStart = image.readUInt16LE(14) * 512;
    const rootStart = fatStart + image[16]! * (image.readUInt16LE(22) || image.readUInt32LE(36)) * 512;
    const bpbHot = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 32, 33, 34, 35, 36, 37, 38, 39, 44, 45, 46, 47, 66, 510];
    for (let i = 0; i < 1500; i++) {
      const patches: Array<[number, number]> = [];
      for (let k = 1 + rand(4); k > 0; k--) {
        const region = rand(4);
        const at = region === 0 ? bpbHot[rand(bpbHot.length)]! : region === 1 ? rand(512) : region === 2 ? fatStart + rand(2048) : rootStart + rand(1024);
        patches.push([at, [0, 0xff, 0x80, 0x01, rand(256)][rand(5)]!]);
      }
      try {
        const usage = await fatUsage(patchedReader(image, patches, 8 * image.length));
        assertWellFormed(usage);
        assert.ok(usage.totalBytes <= image.length);
        outcomes.ok++;
      } catch (e) {
        if (!(e instanceof LayoutProblem)) throw e;
        outcomes.problem++;
      }
    }
  }
  assert.ok(outcomes.ok > 1000 && outcomes.problem > 100, JSON.stringify(outcomes));
}));

test('used entries: the zero-block fast path marks exactly what decoding every entry does (FAT12/16/32, reserved FAT32 bits, ragged ends)', () => {
  // The entry as the FAT specification reads it, one by one: the reference.
  const reference = (type: 'fat12' | 'fat16' | 'fat32', b: Buffer, i: number): boolean => {
    if (type === 'fat32') return (b.readUInt32LE(i * 4) & 0x0fffffff) !== 0;
    if (type === 'fat16') return b.readUInt16LE(i * 2) !== 0;
    const pair = b.readUInt16LE(Math.floor((i * 3) / 2));
    return (i % 2 === 0 ? pair & 0xfff : pair >> 4) !== 0;
  };
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const type of ['fat12', 'fat16', 'fat32'] as const) {
    const bits = type === 'fat12' ? 12 : type === 'fat16' ? 16 : 32;
    for (const count of [2, 3, 4095, 4096, 4097, 9001, 20_000]) {
      for (const density of [0, 0.0005, 0.05, 1]) {
        const bytes = Buffer.alloc(Math.ceil((count * bits) / 8) + (type === 'fat12' ? 1 : 0));
        for (let k = 0; k < bytes.length; k++) if (rand() < density) bytes[k] = rand() < 0.3 ? 0xf0 : 1 + Math.floor(rand() * 255);
        const used = new Uint8Array(count);
        markUsedEntries(type, bytes, used);
        for (let i = 0; i < count; i++) assert.equal(used[i] === 1, reference(type, bytes, i), `${type}, ${count} entries, density ${density}: entry ${i}`);
        // Marks from an earlier FAT copy stay.
        const before = Uint8Array.from(used, () => (rand() < 0.1 ? 1 : 0));
        const merged = Uint8Array.from(before);
        markUsedEntries(type, bytes, merged);
        for (let i = 0; i < count; i++) assert.equal(merged[i] === 1, before[i] === 1 || used[i] === 1, `${type}: entry ${i} of a second copy`);
      }
    }
  }
});
