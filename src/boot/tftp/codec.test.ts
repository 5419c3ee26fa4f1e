import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MalformedPacket } from '../malformed.js';
import { type TftpPacket, decodeTftp, encodeTftp } from './codec.js';

const bytes = (...parts: Array<number[] | string>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

test('a read request with options decodes as RFC 1350 and 2347 lay it out (names case-insensitive)', () => {
  const p = decodeTftp(bytes([0, 1], 'boot/ipxe.efi\0', 'OCTET\0', 'blksize\0', '1468\0', 'TSize\0', '0\0'));
  assert.deepEqual(p, { op: 'rrq', filename: 'boot/ipxe.efi', mode: 'octet', options: new Map([['blksize', '1468'], ['tsize', '0']]) });
  assert.deepEqual(decodeTftp(bytes([0, 3, 0x12, 0x34], 'abc')), { op: 'data', block: 0x1234, data: Buffer.from('abc') });
  assert.deepEqual(decodeTftp(bytes([0, 4, 0xff, 0xff])), { op: 'ack', block: 65535 });
  assert.deepEqual(decodeTftp(bytes([0, 5, 0, 1], 'file not found\0')), { op: 'error', code: 1, message: 'file not found' });
  assert.deepEqual(decodeTftp(bytes([0, 6], 'blksize\0', '512\0')), { op: 'oack', options: new Map([['blksize', '512']]) });
});

test('every packet kind encodes to the bytes it decodes from', () => {
  const packets: TftpPacket[] = [
    { op: 'rrq', filename: 'undionly.kpxe', mode: 'octet', options: new Map([['windowsize', '8']]) },
    { op: 'wrq', filename: 'x', mode: 'netascii', options: new Map() },
    { op: 'data', block: 7, data: randomBytes(1468) },
    { op: 'data', block: 0, data: Buffer.alloc(0) },
    { op: 'ack', block: 0 },
    { op: 'error', code: 2, message: 'this server is read-only' },
    { op: 'oack', options: new Map([['tsize', '123456'], ['blksize', '1468']]) },
  ];
  for (const p of packets) assert.deepEqual(decodeTftp(encodeTftp(p)), p);
  assert.throws(() => encodeTftp({ op: 'ack', block: 65536 }), RangeError);
  assert.throws(() => encodeTftp({ op: 'error', code: 0, message: 'bad\nline' }), RangeError);
});

test('malformed packets are refused with what is wrong', () => {
  const cases: Array<[Buffer, RegExp]> = [
    [bytes([0, 1, 0]), /3 bytes, shorter than any/],
    [bytes([0, 9, 0, 0]), /unknown opcode 9/],
    [bytes([0, 1], 'file\0', 'octet'), /not NUL-terminated/],
    [bytes([0, 1], '\0', 'octet\0'), /names no file/],
    [bytes([0, 1], 'f\0', 'mail\0'), /transfer mode "mail"/],
    [bytes([0, 1], 'f\0', 'octet\0', 'blksize\0'), /option "blksize" has no value/],
    [bytes([0, 1], 'f\0', 'octet\0', 'blksize\0', '8\0', 'BLKSIZE\0', '9\0'), /option blksize is given twice/],
    [bytes([0, 1], 'f\u0007\0', 'octet\0'), /not printable ASCII/],
    [bytes([0, 1], `${'a'.repeat(600)}\0`, 'octet\0'), /more than 512/],
    [bytes([0, 4, 0, 1, 0]), /ACK of 5 bytes/],
    [bytes([0, 5, 0, 1], 'a\0', 'b\0'), /more than one message/],
  ];
  for (const [buf, why] of cases) assert.throws(() => decodeTftp(buf), (e: unknown) => e instanceof MalformedPacket && why.test(e.message), why.source);
});

test('fuzz: any bytes decode to a packet or a MalformedPacket, and a packet re-encodes to itself', () => {
  const seed = encodeTftp({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map([['blksize', '1468'], ['tsize', '0']]) });
  for (let n = 0; n < 5000; n++) {
    let buf: Buffer;
    if (n % 3 === 0) buf = randomBytes(Math.floor(Math.random() * 40));
    else {
      buf = Buffer.from(seed);
      for (let k = 0; k < 1 + (n % 4); k++) buf[Math.floor(Math.random() * buf.length)] = n % 2 ? Math.floor(Math.random() * 256) : 0;
    }
    let p: TftpPacket;
    try {
      p = decodeTftp(buf);
    } catch (err) {
      assert.ok(err instanceof MalformedPacket, String(err));
      continue;
    }
    assert.deepEqual(decodeTftp(encodeTftp(p)), p);
  }
});
