// TFTP packets (RFC 1350) with option negotiation (RFC 2347: OACK; RFC 2348 blksize,
// RFC 2349 timeout and tsize, RFC 7440 windowsize), decoded from and encoded to Buffers.
//
//   RRQ/WRQ  01|02  filename 0  mode 0  [option 0 value 0]…
//   DATA     03     block (u16)  0–blksize bytes
//   ACK      04     block (u16)
//   ERROR    05     code (u16)  message 0
//   OACK     06     [option 0 value 0]…
import { MalformedPacket } from '../malformed.js';

export interface TftpRequest {
  op: 'rrq' | 'wrq';
  filename: string;
  mode: 'octet' | 'netascii';
  options: Map<string, string>;
}

export type TftpPacket =
  | TftpRequest
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack'; options: Map<string, string> };

export const TFTP_ERROR = { notDefined: 0, fileNotFound: 1, accessViolation: 2, diskFull: 3, illegalOperation: 4, unknownTransferId: 5, fileExists: 6, noSuchUser: 7, optionRefused: 8 } as const;

const OPCODE = { rrq: 1, wrq: 2, data: 3, ack: 4, error: 5, oack: 6 } as const;
/** RFC 2347: a request, options included, fits in 512 bytes. */
export const MAX_REQUEST = 512;
/** The largest DATA payload any blksize allows (RFC 2348). */
export const MAX_BLOCK_SIZE = 65464;

const fail = (message: string): never => {
  throw new MalformedPacket('TFTP', message);
};

/** NUL-terminated printable-ASCII strings from `at` to the end of `buf`; the last one must be terminated. */
function strings(buf: Buffer, at: number): string[] {
  const out: string[] = [];
  while (at < buf.length) {
    const nul = buf.indexOf(0, at);
    if (nul < 0) fail('a string is not NUL-terminated');
    const text = buf.subarray(at, nul);
    if (text.some((b) => b < 0x20 || b > 0x7e)) fail('a string holds bytes that are not printable ASCII');
    out.push(text.toString('latin1'));
    at = nul + 1;
  }
  return out;
}

/** Option name → value (names in lower case: they are case-insensitive); a repeated name is malformed. */
function optionPairs(list: string[]): Map<string, string> {
  if (list.length % 2 !== 0) fail(`option ${JSON.stringify(list[list.length - 1])} has no value`);
  const options = new Map<string, string>();
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    if (name === '') fail('an option has an empty name');
    if (options.has(name)) fail(`option ${name} is given twice`);
    options.set(name, list[i + 1] as string);
  }
  return options;
}

export function decodeTftp(buf: Buffer): TftpPacket {
  if (buf.length < 4) fail(`${buf.length} bytes, shorter than any TFTP packet`);
  const op = buf.readUInt16BE(0);
  switch (op) {
    case OPCODE.rrq:
    case OPCODE.wrq: {
      if (buf.length > MAX_REQUEST) fail(`a request of ${buf.length} bytes, more than ${MAX_REQUEST}`);
      const [filename, mode, ...rest] = strings(buf, 2);
      if (filename === undefined || filename === '') fail('the request names no file');
      const m = mode?.toLowerCase();
      if (m !== 'octet' && m !== 'netascii') fail(`transfer mode ${JSON.stringify(mode ?? '')} is neither octet nor netascii`);
      return { op: op === OPCODE.rrq ? 'rrq' : 'wrq', filename: filename as string, mode: m as 'octet' | 'netascii', options: optionPairs(rest) };
    }
    case OPCODE.data:
      if (buf.length - 4 > MAX_BLOCK_SIZE) fail(`a DATA block of ${buf.length - 4} bytes, more than any block size`);
      return { op: 'data', block: buf.readUInt16BE(2), data: Buffer.from(buf.subarray(4)) };
    case OPCODE.ack:
      if (buf.length !== 4) fail(`an ACK of ${buf.length} bytes, not 4`);
      return { op: 'ack', block: buf.readUInt16BE(2) };
    case OPCODE.error: {
      const [message, ...extra] = strings(buf, 4);
      if (extra.length > 0) fail('an ERROR carries more than one message');
      return { op: 'error', code: buf.readUInt16BE(2), message: message ?? '' };
    }
    case OPCODE.oack:
      return { op: 'oack', options: optionPairs(strings(buf, 2)) };
    default:
      return fail(`unknown opcode ${op}`);
  }
}

function cstrings(list: string[]): Buffer {
  for (const s of list) if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError(`TFTP strings are printable ASCII: ${JSON.stringify(s)}`);
  return Buffer.from(list.map((s) => `${s}\0`).join(''), 'latin1');
}

const u16 = (n: number): Buffer => {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${n} does not fit 16 bits`);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

export function encodeTftp(p: TftpPacket): Buffer {
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      return Buffer.concat([u16(OPCODE[p.op]), cstrings([p.filename, p.mode, ...[...p.options].flat()])]);
    case 'data':
      if (p.data.length > MAX_BLOCK_SIZE) throw new RangeError(`a DATA block of ${p.data.length} bytes, more than any block size`);
      return Buffer.concat([u16(OPCODE.data), u16(p.block), p.data]);
    case 'ack':
      return Buffer.concat([u16(OPCODE.ack), u16(p.block)]);
    case 'error':
      return Buffer.concat([u16(OPCODE.error), u16(p.code), cstrings([p.message])]);
    case 'oack':
      return Buffer.concat([u16(OPCODE.oack), cstrings([...p.options].flat())]);
  }
}
