// The appliance's self-signed TLS certificate, encoded here: a minimal X.509 v3 encoder
// (RFC 5280, DER per X.690) for one shape of certificate, an ECDSA P-256 key signing its
// own certificate with SHA-256. Pure: the caller gives the SubjectPublicKeyInfo (DER, as
// node:crypto exports it) and a signing function; nothing here touches a file or a clock.
// There is no CA: agents pin the certificate's SHA-256 fingerprint, so the subject, the
// validity and the subjectAltNames are for the operator's eyes and for ordinary TLS tools.
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { bug } from '../errors.js';

// ---- DER primitives (X.690 §8, §10) ----

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: tag byte, DER length, contents. */
export function tlv(tag: number, contents: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(contents.length), contents]);
}

export const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octetString = (b: Buffer) => tlv(0x04, b);
/** A BIT STRING of whole bytes (no unused bits). */
const bitString = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian magnitude bytes: minimal, with a 0 byte when the top bit is set. */
export function integer(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return tlv(0x02, m.length === 0 ? Buffer.from([0]) : (m[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
}

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d{1,9}$/.test(a)) throw bug(`OID ${dotted} has a bad arc`);
    return Number(a);
  });
  if (arcs.length < 2 || (arcs[0] as number) > 2) throw bug(`OID ${dotted} is not an object identifier`);
  const out: number[] = [];
  for (const arc of [(arcs[0] as number) * 40 + (arcs[1] as number), ...arcs.slice(2)]) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), always in seconds with Z. */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

// ---- the certificate ----

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** "Not after" for a certificate with no meaningful end (RFC 5280 §4.1.2.5). */
export const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

export interface CertificateRequest {
  /** The subject's (and issuer's) common name. */
  commonName: string;
  /** 1–20 bytes; the top bit is cleared so the serial is positive. */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** DNS names for subjectAltName. */
  dnsNames: string[];
  /** IPv4/IPv6 addresses for subjectAltName. */
  ipAddresses: string[];
  /** The public key as a DER SubjectPublicKeyInfo (an EC P-256 key). */
  spki: Buffer;
}

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The address's bytes (4 or 16), or null if it is not an IP address. */
export function ipBytes(address: string): Buffer | null {
  const a = address.replace(/%.*$/, ''); // a link-local zone is not part of the address
  if (isIPv4(a)) return Buffer.from(a.split('.').map(Number));
  if (!isIPv6(a)) return null;
  let text = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = (v4[1] as string).split('.').map(Number);
    text = text.slice(0, -(v4[1] as string).length) + `${(((b[0] as number) << 8) | (b[1] as number)).toString(16)}:${(((b[2] as number) << 8) | (b[3] as number)).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const h = head === '' ? [] : head.split(':');
  const t = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function name(commonName: string): Buffer {
  const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
  return sequence(set(sequence(oid(OID.organization), utf8('Lifeboat'))), set(sequence(oid(OID.commonName), utf8(commonName))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), octetString(value));
}

/** The DER TBSCertificate for a request; signed by the caller (ecdsa-with-SHA256). */
export function tbsCertificate(r: CertificateRequest): Buffer {
  if (r.serial.length < 1 || r.serial.length > 20) throw bug('a certificate serial is 1 to 20 bytes');
  const serial = Buffer.from(r.serial);
  serial[0] = (serial[0] as number) & 0x7f;
  const sans: Buffer[] = [];
  for (const dns of r.dnsNames) {
    if (!DNS_NAME.test(dns)) throw bug(`${JSON.stringify(dns)} is not a DNS name`);
    sans.push(tlv(0x82, Buffer.from(dns, 'ascii')));
  }
  for (const ip of r.ipAddresses) {
    const bytes = ipBytes(ip);
    if (!bytes) throw bug(`${JSON.stringify(ip)} is not an IP address`);
    sans.push(tlv(0x87, bytes));
  }
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const spkiKey = createHash('sha1').update(r.spki).digest(); // an identifier only (RFC 5280 §4.2.1.2 allows any method)
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octetString(spkiKey)),
    ...(sans.length > 0 ? [extension(OID.subjectAltName, false, sequence(...sans))] : []),
  ];
  return sequence(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    name(r.commonName),
    sequence(time(r.notBefore), time(r.notAfter)),
    name(r.commonName),
    r.spki,
    explicit(3, sequence(...extensions)),
  );
}

/** The whole certificate (DER): the TBS, its algorithm and `sign(tbs)` (a DER ECDSA-Sig-Value). */
export function selfSignedCertificate(r: CertificateRequest, sign: (tbs: Buffer) => Buffer): Buffer {
  const tbs = tbsCertificate(r);
  return sequence(tbs, sequence(oid(OID.ecdsaWithSha256)), bitString(sign(tbs)));
}

/** PEM armour for DER bytes. */
export function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The SHA-256 fingerprint of a DER certificate: 64 lowercase hex digits (what `lifeboat.fp` carries). */
export const fingerprintOf = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** AA:BB:… (as `openssl x509 -fingerprint -sha256` prints it), for an operator to compare. */
export const colonFingerprint = (hex: string) => (hex.toUpperCase().match(/../g) ?? []).join(':');
