// Loads dist/native/tftp-send.node: the data path of a TFTP read transfer on a thread of
// its own (src/boot/native/tftp-send.c, tftp-transfer.c). Optional: without it the TFTP
// server sends from Node's dgram (tftp/transfer.ts), slower per block, by the same rules.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const ADDON = new URL('../../../dist/native/tftp-send.node', import.meta.url);

export interface TftpSendHandle {
  readonly __tftpSendHandle: unique symbol;
}

export interface TftpSendOptions {
  /** An open file descriptor (the addon dups it) and the bytes to send from it. */
  fd: number;
  size: number;
  /** The server's address (the transfer's socket binds there, on a new port) and the client's. */
  host: string;
  address: string;
  port: number;
  blockSize: number;
  windowSize: number;
  timeoutMs: number;
  retries: number;
  maxStallMs: number;
  /** The option acknowledgement to send first, or null (data from block 1 at once). */
  oack: Buffer | null;
}

export interface TftpSendAddon {
  start(options: TftpSendOptions, done: (kind: 'completed' | 'aborted' | 'failed', reason: string, bytesSent: number, errorSent: boolean) => void): TftpSendHandle;
  confirmed(handle: TftpSendHandle): boolean;
  abort(handle: TftpSendHandle, reason: string): void;
  localPort(handle: TftpSendHandle): number;
}

let addon: TftpSendAddon | null | undefined;

/** The addon, or null when it is not built (or does not load: the reason is in loadProblem). */
export function tftpSendAddon(): TftpSendAddon | null {
  if (addon !== undefined) return addon;
  if (!existsSync(ADDON)) {
    tftpSendProblem = `${ADDON.pathname} is missing (run \`make build\`)`;
    return (addon = null);
  }
  try {
    addon = createRequire(import.meta.url)(ADDON.pathname) as TftpSendAddon;
  } catch (err) {
    tftpSendProblem = `${ADDON.pathname} does not load: ${(err as Error).message}`;
    addon = null;
  }
  return addon;
}

/** Why tftpSendAddon() returned null. */
export let tftpSendProblem = '';
