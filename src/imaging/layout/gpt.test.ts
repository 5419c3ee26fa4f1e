import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from './crc32.js';
import {
  decodeGptEntries,
  decodeGptHeader,
  encodeGptHeader,
  type Gpt,
  gptFits,
  gptMinimumSectors,
  type GptHeader,
  gptTypeName,
  guidToBytes,
  guidToString,
  readGpt,
  relocateGpt,
} from './gpt.js';
import { decodeMbr, resizeProtectiveMbr } from './mbr.js';
import { bufferReader, LayoutProblem } from './types.js';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

const isProblem = (message: RegExp) => (err: unknown): boolean => err instanceof LayoutProblem && message.test(err.message);

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-gpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('GUIDs are mixed-endian on disk', () => {
  const bytes = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex');
  assert.equal(guidToString(bytes), ESP);
  assert.deepEqual(guidToBytes(ESP), bytes);
  assert.deepEqual(guidToBytes(ESP.toLowerCase()), bytes);
  assert.throws(() => guidToBytes('not-a-guid'), isProblem(/not a GUID/));
});

test('type names', () => {
  const cases: Array<[string, string]> = [
    [ESP, 'efi-system'], ['21686148-6449-6E6F-744E-656564454649', 'bios-boot'], [LINUX, 'linux'],
    ['0657fd6d-a4ab-43c4-84e5-0933c84b4f4f', 'swap'], ['EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', 'ntfs/basic-data'],
    ['E6D6D379-F507-44C2-A23C-238F2A3DF928', 'lvm'], ['CA7D7CCB-63ED-4C53-861C-1742536059CC', 'luks'],
    ['00000000-1111-2222-3333-444444444444', 'unknown'],
  ];
  for (const [guid, name] of cases) assert.equal(gptTypeName(guid), name, guid);
});

const DISK = 4096; // sectors of the hand-built disk
const baseHeader: GptHeader = {
  revision: 0x00010000, headerSize: 92, myLba: 1, alternateLba: DISK - 1, firstUsableLba: 34, lastUsableLba: DISK - 34,
  diskGuid: '11111111-2222-3333-4444-555555555555', entriesLba: 2, entryCount: 128, entrySize: 128, entriesCrc: 0,
};

function entry(type: string, unique: string, first: number, last: number, name: string, attributes = 0n): Buffer {
  const e = Buffer.alloc(128);
  guidToBytes(type).copy(e, 0);
  guidToBytes(unique).copy(e, 16);
  e.writeBigUInt64LE(BigInt(first), 32);
  e.writeBigUInt64LE(BigInt(last), 40);
  e.writeBigUInt64LE(attributes, 48);
  e.write(name, 56, 72, 'utf16le');
  return e;
}

/** A hand-built GPT disk (protective MBR, both GPTs) made with relocateGpt itself. */
function handBuiltDisk(): { disk: Buffer; gpt: Gpt } {
  const entries = Buffer.alloc(128 * 128);
  entry(ESP, 'AAAAAAAA-0000-0000-0000-000000000001', 34, 1000, 'EFI system', 4n).copy(entries, 0);
  entry(LINUX, 'AAAAAAAA-0000-0000-0000-000000000003', 1001, 4000, 'root ✓ 𝄞').copy(entries, 256);
  const header = { ...baseHeader, entriesCrc: crc32(entries) };
  const gpt: Gpt = { sectorSize: 512, diskSectors: DISK, source: 'primary', header, primaryEntriesLba: 2, entries, partitions: [], reserved: [], warnings: [] };
  const disk = Buffer.alloc(DISK * 512);
  for (const w of relocateGpt(gpt, DISK)) w.data.copy(disk, w.offset);
  return { disk, gpt };
}

test('a hand-built GPT decodes: entries, names (UTF-16 with surrogates), attributes, slots', async () => {
  const { disk } = handBuiltDisk();
  const gpt = await readGpt(bufferReader(disk));
  assert.equal(gpt.source, 'primary');
  assert.deepEqual(gpt.warnings, []);
  assert.deepEqual(gpt.header, { ...baseHeader, entriesCrc: gpt.header.entriesCrc });
  assert.deepEqual(gpt.partitions, [
    { number: 1, typeGuid: ESP, uniqueGuid: 'AAAAAAAA-0000-0000-0000-000000000001', firstLba: 34, lastLba: 1000, attributes: 4n, name: 'EFI system' },
    { number: 3, typeGuid: LINUX, uniqueGuid: 'AAAAAAAA-0000-0000-0000-000000000003', firstLba: 1001, lastLba: 4000, attributes: 0n, name: 'root ✓ 𝄞' },
  ]);
  assert.deepEqual(gpt.reserved, [{ start: 0, length: 34 * 512 }, { start: (DISK - 33) * 512, length: 33 * 512 }]);
});

/** Recompute the CRC of a header sector after a raw edit. */
function fixCrc(sector: Buffer): Buffer {
  const size = Math.min(sector.readUInt32LE(12), sector.length);
  sector.writeUInt32LE(0, 16);
  sector.writeUInt32LE(crc32(sector.subarray(0, size)), 16);
  return sector;
}

const headerCases: Array<[string, (s: Buffer) => void, RegExp]> = [
  ['bad signature', (s) => s.write('EFI PARX', 0, 'latin1'), /no "EFI PART"/],
  ['flipped bit, CRC not fixed', (s) => { s[60] = (s[60] ?? 0) ^ 1; }, /header CRC32 mismatch/],
  ['header size 91', (s) => fixCrc((s.writeUInt32LE(91, 12), s)), /header size 91/],
  ['header size 600', (s) => { s.writeUInt32LE(600, 12); }, /header size 600/],
  ['wrong my-LBA', (s) => fixCrc((s.writeBigUInt64LE(5n, 24), s)), /says it is at LBA 5/],
  ['entry size 100', (s) => fixCrc((s.writeUInt32LE(100, 84), s)), /entry size 100/],
  ['entry size 384', (s) => fixCrc((s.writeUInt32LE(384, 84), s)), /entry size 384/],
  ['a million entries', (s) => fixCrc((s.writeUInt32LE(1 << 20, 80), s)), /larger than/],
  ['2^32-1 entries of 2^31 bytes', (s) => fixCrc((s.writeUInt32LE(0xffffffff, 80), s.writeUInt32LE(0x80000000, 84), s)), /larger than/],
  ['first usable after last usable', (s) => fixCrc((s.writeBigUInt64LE(5000n, 40), s)), /first usable LBA 5000/],
  ['entry array past the disk', (s) => fixCrc((s.writeBigUInt64LE(4090n, 72), s)), /outside the 4096-sector disk/],
  ['entry array on the header', (s) => fixCrc((s.writeBigUInt64LE(1n, 72), s)), /LBA 1 overlaps the protective MBR or the primary header/],
  ['entry array at LBA 0', (s) => fixCrc((s.writeBigUInt64LE(0n, 72), s)), /LBA 0 overlaps the protective MBR/],
  ['entry array in the usable area', (s) => fixCrc((s.writeBigUInt64LE(40n, 72), s)), /overlaps the usable area/],
  ['LBA beyond 2^53', (s) => fixCrc((s.writeBigUInt64LE(2n ** 60n, 48), s)), /beyond 2\^53/],
  ['entry LBA 2^64-1', (s) => fixCrc((s.writeBigUInt64LE(2n ** 64n - 1n, 72), s)), /beyond 2\^53/],
];
for (const [name, damage, message] of headerCases) {
  test(`decodeGptHeader rejects: ${name}`, () => {
    const sector = encodeGptHeader(baseHeader, 512);
    damage(sector);
    assert.throws(() => decodeGptHeader(sector, 1, 512, DISK), isProblem(message));
  });
}

test('decodeGptHeader checks a backup header against its own LBA', () => {
  const backup = { ...baseHeader, myLba: DISK - 1, alternateLba: 1, entriesLba: DISK - 33 };
  assert.deepEqual(decodeGptHeader(encodeGptHeader(backup, 512), DISK - 1, 512, DISK), backup);
  assert.throws(() => decodeGptHeader(encodeGptHeader({ ...backup, entryCount: 4, entriesLba: DISK - 1 }, 512), DISK - 1, 512, DISK), isProblem(/overlaps the header/));
  assert.throws(() => decodeGptHeader(encodeGptHeader({ ...backup, entriesLba: 1 }, 512), DISK - 1, 512, DISK), isProblem(/primary header/));
  assert.throws(() => decodeGptHeader(encodeGptHeader(backup, 512), DISK - 2, 512, DISK), isProblem(/says it is at LBA 4095/));
});

test('encodeGptHeader and decodeGptHeader round-trip, also with a larger header size', () => {
  assert.deepEqual(decodeGptHeader(encodeGptHeader(baseHeader, 512), 1, 512, DISK), baseHeader);
  const big = { ...baseHeader, headerSize: 512 };
  assert.deepEqual(decodeGptHeader(encodeGptHeader(big, 512), 1, 512, DISK), big);
  assert.throws(() => encodeGptHeader({ ...baseHeader, headerSize: 1024 }, 512), isProblem(/does not fit/));
});

test('decodeGptEntries skips empty and hostile entries with a warning', () => {
  const array = Buffer.alloc(4 * 128);
  entry(LINUX, 'AAAAAAAA-0000-0000-0000-000000000001', 100, 50, 'inverted').copy(array, 0);
  entry(LINUX, 'AAAAAAAA-0000-0000-0000-000000000002', 100, 200, 'huge').copy(array, 128);
  array.writeBigUInt64LE(2n ** 63n, 128 + 40);
  entry(LINUX, 'AAAAAAAA-0000-0000-0000-000000000004', 300, 400, 'x'.repeat(36)).copy(array, 384);
  const warnings: string[] = [];
  const parts = decodeGptEntries(array, { ...baseHeader, entryCount: 4 }, warnings);
  assert.deepEqual(parts.map((p) => [p.number, p.name]), [[4, 'x'.repeat(36)]]);
  assert.match(warnings.join('\n'), /partition 1: last LBA 50 is before first LBA 100/);
  assert.match(warnings.join('\n'), /partition 2: last LBA \d+ is beyond 2\^53/);
});

const SGDISK_ARGS = [
  '-n1:2048:+1M', '-t1:EF02', '-c1:BIOS boot',
  '-n2:0:+16M', '-t2:EF00', '-c2:EFI System', '-A2:set:2',
  '-n3:0:+8M', '-t3:8200', '-c3:swap',
  '-n4:0:+8M', '-t4:0700', '-c4:Data ünï',
  '-n5:0:+4M', '-t5:8300', '-c5:root',
];

let sgdiskBytes: Buffer | undefined;

/** A 64 MiB GPT disk image made by sgdisk (once per run: sgdisk sleeps after writing); partitions end at 38 MiB. */
function sgdiskImage(dir: string): string {
  const img = join(dir, 'gpt.img');
  if (sgdiskBytes) {
    writeFileSync(img, sgdiskBytes);
  } else {
    execFileSync('truncate', ['-s', '64M', img]);
    execFileSync('sgdisk', [...SGDISK_ARGS, img], { stdio: 'pipe' });
    sgdiskBytes = readFileSync(img);
  }
  return img;
}

function sgdisk(...args: string[]): string {
  return execFileSync('sgdisk', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('readGpt agrees with sgdisk -p / -i on a real disk image', async (t) => {
  const img = sgdiskImage(tempDir(t));
  const gpt = await readGpt(bufferReader(readFileSync(img)));
  const summary = sgdisk('-p', img);
  assert.equal(gpt.header.diskGuid, /Disk identifier \(GUID\): (\S+)/.exec(summary)?.[1]);
  assert.equal(`${gpt.header.firstUsableLba},${gpt.header.lastUsableLba}`, /First usable sector is (\d+), last usable sector is (\d+)/.exec(summary)?.slice(1).join(','));
  assert.equal(gpt.header.entryCount, Number(/holds up to (\d+) entries/.exec(summary)?.[1]));
  assert.deepEqual(gpt.partitions.map((p) => p.number), [1, 2, 3, 4, 5]);
  for (const p of gpt.partitions) {
    const info = sgdisk('-i', String(p.number), img);
    const field = (re: RegExp): string | undefined => re.exec(info)?.[1];
    assert.equal(p.typeGuid, field(/Partition GUID code: (\S+)/));
    assert.equal(p.uniqueGuid, field(/Partition unique GUID: (\S+)/));
    assert.equal(p.firstLba, Number(field(/First sector: (\d+)/)));
    assert.equal(p.lastLba, Number(field(/Last sector: (\d+)/)));
    assert.equal(p.attributes, BigInt(`0x${field(/Attribute flags: ([0-9a-f]+)/i) ?? 'x'}`));
    assert.equal(p.name, field(/Partition name: '(.*)'/));
  }
  assert.equal(gpt.partitions[1]?.attributes, 4n);
  assert.deepEqual(gpt.warnings, []);
});

test('readGpt falls back to the backup when the primary is damaged, and fails clearly when both are', async (t) => {
  const good = readFileSync(sgdiskImage(tempDir(t)));
  const intact = await readGpt(bufferReader(good));
  const last = good.length / 512 - 1;

  const badHeader = Buffer.from(good);
  badHeader[512 + 60] = (badHeader[512 + 60] ?? 0) ^ 0xff;
  const fromBackup = await readGpt(bufferReader(badHeader));
  assert.equal(fromBackup.source, 'backup');
  assert.equal(fromBackup.header.myLba, last);
  assert.deepEqual(fromBackup.partitions, intact.partitions);
  assert.match(fromBackup.warnings.join('\n'), /primary GPT is damaged \(GPT header at LBA 1: header CRC32 mismatch.*using the backup GPT at LBA 131071/);
  assert.deepEqual(fromBackup.reserved, intact.reserved);

  const badEntries = Buffer.from(good);
  badEntries[1024 + 200] = (badEntries[1024 + 200] ?? 0) ^ 0xff;
  const fromBackup2 = await readGpt(bufferReader(badEntries));
  assert.equal(fromBackup2.source, 'backup');
  assert.match(fromBackup2.warnings.join('\n'), /entry array at LBA 2: CRC32 mismatch/);

  const badBackup = Buffer.from(good);
  badBackup.fill(0, last * 512);
  const primaryOnly = await readGpt(bufferReader(badBackup));
  assert.equal(primaryOnly.source, 'primary');
  assert.match(primaryOnly.warnings.join('\n'), /backup GPT is damaged or missing \(GPT header at LBA 131071: no "EFI PART"/);

  const both = Buffer.from(badHeader);
  both.fill(0, last * 512);
  await assert.rejects(readGpt(bufferReader(both)), isProblem(/primary damaged \(.*CRC32 mismatch.*\) and backup damaged \(.*no "EFI PART".*\)/));
});

test('readGpt on an image truncated before its backup GPT warns and keeps the primary', async (t) => {
  const good = readFileSync(sgdiskImage(tempDir(t)));
  const gpt = await readGpt(bufferReader(good.subarray(0, 40 * 1024 * 1024)));
  assert.equal(gpt.source, 'primary');
  assert.match(gpt.warnings.join('\n'), /backup GPT is damaged or missing \(alternate LBA 131071 is not a backup location on the 81920-sector disk/);
  assert.match(gpt.warnings.join('\n'), /last usable LBA 131038 is beyond the disk's last LBA 81919/);
});

test('readGpt on an image copied onto a larger disk finds the backup where the primary says', async (t) => {
  const good = readFileSync(sgdiskImage(tempDir(t)));
  const bigger = Buffer.concat([good, Buffer.alloc(good.length)]);
  const gpt = await readGpt(bufferReader(bigger));
  assert.equal(gpt.source, 'primary');
  assert.deepEqual(gpt.warnings, ['backup GPT is at LBA 131071, not at the disk\'s last LBA 262143 (disk resized?)']);
  assert.deepEqual(gpt.reserved.at(-1), { start: (131071 - 32) * 512, length: 33 * 512 });
  bigger[1024] = (bigger[1024] ?? 0) ^ 1; // primary entries damaged, primary header intact: its alternate LBA is tried
  const fromOld = await readGpt(bufferReader(bigger));
  assert.equal(fromOld.source, 'backup');
  assert.equal(fromOld.header.myLba, 131071);
  assert.equal(fromOld.partitions.length, 5);
});

/** Copy `src` into a new file of `bytes` bytes and write the relocated GPT and protective MBR. */
function relocateInto(src: Buffer, gpt: Gpt, file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, bytes);
    writeSync(fd, src, 0, Math.min(src.length, bytes), 0);
    writeSync(fd, resizeProtectiveMbr(src.subarray(0, 512), bytes / 512), 0, 512, 0);
    for (const w of relocateGpt(gpt, bytes / 512)) writeSync(fd, w.data, 0, w.data.length, w.offset);
  } finally {
    closeSync(fd);
  }
}

test('relocateGpt onto a larger and a smaller disk satisfies sgdisk -v', async (t) => {
  const dir = tempDir(t);
  const src = readFileSync(sgdiskImage(dir));
  const gpt = await readGpt(bufferReader(src));
  const minimum = gptMinimumSectors(gpt);
  assert.equal(minimum, 77823 + 2 + 32);
  for (const [label, bytes] of [['larger', 128 * 1024 * 1024], ['smaller', 40 * 1024 * 1024], ['minimum', minimum * 512]] as const) {
    const file = join(dir, `${label}.img`);
    relocateInto(src, gpt, file, bytes);
    const verify = sgdisk('-v', file);
    assert.match(verify, /No problems found/, `${label}: ${verify}`);
    const back = await readGpt(bufferReader(readFileSync(file)));
    assert.deepEqual(back.warnings, [], label);
    assert.equal(back.header.alternateLba, bytes / 512 - 1);
    assert.equal(back.header.lastUsableLba, bytes / 512 - 34);
    assert.deepEqual(back.partitions, gpt.partitions);
    const pmbr = decodeMbr(readFileSync(file).subarray(0, 512));
    assert.equal(pmbr.entries[0]?.sectors, bytes / 512 - 1);
  }
  assert.equal(gptFits(gpt, minimum), true);
  assert.equal(gptFits(gpt, minimum - 1), false);
  assert.throws(() => relocateGpt(gpt, minimum - 1), isProblem(/too small: the partitions need at least 77857 sectors/));
  assert.throws(() => relocateGpt(gpt, 2 ** 60), isProblem(/too large/));
});

test('relocateGpt from a GPT read off its backup writes a primary at LBA 1 again', async (t) => {
  const dir = tempDir(t);
  const src = readFileSync(sgdiskImage(dir));
  src.fill(0, 512, 1024);
  const gpt = await readGpt(bufferReader(src));
  assert.equal(gpt.source, 'backup');
  const file = join(dir, 'repaired.img');
  relocateInto(src, gpt, file, 96 * 1024 * 1024);
  assert.match(sgdisk('-v', file), /No problems found/);
  const back = await readGpt(bufferReader(readFileSync(file)));
  assert.equal(back.source, 'primary');
  assert.deepEqual(back.warnings, []);
});
