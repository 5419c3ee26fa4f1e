// A read-only TFTP server for the boot root: what PXE firmware fetches iPXE with. Each
// read gets its own socket (its transfer id, RFC 1350 §4) connected to the client, option
// negotiation (blksize, tsize, timeout, windowsize), retransmission on timeout, block
// numbers that roll over past 65535, and no answer to duplicate ACKs (the "Sorcerer's
// Apprentice" bug). Write requests, paths outside the root and netascii are refused.
import { type Socket, createSocket } from 'node:dgram';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { MalformedPacket } from '../malformed.js';
import { TFTP_ERROR, type TftpPacket, type TftpRequest, decodeTftp, encodeTftp } from './codec.js';
import { DEFAULT_LIMITS, type Limits, negotiate, requestedPath } from './policy.js';

export interface TftpServerOptions {
  /** Directory served (files below it only, after symbolic links). */
  root: string;
  host?: string;
  /** 69 by default; 0 picks a free port (tests). */
  port?: number;
  limits?: Partial<Limits>;
  /** Timeouts in a row before a transfer is given up. */
  retries?: number;
  /** Transfers at once; more are told the server is busy. */
  maxTransfers?: number;
  onEvent?: (e: TftpEvent) => void;
}

export type TftpEvent =
  | { type: 'sent'; peer: string; file: string; bytes: number; blockSize: number; windowSize: number; ms: number }
  | { type: 'refused'; peer: string; file: string; reason: string }
  | { type: 'failed'; peer: string; file: string; reason: string }
  | { type: 'malformed'; peer: string; reason: string };

interface Peer {
  address: string;
  port: number;
}

/** Packets of one transfer's socket, taken one at a time with a deadline. */
class Inbox {
  private readonly queue: TftpPacket[] = [];
  private waiter: ((p: TftpPacket | null) => void) | null = null;

  push(p: TftpPacket): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(p);
    } else this.queue.push(p);
  }

  next(untilMs: number): Promise<TftpPacket | null> {
    const ready = this.queue.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, Math.max(0, untilMs - Date.now()));
      this.waiter = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
    });
  }
}

class TransferError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly refused = false,
  ) {
    super(message);
  }
}

export class TftpServer {
  private readonly transfers = new Set<Promise<void>>();
  private readonly limits: Limits;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly rootReal: string,
    private readonly opts: TftpServerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  static async start(opts: TftpServerOptions): Promise<TftpServer> {
    const rootReal = await realpath(opts.root);
    const socket = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: opts.host ?? '0.0.0.0', port: opts.port ?? 69 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const server = new TftpServer(socket, rootReal, opts);
    socket.on('message', (bytes, rinfo) => server.request(bytes, { address: rinfo.address, port: rinfo.port }));
    // A datagram that cannot be sent (an unreachable client) is that client's problem, not the server's end.
    socket.on('error', (err) => server.emit({ type: 'failed', peer: '-', file: '-', reason: `socket error: ${err.message}` }));
    return server;
  }

  get address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Stops listening; each transfer under way ends at its next acknowledgement or timeout, with an ERROR to its client. */
  async close(): Promise<void> {
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    await Promise.allSettled([...this.transfers]);
  }

  private emit(e: TftpEvent): void {
    this.opts.onEvent?.(e);
  }

  private request(bytes: Buffer, peer: Peer): void {
    const who = `${peer.address}:${peer.port}`;
    let packet: TftpPacket;
    try {
      packet = decodeTftp(bytes);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.emit({ type: 'malformed', peer: who, reason: err.message });
      return;
    }
    const reply = (code: number, message: string) => this.socket.send(encodeTftp({ op: 'error', code, message }), peer.port, peer.address, () => {});
    if (packet.op === 'wrq') {
      this.emit({ type: 'refused', peer: who, file: packet.filename, reason: 'write request to a read-only server' });
      reply(TFTP_ERROR.accessViolation, 'this server is read-only');
      return;
    }
    if (packet.op !== 'rrq') {
      reply(TFTP_ERROR.illegalOperation, `a ${packet.op} packet opens no transfer`);
      return;
    }
    if (this.closed) return;
    if (this.transfers.size >= (this.opts.maxTransfers ?? 64)) {
      this.emit({ type: 'refused', peer: who, file: packet.filename, reason: 'too many transfers at once' });
      reply(TFTP_ERROR.notDefined, 'server busy, try again');
      return;
    }
    const transfer = this.serveRead(packet, peer).finally(() => this.transfers.delete(transfer));
    this.transfers.add(transfer);
  }

  /** Opens the requested file, or throws a TransferError saying why not. */
  private async openWithinRoot(filename: string): Promise<FileHandle> {
    const relative = requestedPath(filename);
    if (relative === null) throw new TransferError(TFTP_ERROR.accessViolation, 'path outside the boot directory', true);
    let real: string;
    try {
      real = await realpath(join(this.rootReal, relative));
    } catch {
      throw new TransferError(TFTP_ERROR.fileNotFound, 'file not found', true);
    }
    if (!real.startsWith(`${this.rootReal}/`)) throw new TransferError(TFTP_ERROR.accessViolation, 'path outside the boot directory', true);
    const fh = await open(real, 'r').catch(() => {
      throw new TransferError(TFTP_ERROR.fileNotFound, 'file not found', true);
    });
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw new TransferError(TFTP_ERROR.fileNotFound, 'not a file', true);
    }
    return fh;
  }

  private async serveRead(req: TftpRequest, peer: Peer): Promise<void> {
    const who = `${peer.address}:${peer.port}`;
    const started = Date.now();
    const sock = createSocket({ type: 'udp4' });
    const inbox = new Inbox();
    sock.on('message', (bytes) => {
      try {
        inbox.push(decodeTftp(bytes));
      } catch {
        // a malformed packet on a transfer is ignored; the transfer times out if nothing good follows
      }
    });
    sock.on('error', () => {});
    const send = (p: TftpPacket) => new Promise<void>((resolve) => sock.send(encodeTftp(p), () => resolve()));
    let fh: FileHandle | null = null;
    try {
      await new Promise<void>((resolve) => sock.bind({ address: this.opts.host ?? '0.0.0.0', port: 0 }, () => resolve()));
      await new Promise<void>((resolve) => sock.connect(peer.port, peer.address, () => resolve()));
      if (req.mode !== 'octet') throw new TransferError(TFTP_ERROR.illegalOperation, 'only octet mode is served', true);
      fh = await this.openWithinRoot(req.filename);
      const size = (await fh.stat()).size;
      const deal = negotiate(req.options, size, this.limits);
      const retries = this.opts.retries ?? 5;
      const lastBlock = Math.floor(size / deal.blockSize) + 1; // the last block is short, maybe empty
      const block = Buffer.alloc(deal.blockSize);
      const dataOf = async (k: number): Promise<TftpPacket> => {
        const { bytesRead } = await (fh as FileHandle).read(block, 0, deal.blockSize, (k - 1) * deal.blockSize);
        return { op: 'data', block: k & 0xffff, data: Buffer.from(block.subarray(0, bytesRead)) };
      };

      // Blocks are counted from 1 without end here; on the wire they are k mod 65536.
      // `base` is the first block not yet acknowledged; an OACK stands for block 0.
      let base = deal.accepted.size > 0 ? 0 : 1;
      let timeouts = 0;
      while (base <= lastBlock) {
        if (this.closed) throw new TransferError(TFTP_ERROR.notDefined, 'the server is shutting down');
        const end = base === 0 ? 0 : Math.min(lastBlock, base + deal.windowSize - 1);
        for (let k = base; k <= end; k++) await send(k === 0 ? { op: 'oack', options: deal.accepted } : await dataOf(k));
        const deadline = Date.now() + deal.timeoutMs;
        let advanced = false;
        while (!advanced) {
          const p = await inbox.next(deadline);
          if (p === null) break;
          if (p.op === 'error') throw new TransferError(-1, `the client gave up: ${p.message || `error ${p.code}`}`);
          if (p.op !== 'ack') continue;
          // The acknowledged block within what was sent; anything else (a duplicate) is ignored.
          for (let k = end; k >= base; k--) {
            if ((k & 0xffff) === p.block) {
              base = k + 1;
              advanced = true;
              break;
            }
          }
        }
        if (advanced) timeouts = 0;
        else if (++timeouts > retries) throw new TransferError(-1, `no acknowledgement after ${retries + 1} tries of block ${base}`);
      }
      this.emit({ type: 'sent', peer: who, file: req.filename, bytes: size, blockSize: deal.blockSize, windowSize: deal.windowSize, ms: Date.now() - started });
    } catch (err) {
      const e = err instanceof TransferError ? err : new TransferError(TFTP_ERROR.notDefined, `server error: ${(err as Error).message}`);
      if (e.code >= 0) await send({ op: 'error', code: e.code, message: e.message }).catch(() => {});
      this.emit(e.refused ? { type: 'refused', peer: who, file: req.filename, reason: e.message } : { type: 'failed', peer: who, file: req.filename, reason: e.message });
    } finally {
      await fh?.close().catch(() => {});
      sock.close();
    }
  }
}
