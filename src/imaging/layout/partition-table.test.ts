import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from './crc32.js';
import { type Gpt, guidToBytes, relocateGpt } from './gpt.js';
import { type DiskLayout, readPartitionTable } from './partition-table.js';
import { type BlockReader, bufferReader, LayoutProblem } from './types.js';

const MIB = 1024 * 1024;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-ptable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function image(dir: string, name: string, size: string): string {
  const img = join(dir, name);
  run('truncate', ['-s', size, img]);
  return img;
}

function mbrSector(entries: Array<[boot: number, type: number, first: number, sectors: number]>): Buffer {
  const s = Buffer.alloc(512);
  entries.forEach(([boot, type, first, sectors], i) => {
    s[446 + i * 16] = boot;
    s[446 + i * 16 + 4] = type;
    s.writeUInt32LE(first, 446 + i * 16 + 8);
    s.writeUInt32LE(sectors, 446 + i * 16 + 12);
  });
  s.writeUInt16LE(0xaa55, 510);
  return s;
}

interface SfdiskJson {
  partitiontable: {
    id: string;
    partitions: Array<{ node: string; start: number; size: number; type: string; uuid?: string; name?: string; bootable?: boolean; attrs?: string }>;
  };
}

const sfdiskJson = (img: string): SfdiskJson => JSON.parse(run('sfdisk', ['--json', img])) as SfdiskJson;
const nodeNumber = (node: string): number => Number(/(\d+)$/.exec(node)?.[1]);

const made = new Map<string, Buffer>();

/** Make an image with a tool once per run (sgdisk sleeps after writing), then copy its bytes. */
function cachedImage(dir: string, name: string, make: (img: string) => void): string {
  const img = join(dir, name);
  const bytes = made.get(name);
  if (bytes) {
    writeFileSync(img, bytes);
  } else {
    make(img);
    made.set(name, readFileSync(img));
  }
  return img;
}

/** A 32 MiB MBR disk made by sfdisk: 2 primaries, an extended one, 3 logical partitions. */
const mbrImage = (dir: string): string => cachedImage(dir, 'mbr.img', (img) => {
  run('truncate', ['-s', '32M', img]);
  run('sfdisk', ['-q', img], 'label: dos\nlabel-id: 0x0badcafe\n,4M,83,*\n,4M,7\n,,5\n,2M,83\n,3M,82\n,,8e\n');
});

/** A 64 MiB GPT disk made by sgdisk with BIOS boot, ESP, swap, basic data and Linux partitions. */
const gptImage = (dir: string): string => cachedImage(dir, 'gpt.img', (img) => {
  run('truncate', ['-s', '64M', img]);
  run('sgdisk', ['-n1:0:+1M', '-t1:EF02', '-c1:BIOS boot', '-n2:0:+16M', '-t2:EF00', '-c2:EFI System', '-A2:set:2',
    '-n3:0:+8M', '-t3:8200', '-c3:swap', '-n4:0:+8M', '-t4:0700', '-c4:Data', '-n5:0:0', '-t5:8300', '-c5:root', img]);
});

test('MBR disk made by sfdisk: partitions match sfdisk --json; MBR and EBRs are reserved', async (t) => {
  const img = mbrImage(tempDir(t));
  const layout = await readPartitionTable(bufferReader(readFileSync(img)));
  const json = sfdiskJson(img).partitiontable;
  assert.equal(layout.table, 'mbr');
  assert.equal(layout.diskId, json.id);
  assert.deepEqual(
    layout.partitions.map((p) => ({ number: p.number, start: p.start, size: p.size, type: parseInt(p.type, 16), bootable: p.bootable, uuid: p.uuid })),
    json.partitions.map((p) => ({ number: nodeNumber(p.node), start: p.start * 512, size: p.size * 512, type: parseInt(p.type, 16), bootable: p.bootable === true, uuid: `0badcafe-${nodeNumber(p.node).toString(16).padStart(2, '0')}` })),
  );
  assert.deepEqual(layout.partitions.map((p) => p.typeName), ['linux', 'ntfs', 'extended', 'linux', 'swap', 'lvm']);
  assert.equal(layout.reserved.length, 4);
  assert.deepEqual(layout.reserved[0], { start: 0, length: 512 });
  const ext = layout.partitions.find((p) => p.typeName === 'extended');
  for (const r of layout.reserved.slice(1)) assert.ok(ext && r.start >= ext.start && r.start < ext.start + ext.size && r.length === 512);
  assert.deepEqual(layout.bootCode, [{ start: 512, length: MIB - 512 }]);
  assert.deepEqual(layout.warnings, []);
  JSON.stringify(layout);
});

test('GPT disk made by sgdisk: partitions match sfdisk --json; both GPTs are reserved', async (t) => {
  const img = gptImage(tempDir(t));
  const size = 64 * MIB;
  const layout = await readPartitionTable(bufferReader(readFileSync(img)));
  const json = sfdiskJson(img).partitiontable;
  assert.equal(layout.table, 'gpt');
  assert.equal(layout.diskId, json.id);
  assert.deepEqual(
    layout.partitions.map((p) => ({ ...p, typeName: undefined })),
    json.partitions.map((p) => ({ number: nodeNumber(p.node), start: p.start * 512, size: p.size * 512, type: p.type, typeName: undefined, name: p.name, uuid: p.uuid, bootable: p.attrs === 'LegacyBIOSBootable' })),
  );
  assert.deepEqual(layout.partitions.map((p) => p.typeName), ['bios-boot', 'efi-system', 'swap', 'ntfs/basic-data', 'linux']);
  assert.deepEqual(layout.reserved, [{ start: 0, length: 34 * 512 }, { start: size - 33 * 512, length: 33 * 512 }]);
  assert.deepEqual(layout.bootCode, []);
  assert.deepEqual(layout.warnings, []);
  JSON.stringify(layout);
});

test('GPT with a damaged primary falls back with a warning; with both damaged it is a LayoutProblem', async (t) => {
  const disk = readFileSync(gptImage(tempDir(t)));
  const good = await readPartitionTable(bufferReader(disk));
  disk.write('XXXX', 512 + 24, 'latin1');
  const fallback = await readPartitionTable(bufferReader(disk));
  assert.deepEqual(fallback.partitions, good.partitions);
  assert.match(fallback.warnings.join('\n'), /primary GPT is damaged .* using the backup GPT/);
  disk.fill(0xff, disk.length - 512);
  await assert.rejects(readPartitionTable(bufferReader(disk)), (err: unknown) => err instanceof LayoutProblem && /no usable partition table/.test(err.message));
});

test('hybrid MBR, missing protective MBR, stale GPT behind a DOS MBR', async (t) => {
  const dir = tempDir(t);
  const img = gptImage(dir);
  run('sgdisk', ['-h', '4', img]);
  const hybrid = await readPartitionTable(bufferReader(readFileSync(img)));
  assert.equal(hybrid.table, 'gpt');
  assert.match(hybrid.warnings.join('\n'), /hybrid MBR/);

  const bare = readFileSync(img);
  bare.fill(0, 0, 512);
  const noPmbr = await readPartitionTable(bufferReader(bare));
  assert.equal(noPmbr.table, 'gpt');
  assert.equal(noPmbr.partitions.length, 5);
  assert.match(noPmbr.warnings.join('\n'), /GPT without a protective MBR/);

  mbrSector([[0, 0x83, 2048, 4096]]).copy(bare, 0);
  const stale = await readPartitionTable(bufferReader(bare));
  assert.equal(stale.table, 'mbr');
  assert.deepEqual(stale.partitions.map((p) => [p.number, p.start, p.size]), [[1, MIB, 2 * MIB]]);
  assert.match(stale.warnings.join('\n'), /GPT is ignored/);
});

test('bare filesystem images and blank disks have no partition table', async (t) => {
  const dir = tempDir(t);
  const vfat = join(dir, 'fat.img');
  run('mkfs.vfat', ['-C', vfat, '8192']);
  const ext4 = image(dir, 'ext4.img', '8M');
  run('mkfs.ext4', ['-q', '-F', ext4]);
  const ntfs = mbrSector([]);
  ntfs.write('NTFS    ', 3, 'latin1');
  const cases: Array<[string, Buffer, RegExp | null]> = [
    ['mkfs.vfat', readFileSync(vfat), null],
    ['mkfs.ext4', readFileSync(ext4), null],
    ['NTFS boot sector', Buffer.concat([ntfs, Buffer.alloc(MIB)]), null],
    ['zeros', Buffer.alloc(MIB), null],
    ['55AA with a bad boot flag', Buffer.concat([mbrSector([[0x12, 0x83, 1, 10]]), Buffer.alloc(MIB)]), /boot indicator 0x12/],
    ['100 bytes', Buffer.alloc(100), /smaller than one sector/],
  ];
  for (const [name, disk, warning] of cases) {
    const layout = await readPartitionTable(bufferReader(disk));
    assert.equal(layout.table, 'none', name);
    assert.deepEqual(layout.partitions, [], name);
    assert.deepEqual(layout.reserved, [], name);
    if (warning) assert.match(layout.warnings.join('\n'), warning, name);
    else assert.deepEqual(layout.warnings, [], name);
  }
});

test('an MBR disk image cut short: partitions past the end are clipped or dropped with warnings', async (t) => {
  const disk = readFileSync(mbrImage(tempDir(t))).subarray(0, 7 * MIB + 100);
  const layout = await readPartitionTable(bufferReader(disk));
  assert.deepEqual(layout.partitions.map((p) => [p.number, p.start, p.size]), [[1, MIB, 4 * MIB], [2, 5 * MIB, 2 * MIB]]);
  const warnings = layout.warnings.join('\n');
  assert.match(warnings, /not a multiple of the 512-byte sector size/);
  assert.match(warnings, /MBR partition 2 ends at sector 18431, beyond the disk's last sector 14335: clipped/);
  assert.match(warnings, /MBR partition 3 starts at sector 18432, beyond .*: ignored/);
});

test('overlapping MBR partitions are reported', async () => {
  const disk = Buffer.concat([mbrSector([[0, 0x83, 10, 100], [0, 0x83, 50, 100]]), Buffer.alloc(MIB)]);
  const layout = await readPartitionTable(bufferReader(disk));
  assert.equal(layout.partitions.length, 2);
  assert.match(layout.warnings.join('\n'), /partitions 1 and 2 overlap/);
});

test('a GPT with 4096-byte sectors is found, also when 512 was assumed', async () => {
  const ss = 4096;
  const entries = Buffer.alloc(128 * 128);
  guidToBytes('0FC63DAF-8483-4772-8E79-3D69D8477DE4').copy(entries, 0);
  guidToBytes('12345678-1234-1234-1234-123456789ABC').copy(entries, 16);
  entries.writeBigUInt64LE(256n, 32);
  entries.writeBigUInt64LE(1000n, 40);
  const header = { revision: 0x10000, headerSize: 92, myLba: 1, alternateLba: 1023, firstUsableLba: 6, lastUsableLba: 1018, diskGuid: '11111111-2222-3333-4444-555555555555', entriesLba: 2, entryCount: 128, entrySize: 128, entriesCrc: crc32(entries) };
  const gpt: Gpt = { sectorSize: ss, diskSectors: 1024, source: 'primary', header, primaryEntriesLba: 2, entries, partitions: [], reserved: [], warnings: [] };
  const disk = Buffer.alloc(1024 * ss);
  mbrSector([[0, 0xee, 1, 1023]]).copy(disk, 0);
  for (const w of relocateGpt(gpt, 1024)) w.data.copy(disk, w.offset);
  for (const assumed of [512, 4096]) {
    const layout = await readPartitionTable(bufferReader(disk), assumed);
    assert.equal(layout.sectorSize, 4096);
    assert.deepEqual(layout.partitions.map((p) => [p.number, p.start, p.size, p.typeName]), [[1, 256 * ss, 745 * ss, 'linux']]);
    assert.equal(layout.warnings.length, assumed === 512 ? 1 : 0, layout.warnings.join('\n'));
  }
});

test('readPartitionTable refuses a sector size that is not a power of two', async () => {
  await assert.rejects(readPartitionTable(bufferReader(Buffer.alloc(4096)), 1000), RangeError);
});

// ---- fuzzing ---------------------------------------------------------------------

/** Deterministic xorshift32. */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

/** A reader that fails the test (not with a LayoutProblem) on any read outside the buffer. */
function strictReader(buf: Buffer): BlockReader {
  let total = 0;
  return {
    size: buf.length,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
        throw new Error(`read outside the reader: ${length} bytes at ${offset} of ${buf.length}`);
      }
      total += length;
      if (total > 64 * MIB) throw new Error('parser read more than 64 MiB');
      return buf.subarray(offset, offset + length);
    },
  };
}

function checkInvariants(layout: DiskLayout, size: number): void {
  const numbers = new Set<number>();
  for (const p of layout.partitions) {
    assert.ok(Number.isSafeInteger(p.start) && Number.isSafeInteger(p.size) && p.start >= 0 && p.size > 0 && p.start + p.size <= size, JSON.stringify(p));
    assert.ok(!numbers.has(p.number), `duplicate partition number ${p.number}`);
    numbers.add(p.number);
  }
  for (const r of [...layout.reserved, ...layout.bootCode]) assert.ok(r.start >= 0 && r.length >= 0 && r.start + r.length <= size, JSON.stringify(r));
}

/** Recompute GPT header and entry-array CRCs, so mutations get past the CRC check. */
function fixGptCrcs(disk: Buffer, lba: number): void {
  const h = disk.subarray(lba * 512, lba * 512 + 512);
  if (h.toString('latin1', 0, 8) !== 'EFI PART') return;
  const entriesLba = Number(h.readBigUInt64LE(72) & 0xffffn);
  const bytes = h.readUInt32LE(80) * h.readUInt32LE(84);
  if (entriesLba * 512 + bytes <= disk.length) h.writeUInt32LE(crc32(disk.subarray(entriesLba * 512, entriesLba * 512 + bytes)), 88);
  const size = Math.min(Math.max(h.readUInt32LE(12), 0), 512);
  h.writeUInt32LE(0, 16);
  h.writeUInt32LE(crc32(h.subarray(0, size)), 16);
}

const INTERESTING = [0, 1, 2, 33, 34, 0x7f, 0x80, 0xff, 2047, 2048, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

test('fuzz: mutated real MBR/EBR/GPT bytes never crash and never read outside the disk', async (t) => {
  const dir = tempDir(t);
  const mbr = image(dir, 'fuzz-mbr.img', '1M');
  run('sfdisk', ['-q', mbr], 'label: dos\nstart=4,size=100,type=83,bootable\nstart=104,size=100,type=7\nstart=300,size=1700,type=f\nstart=302,size=200,type=83\nstart=600,size=300,type=82\nstart=1000,size=500,type=8e\n');
  const gpt = image(dir, 'fuzz-gpt.img', '1M');
  run('sgdisk', ['-a', '1', '-n1:34:+100', '-t1:EF02', '-n2:0:+400', '-t2:EF00', '-c2:ESP', '-n3:0:+300', '-t3:8300', '-n4:0:0', '-t4:8200', gpt]);
  const seed = Number(process.env.LIFEBOAT_FUZZ_SEED ?? 20240611);
  const rand = prng(seed);
  for (const file of [mbr, gpt]) {
    const original = readFileSync(file);
    const clean = await readPartitionTable(bufferReader(original));
    assert.deepEqual(clean.warnings, []);
    // Hot spots: MBR/EBR entry tables, GPT headers, the first GPT entries; also anywhere in a reserved sector.
    const sectors = clean.reserved.flatMap((r) => Array.from({ length: Math.ceil(r.length / 512) }, (_, i) => r.start / 512 + i));
    const last = original.length / 512 - 1;
    const hot = [...sectors.map((s) => [s * 512 + 446, 66]), [512, 92], [1024, 512], [last * 512, 92], [(last - 32) * 512, 512]];
    const work = Buffer.from(original);
    for (let i = 0; i < 2500; i++) {
      const touched = new Set<number>();
      for (let m = 1 + rand(6); m > 0; m--) {
        let offset: number;
        if (rand(2) === 0) {
          const [start, length] = hot[rand(hot.length)] as [number, number];
          offset = start + rand(length);
        } else {
          offset = (sectors[rand(sectors.length)] as number) * 512 + rand(512);
        }
        offset = Math.min(offset, work.length - 8);
        const kind = rand(4);
        if (kind === 0) work[offset] = rand(256);
        else if (kind === 1) work[offset] = (work[offset] ?? 0) ^ (1 << rand(8));
        else if (kind === 2) work.writeUInt32LE(INTERESTING[rand(INTERESTING.length)] as number, offset - (offset % 4));
        else work.writeBigUInt64LE(BigInt.asUintN(64, BigInt(INTERESTING[rand(INTERESTING.length)] as number) << BigInt(rand(40))), offset - (offset % 8));
        touched.add(Math.floor(offset / 512));
      }
      if (rand(2) === 0) {
        fixGptCrcs(work, 1);
        fixGptCrcs(work, last);
        touched.add(1).add(last);
      }
      try {
        checkInvariants(await readPartitionTable(strictReader(work)), work.length);
      } catch (err) {
        if (!(err instanceof LayoutProblem)) {
          assert.fail(`${file} iteration ${i} (seed ${seed}): ${err instanceof Error ? err.stack : String(err)}`);
        }
      }
      for (const s of touched) original.copy(work, s * 512, s * 512, s * 512 + 512);
      assert.ok(work.equals(original) || sectors.length === 0, 'mutations undone');
    }
  }
});
