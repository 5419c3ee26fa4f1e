// ext2/ext3/ext4 used-block map, from the kernel's ext4 "Disk Layout" documentation.
// The map is the union of
//   - the boot block and primary superblock (bytes 0..2047, and block 0 whole);
//   - every group's superblock backup, group descriptors and reserved GDT blocks
//     (placement rules for sparse_super, sparse_super2 and meta_bg);
//   - every group's block bitmap, inode bitmap and inode table, wherever flex_bg put them;
//   - the bits set in each group's block bitmap, except for BLOCK_UNINIT groups of a
//     checksummed filesystem, whose on-disk bitmap was never written: the kernel
//     computes it from the metadata above, and so do we;
//   - the journal inode's blocks, the resize inode's indirect block and the MMP block.
// Metadata is added unconditionally, so a block is never missed because a bitmap or
// a flag disagrees: the worst case is imaging a few blocks too many. Under bigalloc
// everything is widened to whole clusters. A filesystem whose bitmaps cannot be
// trusted (journal awaiting recovery, not clean, errors) or whose features change the
// layout in ways not handled here is refused with LayoutProblem: the caller images it raw.
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, mergeExtents } from './types.js';

const SUPERBLOCK_OFFSET = 1024;
const EXT_MAGIC = 0xef53;
const MAX_READ = 1 << 20;
/** Most extent-tree or indirect blocks we follow for one inode (a 16 GiB journal with 1 KiB blocks). */
const MAX_INODE_NODES = 1 << 16;

// Feature bits of s_feature_compat, s_feature_incompat and s_feature_ro_compat.
const COMPAT_HAS_JOURNAL = 0x4, COMPAT_RESIZE_INODE = 0x10, COMPAT_SPARSE_SUPER2 = 0x200;
const INCOMPAT_RECOVER = 0x4, INCOMPAT_META_BG = 0x10, INCOMPAT_64BIT = 0x80, INCOMPAT_MMP = 0x100;
/** Known incompat features that keep the block-group layout (all but compression 0x1 and journal devices 0x8). */
const INCOMPAT_SUPPORTED = 0x2 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000;
/** Incompat features an ext3 driver handles (filetype, recover, meta_bg). */
const INCOMPAT_EXT3 = 0x2 | 0x4 | 0x10;
const RO_COMPAT_SPARSE_SUPER = 0x1, RO_COMPAT_GDT_CSUM = 0x10, RO_COMPAT_BIGALLOC = 0x200, RO_COMPAT_METADATA_CSUM = 0x400;
/** Known ro_compat features; snapshots (0x80) and replicas (0x800) are refused. */
const RO_COMPAT_SUPPORTED = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200 | 0x400 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000;
/** Ro_compat features of ext2/ext3 (sparse_super, large_file, btree_dir). */
const RO_COMPAT_EXT3 = 0x1 | 0x2 | 0x4;
const STATE_VALID = 0x1, STATE_ERROR = 0x2;
const BG_BLOCK_UNINIT = 0x2;
const INODE_FLAG_EXTENTS = 0x80000, INODE_FLAG_INLINE_DATA = 0x10000000;
const EXTENT_MAGIC = 0xf30a;

/** The filesystem's geometry, bounds-checked. Block numbers are filesystem blocks. */
interface ExtGeometry {
  blockSize: number; firstDataBlock: number; blocksCount: number; blocksPerGroup: number; groupCount: number;
  /** Blocks per bitmap bit (1 unless bigalloc), and bitmap bits per group. */
  clusterRatio: number; clustersPerGroup: number;
  inodesCount: number; inodesPerGroup: number; inodeSize: number; inodeTableBlocks: number;
  descSize: number; descPerBlock: number; descBlocks: number; reservedGdtBlocks: number;
  metaBg: boolean; firstMetaBg: number;
  sparseSuper: boolean; sparseSuper2: boolean; backupGroups: [number, number];
  /** BLOCK_UNINIT is honoured only with group descriptor checksums (gdt_csum, metadata_csum). */
  uninitHonoured: boolean;
  /** 0 without an internal journal. */
  journalInode: number;
  resizeInode: boolean;
  mmpBlock: number | undefined;
}

interface GroupDesc { group: number; blockBitmap: number; inodeBitmap: number; inodeTable: number; flags: number }

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function u64(buf: Buffer, lo: number, hi: number | undefined, what: string): number {
  const value = (hi === undefined ? 0 : buf.readUInt32LE(hi)) * 2 ** 32 + buf.readUInt32LE(lo);
  if (!Number.isSafeInteger(value)) throw new LayoutProblem('ext superblock', `${what} ${value} is beyond 2^53`);
  return value;
}

function parseSuperblock(sb: Buffer, deviceSize: number): Pick<FsUsage, 'fsType' | 'label' | 'uuid'> & { geo: ExtGeometry } {
  const bad = (message: string) => new LayoutProblem('ext superblock', `${message}; image the filesystem raw`);
  if (sb.readUInt16LE(0x38) !== EXT_MAGIC) throw bad('no ext2/3/4 magic 0xEF53');
  const revLevel = sb.readUInt32LE(0x4c);
  if (revLevel > 1) throw bad(`unknown revision ${revLevel}`);
  const compat = revLevel === 0 ? 0 : sb.readUInt32LE(0x5c);
  const incompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x60);
  const roCompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x64);
  if ((incompat & ~INCOMPAT_SUPPORTED) !== 0) throw bad(`unsupported incompat features 0x${((incompat & ~INCOMPAT_SUPPORTED) >>> 0).toString(16)}`);
  if ((roCompat & ~RO_COMPAT_SUPPORTED) !== 0) throw bad(`unsupported ro_compat features 0x${((roCompat & ~RO_COMPAT_SUPPORTED) >>> 0).toString(16)}`);
  // A journal awaiting replay holds bitmap updates the on-disk bitmaps lack; an
  // unclean or erroneous filesystem may have bitmaps that miss allocated blocks.
  if ((incompat & INCOMPAT_RECOVER) !== 0) throw bad('the journal needs recovery (not cleanly unmounted); run e2fsck first');
  const state = sb.readUInt16LE(0x3a);
  if ((state & STATE_VALID) === 0 || (state & STATE_ERROR) !== 0) throw bad(`state 0x${state.toString(16)} is not clean; run e2fsck first`);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const bigalloc = (roCompat & RO_COMPAT_BIGALLOC) !== 0;

  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock > 6) throw bad(`block size 2^${10 + logBlock} is out of range`);
  const blockSize = 1024 << logBlock;
  const logCluster = sb.readUInt32LE(0x1c);
  if (bigalloc && (logCluster < logBlock || logCluster - logBlock > 16)) throw bad(`cluster size 2^${10 + logCluster} does not fit block size ${blockSize}`);
  const clusterRatio = bigalloc ? 2 ** (logCluster - logBlock) : 1;

  const blocksCount = u64(sb, 0x04, is64 ? 0x150 : undefined, 'block count');
  const firstDataBlock = sb.readUInt32LE(0x14);
  const expectedFirst = blockSize === 1024 && !bigalloc ? 1 : 0;
  if (firstDataBlock !== expectedFirst) throw bad(`first data block ${firstDataBlock} should be ${expectedFirst} with ${blockSize}-byte blocks`);
  if (blocksCount <= firstDataBlock + 1) throw bad(`block count ${blocksCount} is too small`);
  const totalBytes = blocksCount * blockSize;
  if (!Number.isSafeInteger(totalBytes)) throw bad(`size ${blocksCount} blocks of ${blockSize} bytes is beyond 2^53`);
  if (totalBytes > deviceSize) throw bad(`filesystem spans ${totalBytes} bytes but the device holds only ${deviceSize}`);

  const blocksPerGroup = sb.readUInt32LE(0x20);
  const clustersPerGroup = bigalloc ? sb.readUInt32LE(0x24) : blocksPerGroup;
  if (clustersPerGroup === 0 || clustersPerGroup > 8 * blockSize) throw bad(`${clustersPerGroup} clusters per group do not fit one bitmap block`);
  if (blocksPerGroup !== clustersPerGroup * clusterRatio) throw bad(`${blocksPerGroup} blocks per group is not ${clustersPerGroup} clusters of ${clusterRatio} blocks`);
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (groupCount >= 2 ** 32) throw bad(`${groupCount} block groups is too many`);

  const inodesCount = sb.readUInt32LE(0x00);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  if (inodesPerGroup === 0 || inodesPerGroup > 8 * blockSize) throw bad(`${inodesPerGroup} inodes per group do not fit one bitmap block`);
  if (inodesPerGroup * groupCount !== inodesCount) throw bad(`inode count ${inodesCount} is not ${groupCount} groups of ${inodesPerGroup}`);
  const inodeSize = revLevel === 0 ? 128 : sb.readUInt16LE(0x58);
  if (inodeSize < 128 || inodeSize > blockSize || !isPowerOfTwo(inodeSize)) throw bad(`inode size ${inodeSize} is invalid`);

  const descSize = is64 ? sb.readUInt16LE(0xfe) : 32;
  if (descSize < (is64 ? 64 : 32) || descSize > 1024 || !isPowerOfTwo(descSize)) throw bad(`group descriptor size ${descSize} is invalid`);
  const descPerBlock = blockSize / descSize;
  const descBlocks = Math.ceil(groupCount / descPerBlock);
  const reservedGdtBlocks = sb.readUInt16LE(0xce);
  if (reservedGdtBlocks > blockSize / 4) throw bad(`${reservedGdtBlocks} reserved GDT blocks is more than one indirect block can map`);
  const metaBg = (incompat & INCOMPAT_META_BG) !== 0;
  const firstMetaBg = metaBg ? sb.readUInt32LE(0x104) : 0;
  if (firstMetaBg > descBlocks) throw bad(`first meta_bg ${firstMetaBg} is beyond the ${descBlocks} descriptor blocks`);
  const oldGdt = (metaBg ? firstMetaBg : descBlocks) + reservedGdtBlocks;
  const group0Head = (blockSize === 1024 && firstDataBlock === 0 ? 1 : 0) + 1 + oldGdt;
  if (group0Head > blocksPerGroup || firstDataBlock + group0Head > blocksCount) throw bad(`${oldGdt} descriptor blocks do not fit block group 0`);

  let journalInode = 0;
  if ((compat & COMPAT_HAS_JOURNAL) !== 0) {
    journalInode = sb.readUInt32LE(0xe0);
    const external = sb.readUInt32LE(0xe4) !== 0 || sb.subarray(0xd0, 0xe0).some((b) => b !== 0); // journal device or UUID
    if (journalInode > inodesCount || (journalInode === 0 && !external)) throw bad(`journal inode ${journalInode} is invalid`);
  }
  let mmpBlock: number | undefined;
  if ((incompat & INCOMPAT_MMP) !== 0) {
    mmpBlock = u64(sb, 0x168, 0x16c, 'MMP block');
    if (mmpBlock < firstDataBlock || mmpBlock >= blocksCount) throw bad(`MMP block ${mmpBlock} is outside the filesystem`);
  }

  const fsType = (incompat & ~INCOMPAT_EXT3) !== 0 || (roCompat & ~RO_COMPAT_EXT3) !== 0 ? 'ext4' : (compat & COMPAT_HAS_JOURNAL) !== 0 ? 'ext3' : 'ext2';
  const label = sb.subarray(0x78, 0x88).toString('utf8').replace(/\0[^]*$/, '');
  const hex = sb.subarray(0x68, 0x78).toString('hex');
  const uuid = /^0+$/.test(hex) ? '' : `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const geo: ExtGeometry = {
    blockSize, firstDataBlock, blocksCount, blocksPerGroup, clusterRatio, clustersPerGroup, groupCount,
    inodesCount, inodesPerGroup, inodeSize, inodeTableBlocks: Math.ceil((inodesPerGroup * inodeSize) / blockSize),
    descSize, descPerBlock, descBlocks, reservedGdtBlocks, metaBg, firstMetaBg,
    sparseSuper: (roCompat & RO_COMPAT_SPARSE_SUPER) !== 0,
    sparseSuper2: (compat & COMPAT_SPARSE_SUPER2) !== 0,
    backupGroups: [sb.readUInt32LE(0x24c), sb.readUInt32LE(0x250)],
    uninitHonoured: (roCompat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM)) !== 0,
    journalInode, resizeInode: (compat & COMPAT_RESIZE_INODE) !== 0, mmpBlock,
  };
  return { geo, fsType, ...(label ? { label } : {}), ...(uuid ? { uuid } : {}) };
}

function isPowerOf(n: number, base: number): boolean {
  let x = base;
  while (x < n) x *= base;
  return x === n;
}

/** Whether group `g` holds a superblock copy (sparse_super, sparse_super2 or every group). */
function hasSuper(geo: ExtGeometry, g: number): boolean {
  if (g === 0) return true;
  if (geo.sparseSuper2) return g === geo.backupGroups[0] || g === geo.backupGroups[1];
  if (g === 1 || !geo.sparseSuper) return true;
  if (g % 2 === 0) return false;
  return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
}

function groupFirstBlock(geo: ExtGeometry, g: number): number {
  return geo.firstDataBlock + g * geo.blocksPerGroup;
}

/** The block holding group g's superblock copy (block 1 for group 0 of a 1 KiB bigalloc fs). */
function superBlockOf(geo: ExtGeometry, g: number): number {
  const first = groupFirstBlock(geo, g);
  return first === 0 && geo.blockSize === 1024 ? 1 : first;
}

/** Superblock copy, descriptor blocks and reserved GDT blocks of group g, as [start, count] runs. */
function groupBaseMetadata(geo: ExtGeometry, g: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const sb = superBlockOf(geo, g);
  const withSuper = hasSuper(geo, g);
  if (withSuper) out.push([sb, 1]);
  if (!geo.metaBg || Math.floor(g / geo.descPerBlock) < geo.firstMetaBg) {
    // Like the kernel, count reserved GDT blocks even with meta_bg; extra blocks are harmless.
    if (withSuper) out.push([sb + 1, (geo.metaBg ? geo.firstMetaBg : geo.descBlocks) + geo.reservedGdtBlocks]);
  } else {
    const index = g % geo.descPerBlock;
    if (index === 0 || index === 1 || index === geo.descPerBlock - 1) out.push([withSuper ? sb + 1 : groupFirstBlock(geo, g), 1]);
  }
  return out;
}

/** The block holding the primary copy of descriptor block `m` (meta group `m` under meta_bg). */
function descriptorBlock(geo: ExtGeometry, m: number): number {
  if (!geo.metaBg || m < geo.firstMetaBg) return superBlockOf(geo, 0) + 1 + m;
  const g = m * geo.descPerBlock;
  return hasSuper(geo, g) ? superBlockOf(geo, g) + 1 : groupFirstBlock(geo, g);
}

/**
 * Byte extents accumulated from block runs, widened to whole clusters (the allocation
 * unit under bigalloc), clipped to the filesystem, merged as they come.
 */
class UsedBlocks {
  private extents: Extent[] = [];
  private compactAt = 1 << 16;
  constructor(
    private readonly blockSize: number,
    private readonly clusterRatio: number,
    private readonly totalBytes: number,
  ) {}

  add(block: number, count: number): void {
    const first = Math.floor(block / this.clusterRatio) * this.clusterRatio;
    const end = Math.ceil((block + count) / this.clusterRatio) * this.clusterRatio;
    const start = first * this.blockSize;
    const length = Math.min((end - first) * this.blockSize, this.totalBytes - start);
    if (length <= 0) return;
    const last = this.extents[this.extents.length - 1];
    if (last && start >= last.start && start <= last.start + last.length) {
      last.length = Math.max(last.length, start + length - last.start);
      return;
    }
    this.extents.push({ start, length });
    if (this.extents.length >= this.compactAt) {
      this.extents = mergeExtents(this.extents);
      this.compactAt = Math.max(this.compactAt, this.extents.length * 2);
    }
  }

  finish(): Extent[] {
    return mergeExtents(this.extents);
  }
}

/** Reads the descriptors of groups [first, first + count), coalescing adjacent descriptor blocks. */
async function readDescriptors(reader: BlockReader, geo: ExtGeometry, first: number, count: number): Promise<GroupDesc[]> {
  const { blockSize, descPerBlock, descSize } = geo;
  const out: GroupDesc[] = [];
  const lastMeta = Math.floor((first + count - 1) / descPerBlock);
  const maxRun = Math.max(1, Math.floor(MAX_READ / blockSize));
  for (let m = Math.floor(first / descPerBlock); m <= lastMeta; ) {
    const start = descriptorBlock(geo, m);
    let run = 1;
    while (m + run <= lastMeta && run < maxRun && descriptorBlock(geo, m + run) === start + run) run++;
    if (start + run > geo.blocksCount) throw new LayoutProblem('ext group descriptors', `descriptor block ${start} is outside the filesystem`);
    const buf = await reader.read(start * blockSize, run * blockSize);
    for (let i = 0; i < run; i++, m++) {
      const lo = Math.max(first, m * descPerBlock);
      const hi = Math.min(first + count, (m + 1) * descPerBlock);
      for (let g = lo; g < hi; g++) out.push(parseDescriptor(buf, i * blockSize + (g % descPerBlock) * descSize, geo, g));
    }
  }
  return out;
}

function parseDescriptor(buf: Buffer, off: number, geo: ExtGeometry, group: number): GroupDesc {
  const wide = geo.descSize >= 64;
  const block = (lo: number, count: number, what: string): number => {
    const value = (wide ? buf.readUInt32LE(off + lo + 0x20) : 0) * 2 ** 32 + buf.readUInt32LE(off + lo);
    if (value <= superBlockOf(geo, 0) || value + count > geo.blocksCount) {
      throw new LayoutProblem(`ext group ${group} descriptor`, `${what} at block ${value} is outside the filesystem's ${geo.blocksCount} blocks`);
    }
    return value;
  };
  return {
    group,
    blockBitmap: block(0x0, 1, 'block bitmap'),
    inodeBitmap: block(0x4, 1, 'inode bitmap'),
    inodeTable: block(0x8, geo.inodeTableBlocks, 'inode table'),
    flags: buf.readUInt16LE(off + 0x12),
  };
}

/** Calls onRun(firstBit, count) for each run of set bits among the first `bits` bits. */
function scanBitmap(bitmap: Buffer, bits: number, onRun: (first: number, count: number) => void): void {
  let runStart = -1;
  for (let i = 0; i < bits; ) {
    const byte = bitmap[i >> 3] ?? 0;
    const wholeByte = (i & 7) === 0 && i + 8 <= bits && (byte === 0 || byte === 0xff);
    const set = wholeByte ? byte === 0xff : ((byte >> (i & 7)) & 1) === 1;
    if (set && runStart < 0) runStart = i;
    if (!set && runStart >= 0) {
      onRun(runStart, i - runStart);
      runStart = -1;
    }
    i += wholeByte ? 8 : 1;
  }
  if (runStart >= 0) onRun(runStart, bits - runStart);
}

/** Reads the block bitmaps of `groups` in runs of adjacent blocks and adds their set bits. */
async function addBitmaps(reader: BlockReader, geo: ExtGeometry, groups: GroupDesc[], used: UsedBlocks): Promise<void> {
  const sorted = [...groups].sort((a, b) => a.blockBitmap - b.blockBitmap);
  const maxRun = Math.max(1, Math.floor(MAX_READ / geo.blockSize));
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i]?.blockBitmap ?? 0;
    let end = start + 1;
    let j = i + 1;
    for (; j < sorted.length; j++) {
      const block = sorted[j]?.blockBitmap ?? Infinity;
      if (block > end || block + 1 - start > maxRun) break;
      end = Math.max(end, block + 1);
    }
    const buf = await reader.read(start * geo.blockSize, (end - start) * geo.blockSize);
    for (; i < j; i++) {
      const desc = sorted[i];
      if (!desc) continue;
      const bitmap = buf.subarray((desc.blockBitmap - start) * geo.blockSize, (desc.blockBitmap - start + 1) * geo.blockSize);
      const first = groupFirstBlock(geo, desc.group);
      const bits = Math.min(geo.clustersPerGroup, Math.ceil((geo.blocksCount - first) / geo.clusterRatio));
      scanBitmap(bitmap, bits, (bit, n) => used.add(first + bit * geo.clusterRatio, n * geo.clusterRatio));
    }
  }
}

/** Walks an inode's block map or extent tree, adding data and mapping blocks. */
class InodeWalker {
  private readonly seen = new Set<number>();
  constructor(
    private readonly reader: BlockReader,
    private readonly geo: ExtGeometry,
    private readonly used: UsedBlocks,
    private readonly subject: string,
  ) {}

  private add(block: number, count: number): void {
    if (block < this.geo.firstDataBlock || block + count > this.geo.blocksCount) {
      throw new LayoutProblem(this.subject, `maps blocks ${block}+${count}, outside the filesystem's ${this.geo.blocksCount} blocks`);
    }
    this.used.add(block, count);
  }

  private async node(block: number): Promise<Buffer> {
    this.add(block, 1);
    if (this.seen.has(block)) throw new LayoutProblem(this.subject, `mapping block ${block} is referenced twice`);
    if (this.seen.size >= MAX_INODE_NODES) throw new LayoutProblem(this.subject, `has more than ${MAX_INODE_NODES} mapping blocks`);
    this.seen.add(block);
    return this.reader.read(block * this.geo.blockSize, this.geo.blockSize);
  }

  async extents(node: Buffer, expectedDepth: number | undefined): Promise<void> {
    const entries = node.readUInt16LE(2);
    const depth = node.readUInt16LE(6);
    if (node.readUInt16LE(0) !== EXTENT_MAGIC) throw new LayoutProblem(this.subject, 'extent node has no magic 0xF30A');
    if (depth > 5 || (expectedDepth !== undefined && depth !== expectedDepth)) throw new LayoutProblem(this.subject, `extent node depth ${depth} is invalid`);
    if (entries > node.readUInt16LE(4) || 12 + entries * 12 > node.length) throw new LayoutProblem(this.subject, `extent node with ${entries} entries overflows`);
    for (let i = 0; i < entries; i++) {
      const e = 12 + i * 12;
      if (depth === 0) {
        const raw = node.readUInt16LE(e + 4);
        const length = raw > 32768 ? raw - 32768 : raw;
        const start = node.readUInt16LE(e + 6) * 2 ** 32 + node.readUInt32LE(e + 8);
        this.add(start, length);
      } else {
        const child = node.readUInt16LE(e + 8) * 2 ** 32 + node.readUInt32LE(e + 4);
        await this.extents(await this.node(child), depth - 1);
      }
    }
  }

  /** Adds the blocks that the u32 block numbers in `ptrs` map through `level` levels of indirect blocks. */
  async pointers(ptrs: Buffer, level: number): Promise<void> {
    for (let off = 0; off + 4 <= ptrs.length; off += 4) {
      const ptr = ptrs.readUInt32LE(off);
      if (ptr !== 0 && level > 0) await this.pointers(await this.node(ptr), level - 1);
      else if (ptr !== 0) this.add(ptr, 1);
    }
  }
}

/** Reads inode `ino` (a special inode: journal or resize), bounds-checked. */
async function readInode(reader: BlockReader, geo: ExtGeometry, ino: number): Promise<Buffer> {
  const group = Math.floor((ino - 1) / geo.inodesPerGroup);
  if (ino < 1 || group >= geo.groupCount) throw new LayoutProblem(`ext inode ${ino}`, 'is beyond the inode count');
  const [desc] = await readDescriptors(reader, geo, group, 1);
  if (!desc) throw new LayoutProblem(`ext inode ${ino}`, `group ${group} has no descriptor`);
  const offset = desc.inodeTable * geo.blockSize + ((ino - 1) % geo.inodesPerGroup) * geo.inodeSize;
  return reader.read(offset, 128);
}

async function addJournal(reader: BlockReader, geo: ExtGeometry, used: UsedBlocks): Promise<void> {
  const inode = await readInode(reader, geo, geo.journalInode);
  const walker = new InodeWalker(reader, geo, used, `ext journal inode ${geo.journalInode}`);
  const flags = inode.readUInt32LE(0x20);
  const iblock = inode.subarray(0x28, 0x28 + 60);
  if ((flags & INODE_FLAG_INLINE_DATA) !== 0) throw new LayoutProblem(`ext journal inode ${geo.journalInode}`, 'has inline data');
  if ((flags & INODE_FLAG_EXTENTS) !== 0) return walker.extents(iblock, undefined);
  await walker.pointers(iblock.subarray(0, 48), 0); // direct blocks
  for (let level = 1; level <= 3; level++) await walker.pointers(iblock.subarray(44 + level * 4, 48 + level * 4), level);
}

/** True when the reader starts with an ext2/3/4 superblock (magic 0xEF53 at byte 1080). */
export async function probeExt(reader: BlockReader): Promise<boolean> {
  if (reader.size < SUPERBLOCK_OFFSET * 2) return false;
  const magic = await reader.read(SUPERBLOCK_OFFSET + 0x38, 2);
  return magic.readUInt16LE(0) === EXT_MAGIC;
}

/**
 * The bytes of an ext2/3/4 filesystem that must be imaged: allocated blocks plus all
 * metadata, relative to the filesystem start. Throws LayoutProblem on damaged or
 * unsupported metadata (the caller then images the filesystem raw).
 */
export async function extUsage(reader: BlockReader): Promise<FsUsage> {
  if (reader.size < SUPERBLOCK_OFFSET * 2) throw new LayoutProblem('ext superblock', `device of ${reader.size} bytes is too small`);
  const { geo, fsType, label, uuid } = parseSuperblock(await reader.read(SUPERBLOCK_OFFSET, 1024), reader.size);
  const totalBytes = geo.blocksCount * geo.blockSize;
  const used = new UsedBlocks(geo.blockSize, geo.clusterRatio, totalBytes);
  used.add(0, superBlockOf(geo, 0) + 1); // boot block, primary superblock, anything before the first group
  if (geo.mmpBlock !== undefined) used.add(geo.mmpBlock, 1);

  const batch = geo.descPerBlock * Math.max(1, Math.floor(MAX_READ / geo.blockSize));
  for (let first = 0; first < geo.groupCount; first += batch) {
    const descs = await readDescriptors(reader, geo, first, Math.min(batch, geo.groupCount - first));
    const withBitmap: GroupDesc[] = [];
    for (const desc of descs) {
      for (const [start, count] of groupBaseMetadata(geo, desc.group)) used.add(start, count);
      used.add(desc.blockBitmap, 1);
      used.add(desc.inodeBitmap, 1);
      used.add(desc.inodeTable, geo.inodeTableBlocks);
      if (!(geo.uninitHonoured && (desc.flags & BG_BLOCK_UNINIT) !== 0)) withBitmap.push(desc);
    }
    await addBitmaps(reader, geo, withBitmap, used);
  }
  if (geo.journalInode !== 0) await addJournal(reader, geo, used);
  if (geo.resizeInode) {
    const dind = (await readInode(reader, geo, 7)).readUInt32LE(0x28 + 13 * 4);
    if (dind >= geo.blocksCount) throw new LayoutProblem('ext resize inode 7', `indirect block ${dind} is outside the filesystem`);
    if (dind !== 0) used.add(dind, 1);
  }

  const extents = used.finish();
  const usedBytes = extents.reduce((sum, e) => sum + e.length, 0);
  return { fsType, blockSize: geo.blockSize, totalBytes, usedBytes, used: extents, ...(label ? { label } : {}), ...(uuid ? { uuid } : {}) };
}
