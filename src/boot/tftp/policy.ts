// The TFTP server's decisions, as pure functions: which file a request may read (never one
// outside the boot root), and which of the client's options it gets (RFC 2347–2349, 7440).
import { posix } from 'node:path';
import { MAX_BLOCK_SIZE } from './codec.js';

export interface Limits {
  /** Largest block offered: 1468 fills an Ethernet frame (1500 − IP 20 − UDP 8 − TFTP 4). */
  maxBlockSize: number;
  /** Most blocks sent before waiting for an acknowledgement. */
  maxWindow: number;
  /** Wait for an acknowledgement when the client names no timeout. */
  defaultTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = { maxBlockSize: 1468, maxWindow: 16, defaultTimeoutMs: 2000 };

export interface Negotiated {
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  /** What to confirm in an OACK (empty: no OACK, data starts at once as in RFC 1350). */
  accepted: Map<string, string>;
}

const integer = (v: string | undefined): number | null => (v !== undefined && /^\d{1,6}$/.test(v) ? Number(v) : null);

/**
 * The options a read request gets. Values outside an option's range, and options this
 * server does not know, are left out of the OACK (the client then uses the default):
 * blksize 8–65464 (capped at the limit), timeout 1–255 s, tsize "0" (answered with the
 * file's size, unless it is empty), windowsize 1–65535 (capped).
 */
export function negotiate(requested: Map<string, string>, fileSize: number, limits: Limits = DEFAULT_LIMITS): Negotiated {
  const accepted = new Map<string, string>();
  let blockSize = 512;
  let windowSize = 1;
  let timeoutMs = limits.defaultTimeoutMs;
  const blksize = integer(requested.get('blksize'));
  if (blksize !== null && blksize >= 8 && blksize <= MAX_BLOCK_SIZE) {
    blockSize = Math.min(blksize, limits.maxBlockSize);
    accepted.set('blksize', String(blockSize));
  }
  const timeout = integer(requested.get('timeout'));
  if (timeout !== null && timeout >= 1 && timeout <= 255) {
    timeoutMs = timeout * 1000;
    accepted.set('timeout', String(timeout));
  }
  // An empty file's size goes unconfirmed: curl takes "tsize 0" in an OACK for an error.
  if (requested.get('tsize') === '0' && fileSize > 0) accepted.set('tsize', String(fileSize));
  const window = integer(requested.get('windowsize'));
  if (window !== null && window >= 1 && window <= 65535) {
    windowSize = Math.min(window, limits.maxWindow);
    accepted.set('windowsize', String(windowSize));
  }
  return { blockSize, windowSize, timeoutMs, accepted };
}

/**
 * The path inside the boot root that a requested file name means, or null when it would
 * leave the root. Firmware asks for "ipxe.efi", "/ipxe.efi" or "boot/x": a leading slash
 * is relative to the root; "..", backslashes and empty names are refused. (The server
 * still checks the real path after symbolic links.)
 */
export function requestedPath(filename: string): string | null {
  if (filename.includes('\\')) return null;
  const relative = filename.replace(/^\/+/, '');
  if (relative === '' || relative.split('/').includes('..')) return null;
  const normal = posix.normalize(relative);
  if (normal === '.' || normal.startsWith('../') || posix.isAbsolute(normal)) return null;
  return normal;
}
