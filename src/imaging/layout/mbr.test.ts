import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeMbr,
  hasBootSignature,
  isExtendedType,
  isFilesystemBootSector,
  isProtective,
  MAX_EBRS,
  mbrTypeName,
  readMbr,
  resizeProtectiveMbr,
} from './mbr.js';
import { bufferReader, LayoutProblem } from './types.js';

interface Entry {
  boot?: number;
  type: number;
  first: number;
  sectors: number;
}

/** A 512-byte MBR/EBR sector with up to four entries and the 0x55AA signature. */
function tableSector(entries: Entry[], diskSignature = 0x12345678): Buffer {
  const s = Buffer.alloc(512);
  s.writeUInt32LE(diskSignature, 440);
  entries.forEach((e, i) => {
    const off = 446 + i * 16;
    s[off] = e.boot ?? 0;
    s[off + 4] = e.type;
    s.writeUInt32LE(e.first, off + 8);
    s.writeUInt32LE(e.sectors, off + 12);
  });
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

/** A disk of `sectors` sectors with the given sectors written at their LBAs. */
function disk(sectors: number, at: Record<number, Buffer>): Buffer {
  const d = Buffer.alloc(sectors * 512);
  for (const [lba, s] of Object.entries(at)) s.copy(d, Number(lba) * 512);
  return d;
}

test('decodeMbr reads entries, boot flag and disk signature', () => {
  const mbr = decodeMbr(tableSector([{ boot: 0x80, type: 0x83, first: 2048, sectors: 4096 }, { type: 0x07, first: 6144, sectors: 100 }], 0xa7e67bdb));
  assert.equal(mbr.diskSignature, 0xa7e67bdb);
  assert.deepEqual(mbr.entries[0], { slot: 1, bootIndicator: 0x80, type: 0x83, firstLba: 2048, sectors: 4096 });
  assert.deepEqual(mbr.entries[1], { slot: 2, bootIndicator: 0, type: 0x07, firstLba: 6144, sectors: 100 });
  assert.deepEqual(mbr.entries[3], { slot: 4, bootIndicator: 0, type: 0, firstLba: 0, sectors: 0 });
  assert.equal(isProtective(mbr), false);
});

test('decodeMbr: u32 fields at their maximum decode exactly', () => {
  const mbr = decodeMbr(tableSector([{ type: 0xee, first: 0xffffffff, sectors: 0xffffffff }]));
  assert.equal(mbr.entries[0]?.firstLba, 0xffffffff);
  assert.equal(mbr.entries[0]?.sectors, 0xffffffff);
  assert.equal(isProtective(mbr), true);
});

const rejected: Array<[string, Buffer, RegExp]> = [
  ['no signature', Buffer.alloc(512), /no 0x55AA/],
  ['short sector', Buffer.alloc(100), /no 0x55AA/],
  ['boot indicator 0x01', tableSector([{ boot: 1, type: 0x83, first: 1, sectors: 1 }]), /boot indicator 0x1/],
  ['boot indicator 0xff in slot 4', tableSector([{ type: 0, first: 0, sectors: 0 }, { type: 0, first: 0, sectors: 0 }, { type: 0, first: 0, sectors: 0 }, { boot: 0xff, type: 0, first: 0, sectors: 0 }]), /entry 4/],
];
for (const [name, sector, message] of rejected) {
  test(`decodeMbr rejects: ${name}`, () => {
    assert.throws(() => decodeMbr(sector), (err: unknown) => err instanceof LayoutProblem && message.test(err.message));
  });
}

test('isFilesystemBootSector tells FAT/NTFS/exFAT boot sectors from MBRs', () => {
  const fat = tableSector([]);
  fat.set([0xeb, 0x3c, 0x90], 0);
  fat.writeUInt16LE(512, 11);
  fat[13] = 4;
  fat.writeUInt16LE(1, 14);
  fat[16] = 2;
  fat[21] = 0xf8;
  assert.equal(isFilesystemBootSector(fat), true);
  const ntfs = tableSector([]);
  ntfs.write('NTFS    ', 3, 'latin1');
  assert.equal(isFilesystemBootSector(ntfs), true);
  const exfat = tableSector([]);
  exfat.write('EXFAT   ', 3, 'latin1');
  assert.equal(isFilesystemBootSector(exfat), true);
  // GRUB's boot.img starts with a short jump too, but its BPB area is zero.
  const grub = tableSector([{ boot: 0x80, type: 0x83, first: 2048, sectors: 100 }]);
  grub.set([0xeb, 0x63, 0x90], 0);
  assert.equal(isFilesystemBootSector(grub), false);
  const badMedia = Buffer.from(fat);
  badMedia[21] = 0x12;
  assert.equal(isFilesystemBootSector(badMedia), false);
  assert.equal(hasBootSignature(fat), true);
  assert.equal(hasBootSignature(Buffer.alloc(512)), false);
});

test('type names and extended types', () => {
  const cases: Array<[number, string, boolean]> = [
    [0x83, 'linux', false], [0x82, 'swap', false], [0x07, 'ntfs', false], [0x0c, 'fat32', false],
    [0x05, 'extended', true], [0x0f, 'extended', true], [0x85, 'extended', true], [0x8e, 'lvm', false],
    [0xef, 'efi-system', false], [0xee, 'gpt-protective', false], [0xfd, 'linux-raid', false], [0x99, 'unknown', false],
  ];
  for (const [type, name, ext] of cases) {
    assert.equal(mbrTypeName(type), name, `0x${type.toString(16)}`);
    assert.equal(isExtendedType(type), ext);
  }
});

test('readMbr follows the EBR chain and numbers logical partitions from 5', async () => {
  const mbr = tableSector([{ boot: 0x80, type: 0x83, first: 2, sectors: 8 }, { type: 0x0f, first: 10, sectors: 50 }]);
  const ebr1 = tableSector([{ type: 0x83, first: 2, sectors: 5 }, { type: 0x05, first: 10, sectors: 20 }], 0);
  const ebr2 = tableSector([{ type: 0x82, first: 1, sectors: 8 }], 0);
  const d = disk(64, { 0: mbr, 10: ebr1, 20: ebr2 });
  const layout = await readMbr(bufferReader(d), 512, decodeMbr(mbr));
  assert.deepEqual(layout.partitions.map((p) => [p.number, p.type, p.firstLba, p.sectors, p.bootable, p.extended]), [
    [1, 0x83, 2, 8, true, false],
    [2, 0x0f, 10, 50, false, true],
    [5, 0x83, 12, 5, false, false],
    [6, 0x82, 21, 8, false, false],
  ]);
  assert.deepEqual(layout.ebrLbas, [10, 20]);
  assert.deepEqual(layout.warnings, []);
});

interface ChainCase {
  name: string;
  at: Record<number, Buffer>;
  sectors: number;
  logical: number[];
  warning: RegExp;
}

const ext = tableSector([{ type: 0x05, first: 10, sectors: 50 }]);
const chainCases: ChainCase[] = [
  {
    name: 'a link back to the first EBR (loop)',
    at: { 0: ext, 10: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x05, first: 10, sectors: 5 }]), 20: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x05, first: 0, sectors: 5 }]) },
    sectors: 64, logical: [11, 21], warning: /loops back to sector 10/,
  },
  {
    name: 'an EBR linking to itself',
    at: { 0: ext, 10: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x0f, first: 0, sectors: 5 }]) },
    sectors: 64, logical: [11], warning: /loops back/,
  },
  {
    name: 'a link past the end of the disk',
    at: { 0: tableSector([{ type: 0x05, first: 10, sectors: 0xffffffff }]), 10: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x05, first: 0xfffffff0, sectors: 5 }]) },
    sectors: 64, logical: [11], warning: /beyond the disk's last sector 63/,
  },
  {
    name: 'a link outside the extended partition',
    at: { 0: ext, 10: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x05, first: 55, sectors: 1 }]) },
    sectors: 128, logical: [11], warning: /outside extended partition 1/,
  },
  {
    name: 'an EBR without signature',
    at: { 0: ext, 10: tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0x05, first: 10, sectors: 5 }]) },
    sectors: 64, logical: [11], warning: /sector 20 has no 0x55AA/,
  },
  {
    name: 'an extended partition starting past the disk',
    at: { 0: tableSector([{ type: 0x05, first: 1000, sectors: 50 }]) },
    sectors: 64, logical: [], warning: /EBR at sector 1000 is beyond/,
  },
  {
    name: 'a logical partition on the EBR itself',
    at: { 0: ext, 10: tableSector([{ type: 0x83, first: 0, sectors: 2 }]) },
    sectors: 64, logical: [], warning: /starts on the EBR itself/,
  },
];
for (const c of chainCases) {
  test(`readMbr survives ${c.name}`, async () => {
    const d = disk(c.sectors, c.at);
    const layout = await readMbr(bufferReader(d), 512, decodeMbr(d.subarray(0, 512)));
    assert.deepEqual(layout.partitions.filter((p) => p.number >= 5).map((p) => p.firstLba), c.logical);
    assert.ok(layout.warnings.some((w) => c.warning.test(w)), layout.warnings.join('\n'));
  });
}

test('readMbr takes EBR entries 3 and 4 only when they lie inside the EBR region', async () => {
  const ebr = tableSector([{ type: 0x83, first: 1, sectors: 2 }, { type: 0, first: 0, sectors: 0 }, { type: 0x83, first: 4, sectors: 3 }, { type: 0x83, first: 4, sectors: 300 }]);
  const d = disk(64, { 0: ext, 10: ebr });
  const layout = await readMbr(bufferReader(d), 512, decodeMbr(d.subarray(0, 512)));
  assert.deepEqual(layout.partitions.filter((p) => p.number >= 5).map((p) => [p.number, p.firstLba, p.sectors]), [[5, 11, 2], [6, 14, 3]]);
});

test(`readMbr stops an over-long EBR chain after ${MAX_EBRS} EBRs`, async () => {
  const sectors = 400;
  const at: Record<number, Buffer> = { 0: tableSector([{ type: 0x05, first: 1, sectors: sectors - 1 }]) };
  for (let lba = 1; lba < sectors; lba++) at[lba] = tableSector([{ type: 0, first: 0, sectors: 0 }, { type: 0x05, first: lba, sectors: 1 }]);
  const d = disk(sectors, at);
  const layout = await readMbr(bufferReader(d), 512, decodeMbr(d.subarray(0, 512)));
  assert.equal(layout.ebrLbas.length, MAX_EBRS);
  assert.ok(layout.warnings.some((w) => /more than 256 EBRs/.test(w)));
});

test('readMbr skips empty entries and one starting at sector 0', async () => {
  const mbr = tableSector([{ type: 0x83, first: 0, sectors: 10 }, { type: 0x83, first: 5, sectors: 0 }, { type: 0, first: 20, sectors: 4 }]);
  const layout = await readMbr(bufferReader(disk(64, { 0: mbr })), 512, decodeMbr(mbr));
  assert.deepEqual(layout.partitions.map((p) => [p.number, p.type, p.firstLba]), [[3, 0, 20]]);
  assert.match(layout.warnings.join('\n'), /entry 1 starts at sector 0/);
});

test('resizeProtectiveMbr resizes a protective MBR and leaves a hybrid one alone', () => {
  const pmbr = tableSector([{ type: 0xee, first: 1, sectors: 131071 }], 0);
  assert.equal(decodeMbr(resizeProtectiveMbr(pmbr, 262144)).entries[0]?.sectors, 262143);
  assert.equal(decodeMbr(resizeProtectiveMbr(pmbr, 2 ** 40)).entries[0]?.sectors, 0xffffffff);
  assert.equal(pmbr.readUInt32LE(446 + 12), 131071, 'input untouched');
  const hybrid = tableSector([{ type: 0xee, first: 1, sectors: 2047 }, { type: 0x83, first: 2048, sectors: 4096 }], 0);
  assert.deepEqual(resizeProtectiveMbr(hybrid, 262144), hybrid);
});

test('readMbr agrees with sfdisk on an MBR with primary, extended and 3 logical partitions', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-mbr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const img = join(dir, 'disk.img');
  execFileSync('truncate', ['-s', '32M', img]);
  const script = 'label: dos\nlabel-id: 0xa7e67bdb\n,4M,83,*\n,4M,7\n,,5\n,2M,83\n,3M,82\n,,8e\n';
  execFileSync('sfdisk', ['-q', img], { input: script });
  const json = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8' })) as {
    partitiontable: { id: string; partitions: Array<{ node: string; start: number; size: number; type: string; bootable?: boolean }> };
  };
  const d = readFileSync(img);
  const layout = await readMbr(bufferReader(d), 512, decodeMbr(d.subarray(0, 512)));
  assert.equal(`0x${layout.diskSignature.toString(16)}`, json.partitiontable.id);
  const expected = json.partitiontable.partitions.map((p) => [Number(/(\d+)$/.exec(p.node)?.[1]), p.start, p.size, parseInt(p.type, 16), p.bootable === true]);
  assert.deepEqual(layout.partitions.map((p) => [p.number, p.firstLba, p.sectors, p.type, p.bootable]), expected);
  assert.deepEqual(layout.partitions.map((p) => p.number), [1, 2, 3, 5, 6, 7]);
  assert.equal(layout.ebrLbas.length, 3);
  for (const lba of layout.ebrLbas) assert.ok(hasBootSignature(d.subarray(lba * 512, lba * 512 + 512)));
  assert.deepEqual(layout.warnings, []);
});
