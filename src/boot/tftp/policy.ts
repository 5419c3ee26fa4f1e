// The TFTP server's decisions, as pure functions: which file a request may read (never one
// outside the boot root), which of the client's options it gets (RFC 2347–2349, 7440),
// whether a new transfer may start, and which refusals are routine firmware probes.
import { bootRootPath } from '../boot-root.js';
import { posix } from 'node:path';
import { MAX_BLOCK_SIZE } from './codec.js';

export interface Limits {
  /** Largest block offered: 1468 fills an Ethernet frame (1500 − IP 20 − UDP 8 − TFTP 4). */
  maxBlockSize: number;
  /** Most blocks sent before waiting for an acknowledgement. */
  maxWindow: number;
  /** Wait for an acknowledgement when the client names no timeout. */
  defaultTimeoutMs: number;
  /** Largest `timeout` option granted, in seconds; a larger one is refused (left out of the OACK, RFC 2349). */
  maxTimeoutS: number;
  /** Timeouts in a row before a transfer is given up (each wait twice the last, up to 16× the timeout). */
  retries: number;
  /** A transfer with no acknowledged progress for this long ends, whatever its timeout and retries. */
  maxStallMs: number;
  /** Transfers at once, all clients together. */
  maxTransfers: number;
  /** Transfers at once from one client address. */
  maxPerClient: number;
  /** Largest content a resolver may generate for one request. */
  maxGeneratedBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBlockSize: 1468,
  maxWindow: 16,
  defaultTimeoutMs: 1000,
  maxTimeoutS: 5,
  retries: 6,
  maxStallMs: 30_000,
  maxTransfers: 64,
  maxPerClient: 8,
  maxGeneratedBytes: 1 << 20,
};

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
 * blksize 8–65464 (capped at the limit), timeout 1–maxTimeoutS s (a longer one would let
 * a few spoofed requests hold transfer slots for minutes), tsize "0" (answered with the
 * file's size, unless it is empty), windowsize 1–65535 (capped).
 */
export function negotiate(requested: Map<string, string>, fileSize: number, limits: Pick<Limits, 'maxBlockSize' | 'maxWindow' | 'defaultTimeoutMs' | 'maxTimeoutS'> = DEFAULT_LIMITS): Negotiated {
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
  if (timeout !== null && timeout >= 1 && timeout <= Math.min(255, limits.maxTimeoutS)) {
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
  return bootRootPath(filename); // one path rule for TFTP and HTTP boot
}

/** A transfer under way, as admission sees it. */
export interface Slot {
  address: string;
  /** The client acknowledged a packet: it receives at the address it claims (not spoofed). */
  confirmed: boolean;
  startedMs: number;
}

export type Admission = { accept: true; evict: number | null } | { accept: false; reason: string };

/**
 * Whether a new read request from `address` may start. One address gets at most
 * maxPerClient transfers. When all maxTransfers slots are taken, the oldest transfer whose
 * client has not acknowledged anything yet gives way (spoofed requests never acknowledge,
 * so they cannot starve real clients); only when every slot holds a confirmed transfer is
 * the request refused.
 */
export function admit(active: readonly Slot[], address: string, limits: Pick<Limits, 'maxTransfers' | 'maxPerClient'>): Admission {
  const mine = active.filter((s) => s.address === address).length;
  if (mine >= limits.maxPerClient) return { accept: false, reason: `too many transfers from ${address} at once (${mine})` };
  if (active.length < limits.maxTransfers) return { accept: true, evict: null };
  let oldest: number | null = null;
  active.forEach((s, i) => {
    if (!s.confirmed && (oldest === null || s.startedMs < (active[oldest] as Slot).startedMs)) oldest = i;
  });
  if (oldest === null) return { accept: false, reason: `server busy: ${active.length} transfers at once` };
  return { accept: true, evict: oldest };
}

// Files that boot loaders ask for on the chance they exist: GRUB's module lists and
// per-machine configs, shim's revocation lists, iPXE's autoexec, PXELINUX's config search.
const PROBE_NAMES = new Set(['command.lst', 'crypto.lst', 'fs.lst', 'terminal.lst', 'partmap.lst', 'parttool.lst', 'video.lst', 'moddep.lst', 'revocations.efi', 'revocations_sku.efi', 'sbat_level.txt', 'autoexec.ipxe', 'ldlinux.c32', 'grub.cfg', 'grubenv']);

/** Whether "not found" for this path is a routine probe (logged quietly) rather than news. */
export function isProbeFile(path: string): boolean {
  const name = posix.basename(path).toLowerCase();
  return PROBE_NAMES.has(name) || name.startsWith('grub.cfg-') || /\.(mod|lst)$/.test(name) || /(^|\/)pxelinux\.cfg\//.test(path.toLowerCase());
}
