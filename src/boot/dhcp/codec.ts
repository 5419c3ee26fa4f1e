// DHCP messages (RFC 2131 over the BOOTP layout of RFC 951), decoded from and encoded to
// Buffers. Pure: no sockets here.
//
//   offset size  field
//        0    1  op (1 request, 2 reply)      1    1  htype      2    1  hlen     3   1  hops
//        4    4  xid                           8    2  secs      10    2  flags (bit 15: broadcast)
//       12    4  ciaddr   16  4  yiaddr   20  4  siaddr   24  4  giaddr
//       28   16  chaddr   44 64  sname    108 128 file     236  4  magic cookie 63 82 53 63
//      240    …  options: code, length, value; 0 is padding, 255 ends them
// Options may continue in `file` and then `sname` when option 52 (overload) says so, and
// an option given more than once is one value, concatenated in order (RFC 3396) — which is
// also how the encoder sends a value longer than 255 bytes.
import { MalformedPacket } from '../malformed.js';

export const DHCP_MAGIC_COOKIE = 0x63825363;
const HEADER = 236;
const OPTIONS_AT = HEADER + 4;
const SNAME = { at: 44, length: 64 };
const FILE = { at: 108, length: 128 };
const PAD = 0;
const END = 255;
const OVERLOAD = 52;
/** BOOTP's minimum message: some PXE ROMs drop anything shorter. */
const MIN_MESSAGE = 300;
/** What every DHCP client must accept (RFC 2131 §2); more only when the client says so (option 57). */
export const DHCP_DEFAULT_MAX_MESSAGE = 576;

export interface DhcpMessage {
  op: 'request' | 'reply';
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The client's hardware address: `hlen` bytes (6 for Ethernet). */
  chaddr: Buffer;
  /** Server host name and boot file name (empty when those fields carry options). */
  sname: string;
  file: string;
  /** Option code → value, concatenated over every instance, in the order first seen. */
  options: Map<number, Buffer>;
}

const fail = (message: string): never => {
  throw new MalformedPacket('DHCP', message);
};

function ipv4At(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

/**
 * A NUL-terminated string field. Some firmware leaves garbage in the fields it does not
 * use, so that is no reason to drop its packet: bytes outside printable ASCII read as '?'
 * (the text may end up in a log line).
 */
function textField(buf: Buffer, at: number, length: number): string {
  const field = buf.subarray(at, at + length);
  const nul = field.indexOf(0);
  return Array.from(field.subarray(0, nul < 0 ? length : nul), (b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '?')).join('');
}

/** Reads options in `buf[start, end)` into `into`; returns whether an END option closed them. */
function readOptions(buf: Buffer, start: number, end: number, into: Map<number, Buffer[]>, where: string): boolean {
  let at = start;
  while (at < end) {
    const code = buf[at] as number;
    if (code === PAD) {
      at++;
      continue;
    }
    if (code === END) return true;
    if (at + 1 >= end) fail(`option ${code} in ${where} has no length byte`);
    const length = buf[at + 1] as number;
    if (at + 2 + length > end) fail(`option ${code} in ${where} claims ${length} bytes but only ${end - at - 2} remain`);
    const parts = into.get(code);
    const value = buf.subarray(at + 2, at + 2 + length);
    if (parts) parts.push(value);
    else into.set(code, [value]);
    at += 2 + length;
  }
  return false;
}

export function decodeDhcp(buf: Buffer): DhcpMessage {
  if (buf.length < OPTIONS_AT) fail(`${buf.length} bytes, shorter than the ${OPTIONS_AT}-byte header and magic cookie`);
  const opCode = buf[0];
  if (opCode !== 1 && opCode !== 2) fail(`op ${opCode} is neither 1 (request) nor 2 (reply)`);
  const hlen = buf[2] as number;
  if (hlen > 16) fail(`hardware address length ${hlen} is more than the 16-byte chaddr field`);
  if (buf.readUInt32BE(HEADER) !== DHCP_MAGIC_COOKIE) fail('no DHCP magic cookie (a plain BOOTP packet?)');

  const parts = new Map<number, Buffer[]>();
  readOptions(buf, OPTIONS_AT, buf.length, parts, 'the options field');
  const overload = parts.get(OVERLOAD);
  let mode = 0;
  if (overload) {
    const value = Buffer.concat(overload);
    if (value.length !== 1 || value[0] === undefined || value[0] < 1 || value[0] > 3) fail(`option 52 (overload) must be one byte 1, 2 or 3`);
    mode = value[0] as number;
    parts.delete(OVERLOAD);
    // RFC 2131 §4.1: the file field first, then sname; an overload option there means nothing more.
    if (mode & 1) readOptions(buf, FILE.at, FILE.at + FILE.length, parts, 'the file field');
    if (mode & 2) readOptions(buf, SNAME.at, SNAME.at + SNAME.length, parts, 'the sname field');
    parts.delete(OVERLOAD);
  }
  const options = new Map<number, Buffer>();
  for (const [code, values] of parts) options.set(code, values.length === 1 ? Buffer.from(values[0] as Buffer) : Buffer.concat(values));

  return {
    op: opCode === 1 ? 'request' : 'reply',
    htype: buf[1] as number,
    hlen,
    hops: buf[3] as number,
    xid: buf.readUInt32BE(4),
    secs: buf.readUInt16BE(8),
    flags: buf.readUInt16BE(10),
    ciaddr: ipv4At(buf, 12),
    yiaddr: ipv4At(buf, 16),
    siaddr: ipv4At(buf, 20),
    giaddr: ipv4At(buf, 24),
    chaddr: Buffer.from(buf.subarray(28, 28 + hlen)),
    sname: mode & 2 ? '' : textField(buf, SNAME.at, SNAME.length),
    file: mode & 1 ? '' : textField(buf, FILE.at, FILE.length),
    options,
  };
}

/** Four octets of a dotted-quad IPv4 address; throws RangeError for anything else. */
export function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(address)}`);
  return Buffer.from(parts.map(Number));
}

/**
 * The bytes of `msg`: options in the order of the map, each value longer than 255 bytes
 * split over several instances, END, padding to BOOTP's 300-byte minimum. Throws
 * RangeError when the message would exceed `maxLength` (what the client can receive).
 */
export function encodeDhcp(msg: DhcpMessage, maxLength = DHCP_DEFAULT_MAX_MESSAGE): Buffer {
  if (msg.chaddr.length > 16) throw new RangeError(`chaddr of ${msg.chaddr.length} bytes does not fit the 16-byte field`);
  const sname = Buffer.from(msg.sname, 'latin1');
  const file = Buffer.from(msg.file, 'latin1');
  if (sname.length >= SNAME.length) throw new RangeError(`server name of ${sname.length} bytes does not fit (at most ${SNAME.length - 1})`);
  if (file.length >= FILE.length) throw new RangeError(`boot file name of ${file.length} bytes does not fit (at most ${FILE.length - 1})`);
  const options: Buffer[] = [];
  for (const [code, value] of msg.options) {
    if (!Number.isInteger(code) || code <= PAD || code >= END || code === OVERLOAD) throw new RangeError(`option code ${code} cannot carry a value`);
    // An empty value is still sent once (some options are flags); longer ones in 255-byte pieces.
    for (let at = 0; at === 0 || at < value.length; at += 255) {
      const piece = value.subarray(at, at + 255);
      options.push(Buffer.from([code, piece.length]), piece);
    }
  }
  options.push(Buffer.from([END]));
  const body = Buffer.concat(options);
  const length = Math.max(MIN_MESSAGE, OPTIONS_AT + body.length);
  if (length > maxLength) throw new RangeError(`the DHCP message needs ${length} bytes; the client takes at most ${maxLength}`);
  const out = Buffer.alloc(length);
  out[0] = msg.op === 'request' ? 1 : 2;
  out[1] = msg.htype;
  out[2] = msg.hlen;
  out[3] = msg.hops;
  out.writeUInt32BE(msg.xid >>> 0, 4);
  out.writeUInt16BE(msg.secs, 8);
  out.writeUInt16BE(msg.flags, 10);
  ipv4Bytes(msg.ciaddr).copy(out, 12);
  ipv4Bytes(msg.yiaddr).copy(out, 16);
  ipv4Bytes(msg.siaddr).copy(out, 20);
  ipv4Bytes(msg.giaddr).copy(out, 24);
  msg.chaddr.copy(out, 28);
  sname.copy(out, SNAME.at);
  file.copy(out, FILE.at);
  out.writeUInt32BE(DHCP_MAGIC_COOKIE, HEADER);
  body.copy(out, OPTIONS_AT);
  return out;
}
