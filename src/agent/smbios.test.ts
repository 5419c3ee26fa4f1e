import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { formatSmbiosUuid, parseEntryPoint, parseSmbios } from './smbios.js';

function structure(type: number, formatted: number[], strings: string[]): Buffer {
  const head = Buffer.from([type, 4 + formatted.length, 0x00, 0x01, ...formatted]);
  const tail = strings.length === 0 ? Buffer.from([0, 0]) : Buffer.concat([...strings.map((s) => Buffer.from(`${s}\0`, 'latin1')), Buffer.from([0])]);
  return Buffer.concat([head, tail]);
}

// 12345678-9abc-def0-1122-334455667788 as SMBIOS >= 2.6 stores it (first three fields little-endian)
const uuidLe = [0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
// type 1: manufacturer=1 product=2 version=3 serial=4, uuid, wake-up, sku=5, family=6
const system = structure(1, [1, 2, 3, 4, ...uuidLe, 6, 5, 6], ['QEMU', 'Standard PC (Q35 + ICH9, 2009)', 'pc-q35-7.2', 'SER-1234', 'SKU9', 'Fam']);
const bios = structure(0, [1, 2, 0, 0xe8, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0], ['SeaBIOS', '1.16', '04/01/2014']);
const board = structure(2, [1, 2, 0, 3], ['Board Inc', 'B-1', '\u0001BS-77\u00ff']);
const end = structure(127, [], []);
const ep3 = Buffer.from([0x5f, 0x53, 0x4d, 0x33, 0x5f, 0, 0x18, 3, 0, 0]);

test('type 1 and 2: strings by index, the UUID in SMBIOS 2.6+ byte order, control characters dropped', () => {
  const info = parseSmbios(Buffer.concat([bios, system, board, end]), ep3);
  assert.deepEqual(info.version, { major: 3, minor: 0 });
  assert.deepEqual(info.system, { uuid: '12345678-9abc-def0-1122-334455667788', manufacturer: 'QEMU', product: 'Standard PC (Q35 + ICH9, 2009)', version: 'pc-q35-7.2', serial: 'SER-1234', sku: 'SKU9', family: 'Fam' });
  assert.deepEqual(info.baseboard, { manufacturer: 'Board Inc', product: 'B-1', serial: 'BS-77' });
});

test('UUID before SMBIOS 2.6 is read big-endian; all-zero and all-FF mean no UUID', () => {
  assert.equal(formatSmbiosUuid(Buffer.from(uuidLe), { major: 2, minor: 5 }), '78563412-bc9a-f0de-1122-334455667788');
  assert.equal(formatSmbiosUuid(Buffer.from(uuidLe), { major: 2, minor: 6 }), '12345678-9abc-def0-1122-334455667788');
  assert.equal(formatSmbiosUuid(Buffer.alloc(16), null), null);
  assert.equal(formatSmbiosUuid(Buffer.alloc(16, 0xff), null), null);
  assert.deepEqual(parseEntryPoint(Buffer.from('_SM_\0\0\x02\x08', 'latin1')), { major: 2, minor: 8 });
  assert.equal(parseEntryPoint(Buffer.from('nope')), null);
});

test('a truncated table yields what was read before the damage', () => {
  const full = Buffer.concat([system, board, end]);
  const info = parseSmbios(full.subarray(0, system.length + 5), null);
  assert.equal(info.system.serial, 'SER-1234');
  assert.equal(info.baseboard, null);
});

test('fuzz: parseSmbios never throws on damaged or random tables', () => {
  const good = Buffer.concat([bios, system, board, end]);
  for (let i = 0; i < 20000; i++) {
    let b: Buffer;
    if (i % 4 === 0) b = randomBytes(i % 300);
    else {
      b = Buffer.from(good);
      for (let k = 0; k < 1 + (i % 6); k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      if (i % 4 === 1) b = b.subarray(0, Math.floor(Math.random() * b.length));
    }
    const info = parseSmbios(b, i % 2 === 0 ? ep3 : randomBytes(i % 12));
    for (const v of Object.values(info.system)) assert.ok(v === null || (typeof v === 'string' && /^[\x20-\x7e]+$/.test(v)));
  }
});
