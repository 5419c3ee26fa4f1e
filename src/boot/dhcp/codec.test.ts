import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MalformedPacket } from '../malformed.js';
import { DHCP_MAGIC_COOKIE, type DhcpMessage, decodeDhcp, encodeDhcp } from './codec.js';
import {
  ARCHITECTURE,
  OPTION,
  clientArchitectures,
  clientMachineId,
  ipv4Option,
  isIpxe,
  isPxeClient,
  macAddress,
  maxMessageSize,
  messageType,
  parameterRequestList,
  textOption,
  userClasses,
  value,
} from './options.js';

/** A BOOTP/DHCP header written field by field from RFC 2131's table, not by the encoder under test. */
function header(fields: { op?: number; hlen?: number; xid?: number; secs?: number; flags?: number; chaddr?: number[]; cookie?: number } = {}): Buffer {
  const b = Buffer.alloc(240);
  b[0] = fields.op ?? 1;
  b[1] = 1; // Ethernet
  b[2] = fields.hlen ?? 6;
  b.writeUInt32BE(fields.xid ?? 0x1a2b3c4d, 4);
  b.writeUInt16BE(fields.secs ?? 4, 8);
  b.writeUInt16BE(fields.flags ?? 0x8000, 10);
  Buffer.from(fields.chaddr ?? [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]).copy(b, 28);
  b.writeUInt32BE(fields.cookie ?? DHCP_MAGIC_COOKIE, 236);
  return b;
}
const opt = (code: number, bytes: number[] | Buffer | string) => {
  const v = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return Buffer.concat([Buffer.from([code, v.length]), v]);
};
const uuid = Buffer.from('8f1c3a2be0d94c5e9a7b6c5d4e3f2a10', 'hex');

/** What a PXE ROM's DHCPDISCOVER carries (x64 UEFI here), padded as firmware pads it. */
function pxeDiscover(): Buffer {
  const options = Buffer.concat([
    opt(53, [1]),
    opt(57, [0x04, 0xec]),
    opt(55, [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135]),
    opt(97, Buffer.concat([Buffer.from([0]), uuid])),
    opt(94, [1, 3, 16]),
    opt(93, [0, 7]),
    opt(60, 'PXEClient:Arch:00007:UNDI:003016'),
    Buffer.from([255]),
  ]);
  return Buffer.concat([header(), options, Buffer.alloc(548 - 240 - options.length)]);
}

test("a PXE ROM's DHCPDISCOVER decodes field by field, and its options through the readers", () => {
  const m = decodeDhcp(pxeDiscover());
  assert.equal(m.op, 'request');
  assert.equal(m.xid, 0x1a2b3c4d);
  assert.equal(m.secs, 4);
  assert.equal(m.flags, 0x8000);
  assert.equal(m.ciaddr, '0.0.0.0');
  assert.equal(macAddress(m), '52:54:00:12:34:56');
  assert.equal(m.sname, '');
  assert.equal(m.file, '');
  assert.equal(messageType(m), 'discover');
  assert.equal(maxMessageSize(m), 1260);
  assert.deepEqual(clientArchitectures(m), [ARCHITECTURE.efiX64]);
  assert.equal(clientMachineId(m), uuid.toString('hex'));
  assert.equal(isPxeClient(m), true);
  assert.equal(isIpxe(m), false);
  assert.deepEqual(parameterRequestList(m).slice(0, 4), [1, 2, 3, 4]);
  assert.equal(textOption(m, OPTION.vendorClass), 'PXEClient:Arch:00007:UNDI:003016');
});

test('iPXE is known by its bare user class; RFC 3004 lists are read as lists', () => {
  const ipxe = decodeDhcp(Buffer.concat([header(), opt(53, [3]), opt(77, 'iPXE'), opt(50, [192, 168, 7, 20]), opt(54, [192, 168, 7, 1]), opt(175, [177, 5, 1, 0x80, 0x86, 0x10, 0x0e]), Buffer.from([255])]));
  assert.equal(messageType(ipxe), 'request');
  assert.deepEqual(userClasses(ipxe), ['iPXE']);
  assert.equal(isIpxe(ipxe), true);
  assert.equal(ipv4Option(ipxe, OPTION.requestedAddress), '192.168.7.20');
  assert.equal(ipv4Option(ipxe, OPTION.serverId), '192.168.7.1');
  assert.equal(ipxe.options.get(OPTION.ipxeEncapsulated)?.length, 7);
  const listed = decodeDhcp(Buffer.concat([header(), opt(77, [4, ...Buffer.from('iPXE'), 3, ...Buffer.from('lab')]), Buffer.from([255])]));
  assert.deepEqual(userClasses(listed), ['iPXE', 'lab']);
});

test('an option given several times is one value, concatenated in order (RFC 3396); a missing END is tolerated', () => {
  const m = decodeDhcp(Buffer.concat([header(), opt(43, [1, 2]), opt(53, [1]), opt(43, [3]), Buffer.from([0, 0]), opt(43, [4, 5])]));
  assert.deepEqual([...(m.options.get(43) as Buffer)], [1, 2, 3, 4, 5]);
  assert.deepEqual([...m.options.keys()], [43, 53]);
});

test('option overload: options continue in the file field, then the sname field, and those fields are not names', () => {
  const b = Buffer.concat([header(), opt(53, [2]), opt(52, [3]), Buffer.from([255]), Buffer.alloc(60)]);
  Buffer.concat([opt(67, 'boot/ipxe.efi'), opt(43, [6, 1, 8]), Buffer.from([255])]).copy(b, 108);
  Buffer.concat([opt(66, '192.168.7.1'), opt(43, [9]), Buffer.from([255])]).copy(b, 44);
  const m = decodeDhcp(b);
  assert.equal(m.file, '');
  assert.equal(m.sname, '');
  assert.equal(textOption(m, OPTION.bootfileName), 'boot/ipxe.efi');
  assert.equal(textOption(m, OPTION.tftpServerName), '192.168.7.1');
  assert.deepEqual([...(m.options.get(43) as Buffer)], [6, 1, 8, 9], 'file before sname');
  assert.equal(m.options.has(52), false);
  // Without overload, the same bytes are the names (garbage shows as '?', never as control characters).
  const plain = Buffer.concat([header(), opt(53, [2]), Buffer.from([255])]);
  plain.write('lifeboat', 44, 'latin1');
  Buffer.from([0x62, 0x6f, 0x6f, 0x74, 0x0a, 0x07]).copy(plain, 108);
  const named = decodeDhcp(plain);
  assert.equal(named.sname, 'lifeboat');
  assert.equal(named.file, 'boot??');
});

test('malformed packets are refused with what is wrong, never read past their end', () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['too short', pxeDiscover().subarray(0, 239), /239 bytes, shorter than the 240-byte header/],
    ['op 3', Buffer.concat([header({ op: 3 }), Buffer.from([255])]), /op 3 is neither/],
    ['hlen 17', Buffer.concat([header({ hlen: 17 }), Buffer.from([255])]), /hardware address length 17/],
    ['BOOTP', Buffer.concat([header({ cookie: 0 }), Buffer.from([255])]), /no DHCP magic cookie/],
    ['no length byte', Buffer.concat([header(), opt(53, [1]), Buffer.from([60])]), /option 60 in the options field has no length byte/],
    ['value past the end', Buffer.concat([header(), opt(53, [1]), Buffer.from([60, 10, 65, 66])]), /option 60 in the options field claims 10 bytes but only 2 remain/],
    ['overload 4', Buffer.concat([header(), opt(52, [4]), Buffer.from([255])]), /option 52 \(overload\) must be one byte 1, 2 or 3/],
  ];
  for (const [name, bytes, why] of cases) {
    assert.throws(() => decodeDhcp(bytes), (e: unknown) => e instanceof MalformedPacket && why.test(e.message), name);
  }
  // An option in the file field may not run on into the options behind it.
  const spill = Buffer.concat([header(), opt(52, [1]), Buffer.from([255])]);
  spill[108 + 126] = 43;
  spill[108 + 127] = 20;
  assert.throws(() => decodeDhcp(spill), /option 43 in the file field claims 20 bytes but only 0 remain/);
});

const offer = (): DhcpMessage => ({
  op: 'reply',
  htype: 1,
  hlen: 6,
  hops: 0,
  xid: 0xdeadbeef,
  secs: 0,
  flags: 0x8000,
  ciaddr: '0.0.0.0',
  yiaddr: '192.168.7.20',
  siaddr: '192.168.7.1',
  giaddr: '0.0.0.0',
  chaddr: Buffer.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]),
  sname: '',
  file: 'ipxe.efi',
  options: new Map([
    [OPTION.messageType, value.messageType('offer')],
    [OPTION.serverId, value.ipv4('192.168.7.1')],
    [OPTION.leaseTime, value.u32(3600)],
    [OPTION.dnsServers, value.ipv4List(['192.168.7.1', '9.9.9.9'])],
    [OPTION.vendorClass, value.text('PXEClient')],
    [OPTION.vendorSpecific, randomBytes(300)],
  ]),
});

test('an offer encodes to the layout and decodes back the same; a 300-byte option goes as two instances', () => {
  const msg = offer();
  const bytes = encodeDhcp(msg, 1500);
  assert.equal(bytes[0], 2);
  assert.equal(bytes.readUInt32BE(236), DHCP_MAGIC_COOKIE);
  assert.deepEqual([...bytes.subarray(16, 24)], [192, 168, 7, 20, 192, 168, 7, 1]);
  assert.equal(bytes.subarray(108, 116).toString(), 'ipxe.efi');
  const at43 = bytes.indexOf(Buffer.from([43, 255]), 240);
  assert.ok(at43 > 0 && bytes[at43 + 2 + 255] === 43 && bytes[at43 + 2 + 255 + 1] === 45, 'split as 255 + 45 bytes');
  const back = decodeDhcp(bytes);
  assert.deepEqual({ ...back, options: undefined }, { ...msg, options: undefined });
  assert.deepEqual([...back.options], [...msg.options]);
  assert.equal(messageType(back), 'offer');

  const small = encodeDhcp({ ...msg, options: new Map([[OPTION.messageType, value.messageType('ack')]]) });
  assert.equal(small.length, 300, 'padded to the BOOTP minimum');
});

test('the encoder refuses what cannot be sent', () => {
  const msg = offer();
  assert.throws(() => encodeDhcp(msg), /needs \d+ bytes; the client takes at most 576/);
  assert.throws(() => encodeDhcp({ ...msg, options: new Map([[0, Buffer.from([1])]]) }, 1500), /option code 0 cannot carry a value/);
  assert.throws(() => encodeDhcp({ ...msg, options: new Map([[52, Buffer.from([1])]]) }, 1500), /option code 52/);
  assert.throws(() => encodeDhcp({ ...msg, chaddr: Buffer.alloc(17) }, 1500), /chaddr of 17 bytes/);
  assert.throws(() => encodeDhcp({ ...msg, file: 'x'.repeat(128) }, 1500), /boot file name of 128 bytes/);
  assert.throws(() => encodeDhcp({ ...msg, yiaddr: '192.168.7.256' }, 1500), /not an IPv4 address/);
  assert.throws(() => value.text('evil\nline'), /printable ASCII/);
});

test('readers ignore options of the wrong form', () => {
  const m = decodeDhcp(Buffer.concat([header(), opt(53, [9]), opt(57, [0x01, 0x00]), opt(93, [0, 7, 0]), opt(97, [1, ...uuid]), opt(60, 'PXE\u0001Client'), opt(54, [1, 2, 3]), opt(77, [0]), Buffer.from([255])]));
  assert.equal(messageType(m), null);
  assert.equal(maxMessageSize(m), null, 'below 576');
  assert.deepEqual(clientArchitectures(m), []);
  assert.equal(clientMachineId(m), null);
  assert.equal(isPxeClient(m), false);
  assert.equal(ipv4Option(m, OPTION.serverId), null);
  assert.deepEqual(userClasses(m), []);
  assert.equal(macAddress({ ...m, htype: 6 }), null);
});

test('fuzz: any bytes decode to a message or a MalformedPacket, and what decodes re-encodes to the same options', () => {
  const seeds = [pxeDiscover(), encodeDhcp(offer(), 1500)];
  for (let n = 0; n < 4000; n++) {
    let buf: Buffer;
    if (n % 4 === 0) buf = randomBytes(Math.floor(Math.random() * 700));
    else {
      buf = Buffer.from(seeds[n % 2] as Buffer);
      for (let k = 0; k < 1 + (n % 6); k++) buf[240 + Math.floor(Math.random() * (buf.length - 240))] = Math.floor(Math.random() * 256);
      if (n % 5 === 0) buf = buf.subarray(0, 240 + Math.floor(Math.random() * (buf.length - 240)));
    }
    let m: DhcpMessage;
    try {
      m = decodeDhcp(buf);
    } catch (err) {
      assert.ok(err instanceof MalformedPacket, String(err));
      continue;
    }
    const again = decodeDhcp(encodeDhcp({ ...m, sname: '', file: '' }, 70000));
    assert.deepEqual([...again.options], [...m.options]);
  }
});
