// NTFS used-block maps. The cluster bitmap is the unnamed $DATA stream of MFT
// record 6 ($Bitmap); the MFT itself is found through the boot sector's MFT LCN and
// record 0's own $DATA runlist, which may continue in extension records named by
// an $ATTRIBUTE_LIST. Every MFT record read gets its update sequence (fixups)
// applied and checked. Volumes Windows left in use — $Volume dirty flag, or a
// $LogFile restart area with clients still active (fast startup, hibernation,
// crash) — are refused: their bitmap may lag what the log will replay.
// Boot sector fields (little-endian): 0x03 "NTFS    ", 0x0B bytes/sector,
// 0x0D sectors/cluster (> 0x80: 2^(256-v)), 0x28 sectors (u64), 0x30 MFT LCN,
// 0x38 MFT mirror LCN, 0x40 clusters/MFT record (negative: 2^-v bytes), 0x48 serial.
import { type BlockReader, type Extent, type FsUsage, LayoutProblem, mergeExtents } from './types.js';

const SUBJECT = 'ntfs';
const MAX_CLUSTER = 2 << 20;
/** $Bitmap bytes per read (8 Mi clusters): memory stays bounded on any volume size. */
const BITMAP_PIECE = 1 << 20;
const MAX_ATTRIBUTE_LIST = 1 << 18;
const FIXUP_STRIDE = 512;
const END_MARKER = 0xffffffff;
const enum Type { AttributeList = 0x20, VolumeName = 0x60, VolumeInformation = 0x70, Data = 0x80 }

interface Boot {
  bytesPerSector: number;
  clusterSize: number;
  totalSectors: number;
  clusters: number;
  mftLcn: number;
  mirrorLcn: number;
  recordSize: number;
  serial: bigint;
}

/** Run of a non-resident stream, in clusters; `lcn` null for a sparse run. */
interface Run {
  vcn: number;
  lcn: number | null;
  length: number;
}

interface Stream {
  runs: Run[];
  resident?: Buffer;
  dataSize: number;
  initSize: number;
}

interface Attribute {
  type: number;
  nonResident: boolean;
  named: boolean;
  id: number;
  /** The whole attribute record, header included. */
  body: Buffer;
}

interface Ctx {
  reader: BlockReader;
  boot: Boot;
  mft?: Stream;
  records: Map<number, Buffer>;
}

const problem = (message: string): LayoutProblem => new LayoutProblem(SUBJECT, message);
const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;

function u64(buf: Buffer, at: number, what: string): number {
  const value = buf.readBigUInt64LE(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw problem(`${what} ${value} is too large`);
  return Number(value);
}

function parseBoot(sector: Buffer, deviceSize: number): Boot {
  if (sector.length < 512 || sector.toString('latin1', 3, 11) !== 'NTFS    ') throw problem('no "NTFS    " OEM ID in the boot sector');
  if (sector.readUInt16LE(510) !== 0xaa55) throw problem('boot sector signature 0x55AA missing');
  const bytesPerSector = sector.readUInt16LE(0x0b);
  if (!isPowerOfTwo(bytesPerSector) || bytesPerSector < 256 || bytesPerSector > 4096) throw problem(`bytes per sector ${bytesPerSector} is invalid`);
  const spc = sector[0x0d] ?? 0;
  const clusterSize = bytesPerSector * (spc <= 0x80 ? spc : 2 ** (256 - spc));
  if (!isPowerOfTwo(clusterSize) || clusterSize > MAX_CLUSTER) throw problem(`sectors per cluster byte 0x${spc.toString(16)} gives an invalid cluster size`);
  const totalSectors = u64(sector, 0x28, 'sector count');
  const clusters = Math.floor((totalSectors * bytesPerSector) / clusterSize);
  if (!Number.isSafeInteger(totalSectors * bytesPerSector) || clusters < 1) throw problem(`sector count ${totalSectors} is invalid`);
  if (clusters * clusterSize > deviceSize) throw problem(`volume of ${clusters * clusterSize} bytes is larger than the ${deviceSize}-byte device`);
  const mftLcn = u64(sector, 0x30, 'MFT LCN');
  const mirrorLcn = u64(sector, 0x38, 'MFT mirror LCN');
  if (mftLcn >= clusters || mirrorLcn >= clusters) throw problem(`MFT LCN ${mftLcn} or mirror LCN ${mirrorLcn} is beyond ${clusters} clusters`);
  const perRecord = sector.readInt8(0x40);
  const recordSize = perRecord > 0 ? perRecord * clusterSize : 2 ** -perRecord;
  if (!isPowerOfTwo(recordSize) || recordSize < 512 || recordSize > 65536) throw problem(`MFT record size ${recordSize} is invalid`);
  return { bytesPerSector, clusterSize, totalSectors, clusters, mftLcn, mirrorLcn, recordSize, serial: sector.readBigUInt64LE(0x48) };
}

/** Checks and applies a multi-sector header's update sequence to a copy of `raw`. */
function applyFixups(raw: Buffer, magic: string, what: string): Buffer {
  const buf = Buffer.from(raw);
  const found = buf.toString('latin1', 0, 4);
  if (found !== magic) throw problem(`${what} has magic "${found.replace(/[^ -~]/g, '?')}", expected "${magic}"`);
  const usaOffset = buf.readUInt16LE(4);
  const usaCount = buf.readUInt16LE(6);
  if (usaCount !== buf.length / FIXUP_STRIDE + 1 || usaOffset % 2 !== 0 || usaOffset < 8 || usaOffset + 2 * usaCount > FIXUP_STRIDE - 2) {
    throw problem(`${what} has an invalid update sequence array (offset ${usaOffset}, count ${usaCount})`);
  }
  const usn = buf.readUInt16LE(usaOffset);
  for (let i = 1; i < usaCount; i++) {
    const at = i * FIXUP_STRIDE - 2;
    if (buf.readUInt16LE(at) !== usn) throw problem(`${what} fails its update sequence check at byte ${at} (torn write?)`);
    buf.writeUInt16LE(buf.readUInt16LE(usaOffset + 2 * i), at);
  }
  return buf;
}

/** The attributes of a fixed-up MFT record, every header bounds-checked. */
function attributes(rec: Buffer, what: string): Attribute[] {
  const inUse = rec.readUInt32LE(0x18);
  let at = rec.readUInt16LE(0x14);
  if (inUse > rec.length || at % 8 !== 0 || at < rec.readUInt16LE(4) + 2 * rec.readUInt16LE(6)) throw problem(`${what} has an invalid header`);
  const found: Attribute[] = [];
  while (true) {
    if (at + 4 > inUse) throw problem(`${what} has no attribute end marker`);
    const type = rec.readUInt32LE(at);
    if (type === END_MARKER) return found;
    const length = at + 16 <= inUse ? rec.readUInt32LE(at + 4) : 0;
    const nonResident = rec[at + 8] !== 0;
    if (length < (nonResident ? 0x40 : 0x18) || length % 8 !== 0 || at + length > inUse) throw problem(`${what}: attribute 0x${type.toString(16)} at ${at} has invalid length ${length}`);
    const body = rec.subarray(at, at + length);
    const nameLength = body[9] ?? 0;
    if (nameLength > 0 && body.readUInt16LE(10) + 2 * nameLength > length) throw problem(`${what}: attribute name outside the attribute`);
    found.push({ type, nonResident, named: nameLength > 0, id: body.readUInt16LE(14), body });
    at += length;
  }
}

function residentValue(attr: Attribute, what: string): Buffer {
  const length = attr.body.readUInt32LE(0x10);
  const offset = attr.body.readUInt16LE(0x14);
  if (offset + length > attr.body.length) throw problem(`${what}: resident value outside its attribute`);
  return attr.body.subarray(offset, offset + length);
}

/** Little-endian integer of 1-8 bytes; throws if it does not fit a safe Number. */
function readVarInt(buf: Buffer, at: number, size: number, signed: boolean, what: string): number {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(buf[at + i] ?? 0);
  if (signed && size > 0 && ((buf[at + size - 1] ?? 0) & 0x80) !== 0) value -= 1n << BigInt(8 * size);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw problem(`${what}: runlist value out of range`);
  return Number(value);
}

/** Decodes a mapping-pairs array: (length, signed LCN delta) pairs; a delta of zero size is a sparse run. */
function decodeRuns(ctx: Ctx, pairs: Buffer, startVcn: number, what: string): Run[] {
  const runs: Run[] = [];
  let vcn = startVcn;
  let lcn = 0;
  let at = 0;
  while (true) {
    if (at >= pairs.length) throw problem(`${what}: runlist is not terminated`);
    const header = pairs[at] ?? 0;
    if (header === 0) return runs;
    const lengthSize = header & 0x0f;
    const offsetSize = header >> 4;
    if (lengthSize < 1 || lengthSize > 8 || offsetSize > 8 || at + 1 + lengthSize + offsetSize > pairs.length) throw problem(`${what}: runlist entry at ${at} is malformed`);
    const length = readVarInt(pairs, at + 1, lengthSize, false, what);
    if (length < 1 || !Number.isSafeInteger((vcn + length) * ctx.boot.clusterSize)) throw problem(`${what}: run length ${length} is invalid`);
    let runLcn: number | null = null;
    if (offsetSize > 0) {
      lcn += readVarInt(pairs, at + 1 + lengthSize, offsetSize, true, what);
      if (lcn < 0 || lcn + length > ctx.boot.clusters) throw problem(`${what}: run at LCN ${lcn} of ${length} clusters is outside the volume`);
      runLcn = lcn;
    }
    runs.push({ vcn, lcn: runLcn, length });
    vcn += length;
    at += 1 + lengthSize + offsetSize;
  }
}

/** Reads `length` bytes at `offset` of a stream through its runlist; sparse or uninitialised bytes read as zeros. */
async function readStream(ctx: Ctx, stream: Stream, offset: number, length: number, what: string): Promise<Buffer> {
  if (offset + length > stream.dataSize) throw problem(`${what}: read at ${offset} beyond its ${stream.dataSize} bytes`);
  if (stream.resident) return stream.resident.subarray(offset, offset + length);
  const out = Buffer.alloc(length);
  const cs = ctx.boot.clusterSize;
  const end = Math.min(offset + length, stream.initSize);
  let pos = offset;
  for (const run of stream.runs) {
    if (pos >= end) break;
    const runEnd = (run.vcn + run.length) * cs;
    if (runEnd <= pos) continue;
    if (run.vcn * cs > pos) break;
    const piece = Math.min(end, runEnd) - pos;
    if (run.lcn !== null) (await ctx.reader.read(run.lcn * cs + (pos - run.vcn * cs), piece)).copy(out, pos - offset);
    pos += piece;
  }
  if (pos < end) throw problem(`${what}: byte ${pos} is not mapped by its runlist`);
  return out;
}

/** MFT record `n`, fixed up and checked to be in use (and to be an extension of `base` when given). */
async function readRecord(ctx: Ctx, n: number, base?: number): Promise<Buffer> {
  const what = `MFT record ${n}`;
  let rec = ctx.records.get(n);
  if (!rec) {
    const rs = ctx.boot.recordSize;
    let raw: Buffer;
    if (ctx.mft) {
      raw = await readStream(ctx, ctx.mft, n * rs, rs, what);
    } else {
      if (n !== 0) throw problem(`${what} is needed before the MFT's own runlist is known`);
      if (ctx.boot.mftLcn * ctx.boot.clusterSize + rs > ctx.boot.clusters * ctx.boot.clusterSize) throw problem(`${what} is beyond the volume`);
      raw = await ctx.reader.read(ctx.boot.mftLcn * ctx.boot.clusterSize, rs);
    }
    rec = applyFixups(raw, 'FILE', what);
    if (rec.readUInt16LE(4) >= 0x30 && rec.readUInt32LE(0x2c) !== n % 2 ** 32) throw problem(`${what} says it is record ${rec.readUInt32LE(0x2c)}`);
    if ((rec.readUInt16LE(0x16) & 1) === 0) throw problem(`${what} is not in use`);
    ctx.records.set(n, rec);
  }
  const baseRef = rec.readUInt32LE(0x20) + rec.readUInt16LE(0x24) * 2 ** 32;
  if (baseRef !== (base ?? 0)) throw problem(`${what} belongs to record ${baseRef}, not ${base ?? 'itself'}`);
  return rec;
}

/** Where the pieces of the unnamed $DATA of record `n` live: its $ATTRIBUTE_LIST entries, or the record itself. */
async function dataSegments(ctx: Ctx, n: number, rec: Buffer, what: string): Promise<Array<{ record: number; id: number }>> {
  const attrs = attributes(rec, what);
  const list = attrs.find((a) => a.type === Type.AttributeList);
  if (!list) return attrs.filter((a) => a.type === Type.Data && !a.named).map((a) => ({ record: n, id: a.id }));
  let value: Buffer;
  if (list.nonResident) {
    const stream = segmentStream(ctx, list, 0, `${what} attribute list`);
    if (stream.dataSize > MAX_ATTRIBUTE_LIST) throw problem(`${what}: attribute list of ${stream.dataSize} bytes is too large`);
    value = await readStream(ctx, stream, 0, stream.dataSize, `${what} attribute list`);
  } else {
    value = residentValue(list, what);
  }
  const segments: Array<{ record: number; id: number }> = [];
  for (let at = 0; at < value.length; ) {
    const length = at + 0x1a <= value.length ? value.readUInt16LE(at + 4) : 0;
    if (length < 0x1a || at + length > value.length) throw problem(`${what}: attribute list entry at ${at} is malformed`);
    if (value.readUInt32LE(at) === Type.Data && value[at + 6] === 0) {
      segments.push({ record: value.readUInt32LE(at + 0x10) + value.readUInt16LE(at + 0x14) * 2 ** 32, id: value.readUInt16LE(at + 0x18) });
    }
    at += length;
  }
  return segments;
}

/** The runs of one non-resident attribute segment, checked to start at `expectedVcn`; sizes are valid in the first segment only. */
function segmentStream(ctx: Ctx, attr: Attribute, expectedVcn: number, what: string): Stream & { nextVcn: number } {
  const b = attr.body;
  if (!attr.nonResident) throw problem(`${what} is resident where a runlist was expected`);
  if ((b.readUInt16LE(0x0c) & 0x40ff) !== 0) throw problem(`${what} is compressed or encrypted`);
  const startVcn = u64(b, 0x10, `${what} start VCN`);
  const lastVcn = b.readBigInt64LE(0x18);
  const runsAt = b.readUInt16LE(0x20);
  if (startVcn !== expectedVcn || runsAt < 0x40 || runsAt >= b.length) throw problem(`${what}: segment starts at VCN ${startVcn}, expected ${expectedVcn}`);
  const runs = decodeRuns(ctx, b.subarray(runsAt), startVcn, what);
  const nextVcn = runs.length > 0 ? startVcn + runs.reduce((sum, r) => sum + r.length, 0) : startVcn;
  if (BigInt(nextVcn - 1) !== lastVcn) throw problem(`${what}: runlist ends at VCN ${nextVcn - 1}, header says ${lastVcn}`);
  if (startVcn > 0) return { runs, dataSize: 0, initSize: 0, nextVcn };
  const dataSize = u64(b, 0x30, `${what} size`);
  const initSize = u64(b, 0x38, `${what} initialised size`);
  if (initSize > dataSize) throw problem(`${what}: initialised size ${initSize} exceeds data size ${dataSize}`);
  return { runs, dataSize, initSize, nextVcn };
}

/** The unnamed $DATA stream of MFT record `n`, across extension records. While loading record 0 the MFT map grows as it goes. */
async function loadData(ctx: Ctx, n: number, what: string): Promise<Stream> {
  const base = await readRecord(ctx, n);
  const segments = await dataSegments(ctx, n, base, what);
  if (segments.length === 0) throw problem(`${what} has no $DATA attribute`);
  let stream: Stream | undefined;
  let nextVcn = 0;
  for (const seg of segments) {
    const rec = seg.record === n ? base : await readRecord(ctx, seg.record, n);
    const attr = attributes(rec, `MFT record ${seg.record}`).find((a) => a.type === Type.Data && !a.named && a.id === seg.id);
    if (!attr) throw problem(`${what}: $DATA piece ${seg.id} missing from record ${seg.record}`);
    if (!attr.nonResident) {
      if (segments.length > 1) throw problem(`${what}: resident $DATA in an attribute list`);
      const resident = residentValue(attr, what);
      return { runs: [], resident, dataSize: resident.length, initSize: resident.length };
    }
    const piece = segmentStream(ctx, attr, nextVcn, `${what} $DATA`);
    if (!stream) stream = { runs: [], dataSize: piece.dataSize, initSize: piece.initSize };
    stream.runs.push(...piece.runs);
    nextVcn = piece.nextVcn;
    if (n === 0) {
      if (stream.runs[0]?.lcn !== ctx.boot.mftLcn) throw problem(`$MFT runlist starts at LCN ${stream.runs[0]?.lcn}, boot sector says ${ctx.boot.mftLcn}`);
      ctx.mft = stream;
    }
  }
  if (!stream) throw problem(`${what} has no $DATA attribute`);
  return stream;
}

/** Refuses volumes Windows did not leave cleanly: $Volume dirty, or a $LogFile with active clients. */
async function checkClean(ctx: Ctx, volumeAttrs: Attribute[]): Promise<void> {
  const info = volumeAttrs.find((a) => a.type === Type.VolumeInformation && !a.nonResident);
  if (!info) throw problem('$Volume has no volume information');
  const value = residentValue(info, '$Volume');
  if (value.length < 12) throw problem('$Volume information is truncated');
  if ((value.readUInt16LE(10) & 0x0001) !== 0) throw problem('volume is marked dirty (chkdsk pending or unclean shutdown): image it raw or run chkdsk');
  const log = await loadData(ctx, 2, '$LogFile');
  const head = await readStream(ctx, log, 0, Math.min(log.dataSize, 4096), '$LogFile');
  if (head.every((b) => b === 0xff)) return; // emptied by mkntfs, chkdsk or ntfs-3g: nothing to replay
  const pageSize = head.length >= 0x14 && head.toString('latin1', 0, 4) === 'RSTR' ? head.readUInt32LE(0x10) : 4096;
  if (!isPowerOfTwo(pageSize) || pageSize < 512 || pageSize > 65536) throw problem(`$LogFile restart page size ${pageSize} is invalid`);
  let best: { lsn: bigint; clean: boolean } | undefined;
  for (const at of [0, pageSize]) {
    if (at + pageSize > log.dataSize) continue;
    const raw = await readStream(ctx, log, at, pageSize, '$LogFile');
    if (raw.toString('latin1', 0, 4) === 'CHKD') throw problem('$LogFile was left by chkdsk with changes pending: image it raw');
    if (raw.toString('latin1', 0, 4) !== 'RSTR') continue;
    const page = applyFixups(raw, 'RSTR', `$LogFile restart page at ${at}`);
    const area = page.readUInt16LE(0x18);
    if (area % 8 !== 0 || area + 0x10 > page.length) throw problem(`$LogFile restart area offset ${area} is invalid`);
    const lsn = page.readBigUInt64LE(area);
    const clean = page.readUInt16LE(area + 0x0c) === 0xffff || (page.readUInt16LE(area + 0x0e) & 0x0002) !== 0;
    if (!best || lsn > best.lsn) best = { lsn, clean };
  }
  if (!best) throw problem('$LogFile has no valid restart page');
  if (!best.clean) throw problem('$LogFile has operations to replay (Windows fast startup, hibernation or a crash): image it raw');
}

/** Adds the clusters the bitmap marks in use, read in pieces. */
async function bitmapExtents(ctx: Ctx, bitmap: Stream, out: Extent[]): Promise<void> {
  const { clusters, clusterSize } = ctx.boot;
  const need = Math.ceil(clusters / 8);
  if (bitmap.dataSize < need || bitmap.initSize < need) throw problem(`$Bitmap holds ${bitmap.initSize} bytes, ${clusters} clusters need ${need}`);
  let run: Extent | undefined;
  const mark = (cluster: number, count: number): void => {
    const start = cluster * clusterSize;
    if (run && run.start + run.length === start) {
      run.length += count * clusterSize;
    } else {
      run = { start, length: count * clusterSize };
      out.push(run);
    }
  };
  for (let offset = 0; offset < need; offset += BITMAP_PIECE) {
    const bytes = await readStream(ctx, bitmap, offset, Math.min(BITMAP_PIECE, need - offset), '$Bitmap');
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] ?? 0;
      const first = (offset + i) * 8;
      if (byte === 0) continue;
      if (byte === 0xff && first + 8 <= clusters) mark(first, 8);
      else for (let bit = 0; bit < 8 && first + bit < clusters; bit++) if (byte & (1 << bit)) mark(first + bit, 1);
    }
  }
}

/** True if the reader starts with an NTFS boot sector. */
export async function probeNtfs(reader: BlockReader): Promise<boolean> {
  if (reader.size < 512) return false;
  const sector = await reader.read(0, 512);
  return sector.toString('latin1', 3, 11) === 'NTFS    ' && sector.readUInt16LE(510) === 0xaa55;
}

/**
 * The used-byte map of an NTFS volume: every cluster set in $Bitmap, plus the boot
 * sector, the MFT and its mirror, and the tail past the last cluster that holds the
 * backup boot sector. Extents are relative to the volume start. Throws LayoutProblem
 * on damaged or hostile metadata and on volumes not cleanly shut down.
 */
export async function ntfsUsage(reader: BlockReader): Promise<FsUsage> {
  if (reader.size < 512) throw problem('device is smaller than a boot sector');
  const boot = parseBoot(await reader.read(0, 512), reader.size);
  const ctx: Ctx = { reader, boot, records: new Map() };
  const mft = await loadData(ctx, 0, '$MFT');
  const volumeAttrs = attributes(await readRecord(ctx, 3), '$Volume');
  await checkClean(ctx, volumeAttrs);
  const bitmap = await loadData(ctx, 6, '$Bitmap');
  const cs = boot.clusterSize;
  const volumeEnd = boot.clusters * cs;
  const totalBytes = Math.min(reader.size, (boot.totalSectors + 1) * boot.bytesPerSector);
  const extents: Extent[] = [
    { start: 0, length: Math.min(volumeEnd, Math.max(8192, cs)) },
    { start: boot.mirrorLcn * cs, length: Math.min(volumeEnd - boot.mirrorLcn * cs, Math.max(4 * boot.recordSize, cs)) },
    { start: volumeEnd, length: totalBytes - volumeEnd },
  ];
  for (const run of [...mft.runs, ...bitmap.runs]) if (run.lcn !== null) extents.push({ start: run.lcn * cs, length: run.length * cs });
  await bitmapExtents(ctx, bitmap, extents);
  const used = mergeExtents(extents);
  const usage: FsUsage = { fsType: 'ntfs', blockSize: cs, totalBytes, usedBytes: used.reduce((s, e) => s + e.length, 0), used };
  const name = volumeAttrs.find((a) => a.type === Type.VolumeName && !a.nonResident);
  const label = name ? residentValue(name, '$Volume name').toString('utf16le') : '';
  if (label.length > 0) usage.label = label;
  usage.uuid = boot.serial.toString(16).toUpperCase().padStart(16, '0');
  return usage;
}
