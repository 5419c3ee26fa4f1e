// IPv4 address arithmetic for the DHCP decisions: dotted quads as 32-bit numbers.
import { isIPv4 } from 'node:net';

export const toNumber = (ip: string): number => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
export const fromNumber = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export const ZERO = '0.0.0.0';
export const BROADCAST = '255.255.255.255';

/** Whether `a` and `b` are on the same subnet under `netmask`. */
export function sameSubnet(a: string, b: string, netmask: string): boolean {
  const m = toNumber(netmask);
  return ((toNumber(a) & m) >>> 0) === ((toNumber(b) & m) >>> 0);
}

/** A netmask is a run of ones then zeros (255.255.255.0, not 255.0.255.0). */
export function isNetmask(mask: string): boolean {
  if (!isIPv4(mask)) return false;
  const inverted = ~toNumber(mask) >>> 0;
  return (inverted & (inverted + 1)) === 0;
}

export function inRange(ip: string, range: { start: string; end: string }): boolean {
  const n = toNumber(ip);
  return n >= toNumber(range.start) && n <= toNumber(range.end);
}

/** The subnet's own address and its broadcast address: never handed out. */
export function isNetworkOrBroadcast(ip: string, netmask: string): boolean {
  const m = toNumber(netmask);
  const host = (toNumber(ip) & ~m) >>> 0;
  return host === 0 || host === (~m >>> 0);
}
