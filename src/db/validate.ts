// Checks for values that come from outside (the API, the CLI, an agent) before they
// reach NeDB. Every check takes `unknown`: a JSON body can carry an object where a
// string belongs, and an object like {"$ne": null} in a query would match anything.
import { isAbsolute, normalize } from 'node:path';
import { userError } from '../errors.js';
import { textProblem } from '../text.js';

/** Machine, schedule and group names: a host-name label, so they are safe in URLs, file names and shells. */
export const NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const NAME_RULE = '1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit (like a host name)';

export function checkName(kind: string, value: unknown): string {
  if (typeof value !== 'string') throw userError(`${kind} name must be a string, not ${describe(value)}`);
  if (NAME_PATTERN.test(value)) return value;
  const suggestion = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  const hint = suggestion && NAME_PATTERN.test(suggestion) ? ` (for example "${suggestion}")` : '';
  throw userError(`${kind} name ${JSON.stringify(value).slice(0, 80)} is invalid: use ${NAME_RULE}${hint}`);
}

const MAC_FORMS = [
  /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})\.([0-9a-f]{2})([0-9a-f]{2})$/,
  /^([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/,
];

/**
 * A MAC address in canonical form (aa:bb:cc:dd:ee:ff) or null. Accepts colons, hyphens,
 * Cisco dots (aabb.ccdd.eeff) or bare hex, any case. Refuses the all-zero address and
 * group (multicast/broadcast) addresses: no network card has one.
 */
export function parseMac(value: string): string | null {
  const text = value.trim().toLowerCase();
  for (const form of MAC_FORMS) {
    const m = form.exec(text);
    if (!m) continue;
    const octets = m.slice(1);
    if (octets.every((o) => o === '00')) return null;
    if (parseInt(octets[0] ?? '1', 16) & 1) return null;
    return octets.join(':');
  }
  return null;
}

export function checkMac(value: unknown): string {
  if (typeof value !== 'string') throw userError(`MAC address must be a string, not ${describe(value)}`);
  const mac = parseMac(value);
  if (mac) return mac;
  throw userError(
    `MAC address ${JSON.stringify(value).slice(0, 80)} is invalid: write the network card's address as six hex pairs like 52:54:00:12:34:56 (not all zeros, not a multicast or broadcast address)`,
  );
}

/** Normalised, de-duplicated MACs in the order given. */
export function checkMacs(value: unknown, subject: string): string[] {
  if (!Array.isArray(value)) throw userError(`${subject}: MAC addresses must be a list, not ${describe(value)}`);
  return [...new Set(value.map(checkMac))];
}

const SMBIOS_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkSystemUuid(value: unknown): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof text === 'string' && SMBIOS_UUID.test(text)) return text;
  throw userError(`system UUID ${JSON.stringify(value)?.slice(0, 80)} is invalid: give the SMBIOS UUID like 4c4c4544-0042-3510-8052-b4c04f564433`);
}

/** A text field: at most `max` characters, none of those src/text.ts refuses (tabs and line feeds only where `multiline`). */
/**
 * A unicast IPv4 host address in dotted-quad form (a machine's fixed DHCP address): not
 * 0.0.0.0/8, loopback, link-local, multicast, reserved or the limited broadcast.
 */
export function checkHostAddress(value: unknown): string {
  if (typeof value !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) throw userError(`fixed address ${describe(value)} is not an IPv4 address: give one like 192.168.50.20`);
  const octets = value.split('.').map(Number);
  if (octets.some((o, i) => o > 255 || String(o) !== value.split('.')[i])) throw userError(`fixed address ${JSON.stringify(value)} is not an IPv4 address: four numbers 0-255 without leading zeros, like 192.168.50.20`);
  const [a, b] = octets as [number, number, number, number];
  if (a === 0 || a === 127 || a >= 224 || (a === 169 && b === 254)) throw userError(`fixed address ${value} is not a host address a DHCP server can give (0/8, loopback, link-local, multicast and reserved ranges are not): choose one on the boot network`);
  return value;
}

export function checkText(field: string, value: unknown, max = 256, multiline = false): string {
  if (typeof value !== 'string') throw userError(`${field} must be a string, not ${describe(value)}`);
  const problem = textProblem(value, { max, multiline });
  if (problem !== null) throw userError(`${field} ${problem}`);
  return value;
}

export function checkNonEmptyText(field: string, value: unknown, max = 256): string {
  const text = checkText(field, value, max);
  if (text.trim() === '') throw userError(`${field} is empty: give a value`);
  return text;
}

/** A whole number in [min, max]. */
export function checkInteger(field: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw userError(`${field} must be a whole number from ${min} to ${max}, not ${describe(value)}`);
  }
  return value;
}

export function checkSectorSize(field: string, value: unknown): number {
  const n = checkInteger(field, value, 512, 65536);
  if ((n & (n - 1)) !== 0) throw userError(`${field} ${n} is not a power of two`);
  return n;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A timestamp, stored as the canonical UTC form new Date().toISOString() gives (so strings sort by time). */
export function checkTime(field: string, value: unknown): string {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === 'string' && ISO_TIME.test(value)) {
    const t = new Date(value);
    if (!Number.isNaN(t.getTime())) return t.toISOString();
  }
  throw userError(`${field} must be an ISO 8601 time like 2026-11-25T18:12:00Z, not ${describe(value)}`);
}

export function checkBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw userError(`${field} must be true or false, not ${describe(value)}`);
  return value;
}

export function checkObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw userError(`${field} must be an object, not ${describe(value)}`);
  return value as Record<string, unknown>;
}

/** Refuses keys a caller may not set (a typo in a patch must not be ignored silently). */
export function checkKeys(field: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw userError(`${field} has unknown field(s) ${unknown.join(', ')}: allowed are ${allowed.join(', ')}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value).slice(0, 80);
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** A passphrase file's path as stored (never the passphrase): absolute, normalised, printable. */
export function checkPassphrasePath(value: unknown): string {
  if (typeof value !== 'string') throw userError(`passphrase file must be a path, not ${describe(value)}`);
  const problem = textProblem(value, { max: 4096 });
  if (problem !== null) throw userError(`passphrase file path ${problem}`);
  if (!isAbsolute(value)) throw userError(`passphrase file ${JSON.stringify(value)} is not an absolute path: give the full path, like /etc/lifeboat/passphrase`);
  return normalize(value);
}
