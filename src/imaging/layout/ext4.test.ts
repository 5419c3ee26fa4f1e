// ext2/3/4 used-block map against filesystems made by Debian's mke2fs. The strongest
// check: overwrite every block the parser calls free with 0xA5, then e2fsck must find
// the filesystem clean and every file must read back with its original SHA-256.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, symlinkSync, truncateSync, writeFileSync, writeSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extUsage, probeExt } from './ext4.js';
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, sliceReader } from './types.js';

let work = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'lifeboat-ext4-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs an e2fsprogs tool; `lenient` keeps its output even when it exits non-zero (dumpe2fs on a damaged image). */
function run(cmd: string, args: string[], lenient = false): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, E2FSPROGS_FAKE_TIME: '1700000000' } });
  if (result.error) throw result.error;
  if (result.status !== 0 && !lenient) throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** A BlockReader over a file; an out-of-range read throws a plain Error so the test fails loudly. */
async function withFile<T>(path: string, fn: (reader: BlockReader) => Promise<T>): Promise<T> {
  const fd = openSync(path, 'r');
  const size = lstatSync(path).size;
  try {
    return await fn({
      size,
      async read(offset, length) {
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
          throw new Error(`parser read ${length} bytes at ${offset} outside a ${size}-byte file`);
        }
        const buf = Buffer.alloc(length);
        readSync(fd, buf, 0, length, offset);
        return buf;
      },
    });
  } finally {
    closeSync(fd);
  }
}

/** Deterministic file content: a 64 KiB pseudo-random pattern stamped with the block index and a seed. */
function content(size: number, seed: number): Buffer {
  const pattern = Buffer.alloc(65536);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < pattern.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern.writeUInt32LE(x >>> 0, i);
  }
  const out = Buffer.alloc(size);
  for (let off = 0; off < size; off += 4096) {
    pattern.copy(out, off, off % pattern.length, Math.min(off % pattern.length + 4096, pattern.length));
    if (off + 8 <= size) {
      out.writeUInt32LE(seed, off);
      out.writeUInt32LE(off / 4096, off + 4);
    }
  }
  return out;
}

/** Writes a tree under <dir>/data: files of awkward sizes, a directory of small files, a symlink. */
function populate(dir: string, opts: { small?: boolean; bigFiles?: number[] } = {}): void {
  mkdirSync(join(dir, 'data', 'many'), { recursive: true });
  const sizes = opts.small ? [0, 1, 1000, 4096, 5000] : [0, 1, 1000, 4096, 5000, 70_000, 300_000, 1_500_000];
  sizes.forEach((size, i) => writeFileSync(join(dir, 'data', `f${i}`), content(size, i + 1)));
  for (let i = 0; i < (opts.small ? 5 : 60); i++) writeFileSync(join(dir, 'data', 'many', `s${i}`), content(200 + i * 97, 100 + i));
  (opts.bigFiles ?? []).forEach((size, i) => writeFileSync(join(dir, 'data', `big${i}`), content(size, 1000 + i)));
  symlinkSync('f2', join(dir, 'data', 'link'));
}

function digests(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, entry.name);
    if (entry.isDirectory()) for (const [k, v] of digests(dir, rel)) out.set(k, v);
    else if (entry.isFile()) out.set(rel, createHash('sha256').update(readFileSync(join(dir, rel))).digest('hex'));
  }
  return out;
}

function dumpe2fsCounts(img: string): { blocks: number; free: number; blockSize: number } {
  const header = run('dumpe2fs', ['-h', img]);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(header)?.[1] ?? NaN);
  return { blocks: field('Block count'), free: field('Free blocks'), blockSize: field('Block size') };
}

function checkShape(usage: FsUsage): void {
  let end = -1;
  let sum = 0;
  for (const e of usage.used) {
    assert.ok(e.length > 0 && e.start > end, `extents sorted and merged at ${e.start}`);
    end = e.start + e.length;
    sum += e.length;
  }
  assert.ok(end <= usage.totalBytes, 'extents within the filesystem');
  assert.equal(sum, usage.usedBytes);
}

/** A copy of `img` in which every byte outside `used` is 0xA5. */
function garbageCopy(img: string, used: Extent[], out: string): void {
  const src = openSync(img, 'r');
  const dst = openSync(out, 'w');
  const size = lstatSync(img).size;
  const junk = Buffer.alloc(1 << 20, 0xa5);
  const buf = Buffer.alloc(1 << 20);
  const copy = (start: number, end: number, fromSource: boolean) => {
    for (let off = start; off < end; off += buf.length) {
      const n = Math.min(buf.length, end - off);
      if (fromSource) readSync(src, buf, 0, n, off);
      writeSync(dst, fromSource ? buf : junk, 0, n, off);
    }
  };
  let pos = 0;
  for (const e of used) {
    copy(pos, e.start, false);
    copy(e.start, e.start + e.length, true);
    pos = e.start + e.length;
  }
  copy(pos, size, false);
  closeSync(src);
  closeSync(dst);
}

function covered(usage: FsUsage, block: number, count = 1): boolean {
  const start = block * usage.blockSize;
  const end = start + count * usage.blockSize;
  return usage.used.some((e) => e.start <= start && e.start + e.length >= end);
}

/**
 * Every metadata location dumpe2fs lists (superblock copies, descriptors, reserved GDT
 * blocks, bitmaps, inode tables) and every journal block must be in the map: e2fsck
 * does not look at the backups of BLOCK_UNINIT groups, so the garbage test alone would
 * not notice a missing backup.
 */
function assertMetadataCovered(img: string, usage: FsUsage): void {
  const dump = run('dumpe2fs', [img], true);
  const places = /(superblock|Group descriptors?|Reserved GDT blocks|Block bitmap|Inode bitmap|Inode table) at (\d+)(?:-(\d+))?/g;
  let found = 0;
  for (const m of dump.matchAll(places)) {
    const first = Number(m[2]);
    const last = m[3] === undefined ? first : Number(m[3]);
    assert.ok(covered(usage, first, last - first + 1), `${m[1]} at ${first}-${last} is in the map`);
    found++;
  }
  const groups = (dump.match(/^Group \d+:/gm) ?? []).length;
  assert.ok(groups > 0 && found >= groups * 3, `dumpe2fs listed ${found} metadata places for ${groups} groups`);
  const mmp = /^MMP block number:\s+(\d+)/m.exec(dump);
  if (mmp) assert.ok(covered(usage, Number(mmp[1])), 'the MMP block is in the map');
  if (/has_journal/.test(dump)) {
    // -c: catastrophic mode, which does not read the (possibly zeroed) bitmaps.
    const journal = run('debugfs', ['-c', '-R', 'blocks <8>', img]).split(/\s+/).filter(Boolean).map(Number);
    assert.ok(journal.length >= 1024, `debugfs listed ${journal.length} journal blocks`);
    assert.ok(journal.every((b) => covered(usage, b)), 'journal blocks are in the map');
    // Mapping blocks: indirect blocks of a block-mapped journal, index targets of an extent tree.
    const stat = run('debugfs', ['-c', '-R', 'stat <8>', img], true);
    const mapping = [...stat.matchAll(/\((?:IND|DIND|TIND)\):(\d+)/g)].map((m) => Number(m[1]));
    for (const m of run('debugfs', ['-c', '-R', 'ex <8>', img], true).matchAll(/^\s*(\d+)\/\s*(\d+)\s+\d+\/\s*\d+\s+\d+\s+-\s+\d+\s+(\d+)\s+\d+\s*$/gm)) {
      if (Number(m[1]) < Number(m[2])) mapping.push(Number(m[3]));
    }
    assert.ok(mapping.every((b) => covered(usage, b)), `journal mapping blocks ${mapping.join(' ')} are in the map`);
  }
}

/** Garbage-fills the free blocks, then requires a clean e2fsck and identical file contents. */
function assertSurvivesGarbage(name: string, img: string, usage: FsUsage, source: string): void {
  const junkImg = join(work, `${name}.junk`);
  garbageCopy(img, usage.used, junkImg);
  const fsck = spawnSync('e2fsck', ['-fn', junkImg], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, `e2fsck on the garbage-filled copy:\n${fsck.stdout}${fsck.stderr}`);
  const out = join(work, `${name}.out`);
  mkdirSync(out);
  run('debugfs', ['-R', `rdump /data ${out}`, junkImg]);
  // debugfs 1.47.0 dumps an inline-data file as its whole 60-byte inline area: cut the zero padding.
  for (const [rel] of digests(source)) {
    const want = readFileSync(join(source, rel));
    const got = readFileSync(join(out, rel));
    if (want.length < 60 && got.length === 60 && got.subarray(want.length).every((b) => b === 0)) writeFileSync(join(out, rel), got.subarray(0, want.length));
  }
  assert.deepEqual(digests(out), digests(source));
  rmSync(junkImg);
  rmSync(out, { recursive: true });
}

interface Case {
  name: string;
  mkfs?: string;
  args: string[];
  size: number;
  /** Blocks we may legitimately mark beyond dumpe2fs's count. */
  extra?: number;
  fsType: FsUsage['fsType'];
  small?: boolean;
  /** mke2fs -d leaves quota usage stale; let e2fsck settle it before the comparison. */
  fsckFirst?: boolean;
}

const MiB = 1 << 20;
const cases: Case[] = [
  { name: 'ext4-4k-default', args: ['-b', '4096'], size: 32 * MiB, fsType: 'ext4' },
  { name: 'ext4-1k-32bit', args: ['-b', '1024', '-O', '^64bit'], size: 20 * MiB + 37 * 1024, fsType: 'ext4' },
  { name: 'ext4-2k-64bit', args: ['-b', '2048', '-O', '64bit'], size: 24 * MiB, fsType: 'ext4' },
  { name: 'ext4-1k-meta_bg', args: ['-b', '1024', '-g', '256', '-O', 'meta_bg,^resize_inode'], size: 24 * MiB, fsType: 'ext4' },
  { name: 'ext4-4k-meta_bg-32bit', args: ['-b', '4096', '-g', '512', '-O', 'meta_bg,^resize_inode,^64bit'], size: 300 * MiB, fsType: 'ext4' },
  { name: 'ext4-sparse_super2', args: ['-b', '4096', '-g', '1024', '-O', 'sparse_super2'], size: 40 * MiB, fsType: 'ext4' },
  { name: 'ext4-sparse_super2-one-backup', args: ['-b', '1024', '-g', '512', '-O', 'sparse_super2', '-E', 'num_backup_sb=1'], size: 12 * MiB, fsType: 'ext4' },
  { name: 'ext4-no-flex_bg', args: ['-b', '1024', '-O', '^flex_bg'], size: 30 * MiB, fsType: 'ext4' },
  { name: 'ext4-uninit_bg', args: ['-b', '1024', '-g', '1024', '-O', 'uninit_bg,^metadata_csum'], size: 16 * MiB, fsType: 'ext4' },
  { name: 'ext4-flex-4-no-journal', args: ['-b', '1024', '-g', '512', '-G', '4', '-O', '^has_journal', '-I', '128'], size: 10 * MiB, fsType: 'ext4' },
  { name: 'ext4-bigalloc', args: ['-b', '4096', '-O', 'bigalloc', '-C', '16384'], size: 48 * MiB, fsType: 'ext4' },
  { name: 'ext4-bigalloc-1k-no-flex', args: ['-b', '1024', '-O', 'bigalloc,^flex_bg', '-C', '4096', '-g', '4096'], size: 40 * MiB, fsType: 'ext4' },
  { name: 'ext4-64k-blocks', args: ['-b', '65536'], size: 128 * MiB, fsType: 'ext4' },
  { name: 'ext4-no-sparse_super', args: ['-b', '1024', '-g', '1024', '-O', '^sparse_super,^resize_inode'], size: 16 * MiB, fsType: 'ext4' },
  { name: 'ext4-sparse_super2-no-backup', args: ['-b', '1024', '-g', '1024', '-O', 'sparse_super2', '-E', 'num_backup_sb=0'], size: 16 * MiB, fsType: 'ext4' },
  {
    name: 'ext4-many-features',
    args: ['-b', '4096', '-O', 'quota,project,orphan_file,inline_data,encrypt,casefold,ea_inode,large_dir,metadata_csum_seed,verity,stable_inodes,fast_commit'],
    size: 48 * MiB,
    fsType: 'ext4',
    fsckFirst: true,
  },
  { name: 'ext4-mmp', args: ['-b', '4096', '-O', 'mmp', '-E', 'mmp_update_interval=1'], size: 24 * MiB, fsType: 'ext4' },
  { name: 'ext4-tiny', args: ['-b', '1024', '-N', '32'], size: 256 * 1024 + 5 * 1024, fsType: 'ext4', small: true },
  { name: 'ext3-1k', mkfs: 'mkfs.ext3', args: ['-b', '1024'], size: 24 * MiB, fsType: 'ext3' },
  { name: 'ext3-4k', mkfs: 'mkfs.ext3', args: ['-b', '4096', '-J', 'size=4'], size: 64 * MiB, fsType: 'ext3' },
  { name: 'ext2-1k', mkfs: 'mkfs.ext2', args: ['-b', '1024'], size: 18 * MiB, fsType: 'ext2' },
  { name: 'ext2-no-sparse_super', mkfs: 'mkfs.ext2', args: ['-b', '2048', '-g', '2048', '-O', '^sparse_super,^resize_inode'], size: 20 * MiB, fsType: 'ext2' },
  { name: 'ext4-256M-sparse-file', args: [], size: 256 * MiB, fsType: 'ext4' },
];

describe('ext2/3/4 made by mke2fs', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const source = join(work, `${c.name}.src`);
      populate(source, { small: c.small });
      const img = join(work, `${c.name}.img`);
      writeFileSync(img, '');
      truncateSync(img, c.size);
      run(c.mkfs ?? 'mkfs.ext4', ['-F', '-q', '-L', c.name.slice(0, 16), '-d', source, ...c.args, img]);
      if (c.fsckFirst) run('e2fsck', ['-fy', img], true);
      const usage = await withFile(img, async (reader) => {
        assert.equal(await probeExt(reader), true);
        return extUsage(reader);
      });
      const counts = dumpe2fsCounts(img);
      checkShape(usage);
      assert.equal(usage.fsType, c.fsType);
      assert.equal(usage.blockSize, counts.blockSize);
      assert.equal(usage.totalBytes, counts.blocks * counts.blockSize);
      assert.equal(usage.label, c.name.slice(0, 16));
      assert.match(usage.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      const usedBlocks = usage.usedBytes / usage.blockSize;
      assert.ok(usedBlocks >= counts.blocks - counts.free, `used ${usedBlocks} blocks, dumpe2fs says ${counts.blocks - counts.free}`);
      assert.ok(usedBlocks - (counts.blocks - counts.free) <= (c.extra ?? 0), `used ${usedBlocks} blocks, dumpe2fs says ${counts.blocks - counts.free}`);
      assertMetadataCovered(img, usage);
      assertSurvivesGarbage(c.name, img, usage, source);
      rmSync(img);
      rmSync(source, { recursive: true });
    });
  }
});

function makeImage(name: string, size: number, args: string[], opts: { prefill?: number; bigFiles?: number[]; small?: boolean } = {}) {
  const source = join(work, `${name}.src`);
  populate(source, opts);
  const img = join(work, `${name}.img`);
  if (opts.prefill === undefined) {
    writeFileSync(img, '');
    truncateSync(img, size);
  } else {
    writeFileSync(img, Buffer.alloc(size, opts.prefill));
  }
  run('mkfs.ext4', ['-F', '-q', '-d', source, ...args, img]);
  return { source, img };
}

describe('ext stale data and free space', () => {
  test('BLOCK_UNINIT groups: their never-written bitmaps full of stale bytes are not read', async () => {
    const { source, img } = makeImage('prefilled', 24 * MiB, ['-b', '1024', '-E', 'nodiscard'], { prefill: 0x5a });
    const dump = run('dumpe2fs', [img]);
    assert.match(dump, /BLOCK_UNINIT/, 'the layout has BLOCK_UNINIT groups');
    const usage = await withFile(img, extUsage);
    const counts = dumpe2fsCounts(img);
    assert.equal(usage.usedBytes / usage.blockSize, counts.blocks - counts.free);
    assertMetadataCovered(img, usage);
    assertSurvivesGarbage('prefilled', img, usage, source);
  });

  test('blocks of files deleted with debugfs are reported free, the rest survives', async () => {
    const { source, img } = makeImage('deleted', 96 * MiB, ['-b', '4096'], { bigFiles: [12 * MiB, 9 * MiB, 5 * MiB] });
    const blocksOf = (path: string) => run('debugfs', ['-R', `blocks ${path}`, img]).trim().split(/\s+/).map(Number);
    const freed = [...blocksOf('/data/big0'), ...blocksOf('/data/big2')];
    assert.ok(freed.length > 4000);
    run('debugfs', ['-w', '-R', 'rm /data/big0', img]);
    run('debugfs', ['-w', '-R', 'rm /data/big2', img]);
    rmSync(join(source, 'data', 'big0'));
    rmSync(join(source, 'data', 'big2'));
    const usage = await withFile(img, extUsage);
    const counts = dumpe2fsCounts(img);
    assert.equal(usage.usedBytes / usage.blockSize, counts.blocks - counts.free);
    const stale = await withFile(img, (reader) => reader.read((freed[0] ?? 0) * 4096, 4096));
    assert.ok(stale.equals(content(12 * MiB, 1000).subarray(0, 4096)), 'the freed blocks still hold the deleted data');
    const isUsed = (block: number) => usage.used.some((e) => block * 4096 < e.start + e.length && (block + 1) * 4096 > e.start);
    assert.deepEqual(freed.filter(isUsed), [], 'no freed block is reported used');
    assertSurvivesGarbage('deleted', img, usage, source);
  });

  test('a filesystem smaller than its partition covers only its own blocks', async () => {
    const source = join(work, 'short.src');
    populate(source, { small: true });
    const img = join(work, 'short.img');
    writeFileSync(img, '');
    truncateSync(img, 16 * MiB);
    run('mkfs.ext4', ['-F', '-q', '-b', '1024', '-d', source, img, '9000']);
    const usage = await withFile(img, extUsage);
    assert.equal(usage.totalBytes, 9000 * 1024);
    checkShape(usage);
    const counts = dumpe2fsCounts(img);
    assert.equal(usage.usedBytes / 1024, counts.blocks - counts.free);
  });
});

/** Zeroes every block bitmap of the image file, so only the parser's own knowledge of metadata remains. */
function zeroBlockBitmaps(img: string, blockSize: number): void {
  const image = readFileSync(img);
  for (const m of run('dumpe2fs', [img], true).matchAll(/Block bitmap at (\d+)/g)) image.fill(0, Number(m[1]) * blockSize, (Number(m[1]) + 1) * blockSize);
  writeFileSync(img, image);
}

describe('ext metadata found without the bitmaps', () => {
  for (const [name, args] of [
    ['journal-extents', ['-b', '1024', '-g', '1024']],
    ['journal-blockmap', ['-T', 'ext3', '-O', '^extent,^flex_bg,^64bit,^metadata_csum', '-b', '1024', '-g', '2048']],
  ] as const) {
    test(`${name}: journal and metadata are mapped even when every block bitmap is zeroed`, async () => {
      const { img } = makeImage(name, 12 * MiB, [...args], { small: true });
      zeroBlockBitmaps(img, 1024);
      const usage = await withFile(img, extUsage);
      checkShape(usage);
      assertMetadataCovered(img, usage);
    });
  }

  test('a fragmented journal with a depth-2 extent tree', async () => {
    const { source, img } = makeImage('fragmented-journal', 8 * MiB, ['-b', '1024', '-O', '^has_journal'], { small: true });
    // Pin every other free block, add the journal into the gaps, then unpin.
    const pinned: number[] = [];
    for (const m of run('dumpe2fs', [img]).matchAll(/^ {2}Free blocks: (.+)$/gm)) {
      for (const range of (m[1] ?? '').split(', ')) {
        const [lo, hi] = range.split('-').map(Number);
        for (let b = lo ?? 0; b <= (hi ?? lo ?? 0); b++) if (b % 2 === 0) pinned.push(b);
      }
    }
    const cmds = join(work, 'pin.cmds');
    writeFileSync(cmds, pinned.map((b) => `setb ${b}`).join('\n'));
    run('debugfs', ['-w', '-f', cmds, img]);
    run('tune2fs', ['-J', 'size=1', img]);
    writeFileSync(cmds, pinned.map((b) => `freeb ${b}`).join('\n'));
    run('debugfs', ['-w', '-f', cmds, img]);
    assert.match(run('debugfs', ['-R', 'ex <8>', img]), /^ 0\/ 2 /m, 'the journal extent tree has depth 2');
    const usage = await withFile(img, extUsage);
    const counts = dumpe2fsCounts(img);
    assert.equal(usage.usedBytes / 1024, counts.blocks - counts.free);
    assertMetadataCovered(img, usage);
    assertSurvivesGarbage('fragmented-journal', img, usage, source);
    zeroBlockBitmaps(img, 1024);
    const blind = await withFile(img, extUsage);
    assertMetadataCovered(img, blind);
  });

  test('meta_bg with a non-zero first_meta_bg: descriptors where e2fsprogs expects them', async () => {
    const { img } = makeImage('first-meta-bg', 24 * MiB, ['-b', '1024', '-g', '256', '-O', 'meta_bg,^resize_inode'], { small: true });
    run('debugfs', ['-w', '-R', 'ssv first_meta_bg 2', img]);
    const usage = await withFile(img, extUsage);
    checkShape(usage);
    assertMetadataCovered(img, usage);
  });
});

describe('ext refusals', () => {
  let image = Buffer.alloc(0);
  before(() => {
    const { img } = makeImage('refusals', 4 * MiB, ['-b', '1024'], { small: true });
    image = readFileSync(img);
  });
  const reader = (buf: Buffer): BlockReader => ({
    size: buf.length,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > buf.length) throw new Error(`read of ${length} at ${offset} outside ${buf.length}`);
      return buf.subarray(offset, offset + length);
    },
  });
  const withSuperblock = (edit: (sb: Buffer) => void): Buffer => {
    const copy = Buffer.from(image);
    edit(copy.subarray(1024, 2048));
    return copy;
  };
  const refuses = async (buf: Buffer, pattern: RegExp) => {
    await assert.rejects(extUsage(reader(buf)), (err: unknown) => err instanceof LayoutProblem && pattern.test(err.message));
  };

  test('probe', async () => {
    assert.equal(await probeExt(reader(image)), true);
    assert.equal(await probeExt(reader(Buffer.alloc(4096))), false);
    assert.equal(await probeExt(reader(Buffer.alloc(1000))), false);
  });
  test('no magic', () => refuses(Buffer.alloc(8192), /ext superblock: no ext2\/3\/4 magic/));
  test('filesystem larger than its device', () => refuses(image.subarray(0, 3 * MiB), /spans 4194304 bytes but the device holds only 3145728/));
  test('a partition window cut short', async () => {
    await assert.rejects(extUsage(sliceReader(reader(image), 0, 2 * MiB)), LayoutProblem);
  });
  test('compression and journal devices', async () => {
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(sb.readUInt32LE(0x60) | 0x1, 0x60)), /incompat features 0x1\b/);
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(sb.readUInt32LE(0x60) | 0x8, 0x60)), /incompat features 0x8\b/);
    await refuses(withSuperblock((sb) => sb.writeUInt32LE((sb.readUInt32LE(0x60) | 0x80000000) >>> 0, 0x60)), /incompat features 0x80000000/);
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(sb.readUInt32LE(0x64) | 0x80, 0x64)), /ro_compat features 0x80\b/);
  });
  test('a filesystem that was not cleanly unmounted', async () => {
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(sb.readUInt32LE(0x60) | 0x4, 0x60)), /journal needs recovery/);
    await refuses(withSuperblock((sb) => sb.writeUInt16LE(0, 0x3a)), /state 0x0 is not clean/);
    await refuses(withSuperblock((sb) => sb.writeUInt16LE(3, 0x3a)), /state 0x3 is not clean/);
  });
  test('damaged geometry', async () => {
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(9, 0x18)), /block size/);
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(0, 0x20)), /clusters per group/);
    await refuses(withSuperblock((sb) => sb.writeUInt32LE(sb.readUInt32LE(0x28) + 1, 0x28)), /inode count/);
    await refuses(withSuperblock((sb) => sb.writeUInt16LE(48, 0xfe)), /descriptor size 48/);
    await refuses(withSuperblock((sb) => sb.writeUInt16LE(4000, 0xce)), /reserved GDT/);
  });
  test('a bitmap pointer beyond the filesystem', async () => {
    const copy = Buffer.from(image);
    copy.writeUInt32LE(5_000_000, 2048); // group 0's block bitmap, first descriptor block
    await refuses(copy, /ext group 0 descriptor: block bitmap at block 5000000/);
  });
});

describe('ext fuzzing', () => {
  const bases = [
    { name: 'fuzz-ext4', args: ['-b', '1024', '-g', '512'], size: 3 * MiB },
    { name: 'fuzz-ext3', args: ['-T', 'ext3', '-O', '^extent,^flex_bg,^64bit,^metadata_csum,^huge_file,^dir_nlink,^extra_isize', '-b', '1024', '-g', '1024'], size: 4 * MiB },
    { name: 'fuzz-meta_bg', args: ['-b', '1024', '-g', '256', '-O', 'meta_bg,^resize_inode'], size: 8 * MiB },
    { name: 'fuzz-bigalloc', args: ['-b', '4096', '-O', 'bigalloc', '-C', '16384', '-g', '4096'], size: 24 * MiB },
  ];
  /** Superblock fields that steer the layout, as offsets from byte 1024. */
  const superFields = [0x0, 0x4, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x28, 0x38, 0x4c, 0x58, 0x5c, 0x60, 0x64, 0xce, 0xe0, 0xe4, 0xfe, 0x104, 0x150, 0x168, 0x16c, 0x24c, 0x250];
  const interesting = [0, 1, 2, 3, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0x400, 0x1000, 0x2000, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

  for (const base of bases) {
    test(`${base.name}: mutated superblock, descriptors and special inodes only ever raise LayoutProblem`, { timeout: 60_000 }, async (t) => {
      const { img } = makeImage(base.name, base.size, base.args, { small: true });
      const image = readFileSync(img);
      const bs = dumpe2fsCounts(img).blockSize;
      const regions: Extent[] = [{ start: 1024, length: 1024 }];
      for (const m of run('dumpe2fs', [img]).matchAll(/Group descriptors? at (\d+)(?:-(\d+))?/g)) {
        const first = Number(m[1]);
        regions.push({ start: first * bs, length: ((m[2] === undefined ? first : Number(m[2])) - first + 1) * bs });
      }
      for (const ino of [7, 8]) {
        const where = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(run('debugfs', ['-R', `imap <${ino}>`, img]));
        if (where) regions.push({ start: Number(where[1]) * bs + parseInt(where[2] ?? '0', 16), length: 256 });
      }
      const saved = regions.map((r) => Buffer.from(image.subarray(r.start, r.start + r.length)));
      const strict: BlockReader = {
        size: image.length,
        async read(offset, length) {
          if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > image.length) {
            throw new Error(`read of ${length} bytes at ${offset} outside the ${image.length}-byte image`);
          }
          return image.subarray(offset, offset + length);
        },
      };
      let seed = 0x9e3779b9;
      const rand = (n: number) => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) % n;
      };
      const outcomes = { parsed: 0, refused: 0 };
      for (let iteration = 0; iteration < 1500; iteration++) {
        const mutations = 1 + rand(4);
        for (let k = 0; k < mutations; k++) {
          const region = regions[rand(regions.length)] ?? { start: 1024, length: 1024 };
          // Half the time aim at a field that matters: a superblock field, or the first descriptors.
          const hot = region.start === 1024 ? 1024 + (superFields[rand(superFields.length)] ?? 0) : region.start + rand(Math.min(region.length, 256));
          const off = rand(2) === 0 ? hot : region.start + rand(region.length);
          const value = rand(2) === 0 ? (interesting[rand(interesting.length)] ?? 0) : rand(0x100000000);
          switch (rand(4)) {
            case 0: image[off] = value & 0xff; break;
            case 1: image[off] = (image[off] ?? 0) ^ (1 << rand(8)); break;
            case 2: image.writeUInt16LE(value & 0xffff, off & ~1); break;
            default: if ((off & ~3) + 4 <= region.start + region.length) image.writeUInt32LE(value >>> 0, off & ~3);
          }
        }
        try {
          checkShape(await extUsage(strict));
          outcomes.parsed++;
        } catch (err) {
          if (!(err instanceof LayoutProblem)) assert.fail(`iteration ${iteration}: ${String(err)}`);
          outcomes.refused++;
        }
        regions.forEach((r, i) => saved[i]?.copy(image, r.start));
      }
      t.diagnostic(`${outcomes.parsed} parsed, ${outcomes.refused} refused`);
      assert.ok(outcomes.parsed > 100 && outcomes.refused > 100, 'mutations reach both outcomes');
    });
  }
});

describe('ext at scale', () => {
  test('a 1 TiB sparse filesystem (8192 groups): exact count, few large reads', async () => {
    const img = join(work, 'tera.img');
    writeFileSync(img, '');
    truncateSync(img, 2 ** 40);
    run('mkfs.ext4', ['-F', '-q', '-O', '^has_journal', '-E', 'lazy_itable_init=1,nodiscard', img]);
    const reads: number[] = [];
    const started = Date.now();
    const usage = await withFile(img, (reader) =>
      extUsage({
        size: reader.size,
        read(offset, length) {
          reads.push(length);
          return reader.read(offset, length);
        },
      }),
    );
    const counts = dumpe2fsCounts(img);
    assert.equal(counts.blocks, 2 ** 28);
    assert.equal(usage.usedBytes / 4096, counts.blocks - counts.free);
    assert.ok(reads.length < 1000, `${reads.length} reads`);
    assert.ok(Math.max(...reads) <= 1 << 20, 'no read above 1 MiB');
    assert.ok(Date.now() - started < 5000, `parsed in ${Date.now() - started} ms`);
    assertMetadataCovered(img, usage);
    rmSync(img);
  });
});
