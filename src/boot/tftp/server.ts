// A read-only TFTP server for the boot root: what PXE firmware fetches iPXE and GRUB with.
// The listening socket (port 69) answers read requests, and write requests with an ERROR;
// every other packet there is dropped unanswered (answering ERROR with ERROR is the "Loop
// DoS", CVE-2024-2169). Each admitted read gets a Transfer on a socket of its own. Admission
// caps transfers per client address and in all, and lets an unconfirmed (maybe spoofed)
// transfer give way to a new one when full; option timeouts are capped and a transfer
// without progress ends after maxStallMs. A resolver may generate a file's bytes.
import { type Socket, createSocket } from 'node:dgram';
import type { FileHandle } from 'node:fs/promises';
import { realpath } from 'node:fs/promises';
import { MalformedPacket } from '../malformed.js';
import { type BlockSource, BufferSource, FileSource } from './block-source.js';
import { Refusal, openInRoot, outsideRoot } from './boot-root.js';
import { TFTP_ERROR, type TftpPacket, type TftpRequest, decodeTftp, encodeTftp } from './codec.js';
import { DEFAULT_LIMITS, type Limits, admit, isProbeFile, negotiate, requestedPath } from './policy.js';
import { Transfer } from './transfer.js';
import { NativeTransfer } from './native-transfer.js';
import { type TftpSendAddon, tftpSendAddon } from '../native/tftp-send.js';

export interface TftpClient {
  address: string;
  port: number;
}

/**
 * Generated content for a requested path (already checked by requestedPath: relative, no
 * ".."), e.g. a per-machine GRUB config; null or undefined: serve the file from the boot
 * root as usual. At most limits.maxGeneratedBytes.
 */
export type TftpResolver = (path: string, client: TftpClient) => Buffer | null | undefined | Promise<Buffer | null | undefined>;

export interface TftpServerOptions {
  /** Directory served (files below it only, after symbolic links). */
  root: string;
  host?: string;
  /** 69 by default; 0 picks a free port (tests). */
  port?: number;
  limits?: Partial<Limits>;
  resolve?: TftpResolver;
  onEvent?: (e: TftpEvent) => void;
  /**
   * Where a file's blocks go out from: `native` (src/boot/native/tftp-send.c, a thread per
   * transfer: the default when the addon is built) or `node` (dgram, transfer.ts).
   */
  dataPath?: 'native' | 'node';
}

/** debug: routine or spoofable noise (probe files not found, stray packets); info: a client was served or refused; warn: worth a look. */
export type TftpLevel = 'debug' | 'info' | 'warn';

export type TftpEvent =
  | { type: 'started'; level: 'debug'; peer: string; file: string; size: number; generated: boolean; blockSize: number; windowSize: number }
  | { type: 'sent'; level: 'info'; peer: string; file: string; bytes: number; blockSize: number; windowSize: number; ms: number }
  | { type: 'refused'; level: TftpLevel; peer: string; file: string; reason: string }
  | { type: 'aborted'; level: 'debug'; peer: string; file: string; reason: string }
  | { type: 'failed'; level: 'warn'; peer: string; file: string; reason: string }
  | { type: 'malformed'; level: 'debug'; peer: string; reason: string }
  | { type: 'ignored'; level: 'debug'; peer: string; reason: string };

/** Running totals since start, for the appliance status. */
export interface TftpCounters {
  /** Read and write requests received. */
  requests: number;
  /** Requests answered with an ERROR and no transfer (not found, outside the root, busy, write). */
  refused: number;
  malformed: number;
  /** Packets at the listening port that open no transfer (DATA, ACK, ERROR, OACK): dropped. */
  ignored: number;
  transfersStarted: number;
  transfersCompleted: number;
  /** Ended by the client's ERROR (often a firmware's size probe). */
  transfersAborted: number;
  transfersFailed: number;
  /** DATA payload bytes sent, retransmissions included. */
  bytesSent: number;
  /** ERROR packets sent. */
  errorsSent: number;
}

interface Active {
  address: string;
  startedMs: number;
  transfer: Transfer | NativeTransfer | null;
  /** Why the transfer must end before it starts (its slot was given away, or shutdown). */
  cancelled: string | null;
}

export class TftpServer {
  readonly counters: TftpCounters = { requests: 0, refused: 0, malformed: 0, ignored: 0, transfersStarted: 0, transfersCompleted: 0, transfersAborted: 0, transfersFailed: 0, bytesSent: 0, errorsSent: 0 };
  private readonly active = new Map<Active, Promise<void>>();
  private readonly limits: Limits;
  private closed = false;
  private readonly native: TftpSendAddon | null;

  private constructor(
    private readonly socket: Socket,
    private readonly rootReal: string,
    private readonly opts: TftpServerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.native = opts.dataPath === 'node' ? null : tftpSendAddon();
  }

  /** Where files' blocks go out from (see TftpServerOptions.dataPath). */
  get dataPath(): 'native' | 'node' {
    return this.native ? 'native' : 'node';
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
    socket.on('message', (bytes, rinfo) => server.onListenPacket(bytes, { address: rinfo.address, port: rinfo.port }));
    // A datagram that cannot be sent (an unreachable client) is that client's problem, not the server's end.
    socket.on('error', () => {});
    return server;
  }

  get address(): { address: string; port: number } {
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** Transfers under way (or being opened). */
  get transfers(): number {
    return this.active.size;
  }

  /** Stops listening and ends every transfer under way at once, with an ERROR to its client. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    for (const a of this.active.keys()) this.cancel(a, 'the server is shutting down');
    await Promise.allSettled([...this.active.values()]);
  }

  private emit(e: TftpEvent): void {
    this.opts.onEvent?.(e);
  }

  private cancel(a: Active, reason: string): void {
    a.cancelled = reason;
    a.transfer?.abort(reason);
  }

  private onListenPacket(bytes: Buffer, peer: TftpClient): void {
    const who = `${peer.address}:${peer.port}`;
    let packet: TftpPacket;
    try {
      packet = decodeTftp(bytes);
    } catch (err) {
      if (!(err instanceof MalformedPacket)) throw err;
      this.counters.malformed++;
      this.emit({ type: 'malformed', level: 'debug', peer: who, reason: err.message });
      return;
    }
    if (packet.op !== 'rrq' && packet.op !== 'wrq') {
      // Never answered: an answer to a stray ERROR or DATA is how two servers loop forever.
      this.counters.ignored++;
      this.emit({ type: 'ignored', level: 'debug', peer: who, reason: `a ${packet.op.toUpperCase()} packet at the listening port opens no transfer` });
      return;
    }
    if (this.closed) return;
    this.counters.requests++;
    if (packet.op === 'wrq') return this.refuse(peer, packet.filename, new Refusal(TFTP_ERROR.accessViolation, 'this server is read-only'), 'write request to a read-only server');
    // Slots already told to end are on their way out and count for no one.
    const slots = [...this.active.keys()].filter((a) => a.cancelled === null);
    const verdict = admit(
      slots.map((a) => ({ address: a.address, confirmed: a.transfer?.isConfirmed ?? false, startedMs: a.startedMs })),
      peer.address,
      this.limits,
    );
    if (!verdict.accept) return this.refuse(peer, packet.filename, new Refusal(TFTP_ERROR.notDefined, 'server busy, try again'), verdict.reason);
    if (verdict.evict !== null) this.cancel(slots[verdict.evict] as Active, 'server busy: this transfer gave way to a newer one');
    const a: Active = { address: peer.address, startedMs: Date.now(), transfer: null, cancelled: null };
    this.active.set(
      a,
      this.serveRead(packet, peer, a).finally(() => this.active.delete(a)),
    );
  }

  /** An ERROR from the listening socket, for a request that gets no transfer. */
  private refuse(peer: TftpClient, file: string, why: Refusal, reason = why.message): void {
    this.counters.refused++;
    this.counters.errorsSent++;
    this.socket.send(encodeTftp({ op: 'error', code: why.code, message: why.message }), peer.port, peer.address);
    this.emit({ type: 'refused', level: 'info', peer: `${peer.address}:${peer.port}`, file, reason });
  }

  /** The resolver's answer, or an error if it takes longer than a stalled transfer may. */
  private async resolveWithin(path: string, client: TftpClient): Promise<Buffer | null | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the resolver gave no answer for ${path} within ${this.limits.maxStallMs} ms`)), this.limits.maxStallMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(() => this.opts.resolve?.(path, client)), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async serveRead(req: TftpRequest, peer: TftpClient, a: Active): Promise<void> {
    const who = `${peer.address}:${peer.port}`;
    const started = Date.now();
    const sock = createSocket({ type: 'udp4' });
    sock.on('error', () => {});
    let fh: FileHandle | null = null;
    let source: BlockSource | null = null;
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind({ address: this.opts.host ?? '0.0.0.0', port: 0 }, () =>
          sock.connect(peer.port, peer.address, () => {
            sock.off('error', reject);
            resolve();
          }),
        );
      });
      if (req.mode !== 'octet') throw new Refusal(TFTP_ERROR.illegalOperation, 'only octet mode is served');
      const relative = requestedPath(req.filename);
      if (relative === null) throw outsideRoot();
      const generated = this.opts.resolve ? await this.resolveWithin(relative, peer) : null;
      if (generated !== null && generated !== undefined && !Buffer.isBuffer(generated)) throw new Error(`the resolver returned a ${typeof generated} for ${relative}, not a Buffer`);
      if (generated && generated.length > this.limits.maxGeneratedBytes) throw new Error(`generated content for ${relative} is ${generated.length} bytes, more than ${this.limits.maxGeneratedBytes}`);
      let size: number;
      if (generated) size = generated.length;
      else ({ fh, size } = await openInRoot(this.rootReal, relative));
      if (a.cancelled) throw new Refusal(TFTP_ERROR.notDefined, a.cancelled);
      const deal = negotiate(req.options, size, this.limits);
      const hooks = { onConfirmed: () => {}, onSent: (n: number) => (this.counters.bytesSent += n), onErrorSent: () => this.counters.errorsSent++ };
      const settings = { deal, retries: this.limits.retries, maxStallMs: this.limits.maxStallMs };
      let transfer: Transfer | NativeTransfer;
      if (fh && this.native) {
        // The native transfer dups the descriptor and has a socket of its own: `sock` stays unused.
        transfer = new NativeTransfer(this.native, { fd: fh.fd, size, host: this.opts.host ?? '0.0.0.0', client: peer, ...settings }, hooks);
      } else {
        source = generated ? new BufferSource(generated, deal.blockSize) : new FileSource(fh as FileHandle, size, deal.blockSize);
        fh = null; // the source closes it now
        transfer = new Transfer(sock, peer, source, settings, hooks);
      }
      a.transfer = transfer;
      this.counters.transfersStarted++;
      this.emit({ type: 'started', level: 'debug', peer: who, file: req.filename, size, generated: Boolean(generated), blockSize: deal.blockSize, windowSize: deal.windowSize });
      const outcome = await transfer.done;
      if (outcome.kind === 'completed') {
        this.counters.transfersCompleted++;
        this.emit({ type: 'sent', level: 'info', peer: who, file: req.filename, bytes: size, blockSize: deal.blockSize, windowSize: deal.windowSize, ms: Date.now() - started });
      } else if (outcome.kind === 'aborted') {
        this.counters.transfersAborted++;
        this.emit({ type: 'aborted', level: 'debug', peer: who, file: req.filename, reason: outcome.reason });
      } else {
        this.counters.transfersFailed++;
        this.emit({ type: 'failed', level: 'warn', peer: who, file: req.filename, reason: outcome.reason });
      }
    } catch (err) {
      const refusal = err instanceof Refusal ? err : null;
      const message = refusal ? refusal.message : `server error: ${(err as Error).message}`;
      await new Promise<void>((resolve) => sock.send(encodeTftp({ op: 'error', code: refusal?.code ?? TFTP_ERROR.notDefined, message: message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) }), () => resolve()));
      this.counters.errorsSent++;
      if (refusal) {
        this.counters.refused++;
        const level: TftpLevel = refusal.notFound && isProbeFile(req.filename) ? 'debug' : refusal.code === TFTP_ERROR.accessViolation ? 'warn' : 'info';
        this.emit({ type: 'refused', level, peer: who, file: req.filename, reason: message });
      } else {
        this.counters.transfersFailed++;
        this.emit({ type: 'failed', level: 'warn', peer: who, file: req.filename, reason: message });
      }
    } finally {
      await (source ?? fh)?.close().catch(() => {});
      sock.close();
    }
  }
}
