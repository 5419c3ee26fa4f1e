// One read transfer on its own socket, connected to the client (its transfer id, RFC 1350
// §4): an OACK if options were granted, then DATA a window at a time (RFC 7440), block
// numbers rolling over past 65535. Event-driven: an acknowledgement sends the next window at
// once from blocks read ahead; one timer per transfer retransmits. Packets from anyone but
// the client, malformed packets and anything but ACK or ERROR are ignored (never answered:
// answering them is how two TFTP hosts end up bouncing packets forever); a duplicate ACK
// brings nothing (the "Sorcerer's Apprentice" bug).
import type { Socket } from 'node:dgram';
import { MalformedPacket } from '../malformed.js';
import type { BlockSource } from './block-source.js';
import { TFTP_ERROR, decodeTftp, encodeTftp } from './codec.js';
import type { Negotiated } from './policy.js';

export interface TransferSettings {
  deal: Negotiated;
  retries: number;
  maxStallMs: number;
}

export type TransferOutcome =
  | { kind: 'completed' }
  /** The client sent an ERROR (firmware often asks for an OACK only to learn a file's size). */
  | { kind: 'aborted'; reason: string }
  | { kind: 'failed'; reason: string };

export interface TransferHooks {
  /** The client acknowledged its first packet: it is really at the address it claims. */
  onConfirmed(): void;
  /** Payload bytes of DATA packets sent (retransmissions included). */
  onSent(bytes: number): void;
  onErrorSent(): void;
}

const OP_ACK = 4;
const OP_DATA = 3;

export class Transfer {
  readonly done: Promise<TransferOutcome>;
  private finish: (o: TransferOutcome) => void = () => {};
  private finished = false;
  private readonly lastBlock: number;
  /** Counted from 1 without end (on the wire k mod 65536); the OACK is block 0. */
  private base: number;
  private sentEnd = -1;
  private timeouts = 0;
  private lastProgressMs = Date.now();
  private confirmed = false;
  /** When the window sent last is due for retransmission; the timer checks it rather than being re-armed per packet. */
  private deadline = 0;
  private readonly timer: NodeJS.Timeout;
  /** A block is being read: pump() resumes when it is in memory. */
  private loading = false;

  constructor(
    private readonly socket: Socket,
    private readonly client: { address: string; port: number },
    private readonly source: BlockSource,
    private readonly settings: TransferSettings,
    private readonly hooks: TransferHooks,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.lastBlock = Math.floor(source.size / settings.deal.blockSize) + 1; // the last block is short, maybe empty
    this.base = settings.deal.accepted.size > 0 ? 0 : 1;
    this.timer = setInterval(() => this.onTick(), Math.max(10, Math.min(250, settings.deal.timeoutMs / 4)));
    socket.on('message', (bytes, rinfo) => {
      if (rinfo.address === client.address && rinfo.port === client.port) this.onPacket(bytes);
    });
    socket.on('error', () => {}); // an unreachable client is noticed by its silence
    this.pump();
  }

  get isConfirmed(): boolean {
    return this.confirmed;
  }

  /** Ends the transfer at once with an ERROR to the client (shutdown, or its slot given to another). */
  abort(reason: string): void {
    this.end({ kind: 'failed', reason }, TFTP_ERROR.notDefined);
  }

  private onPacket(bytes: Buffer): void {
    if (this.finished) return;
    let block: number;
    if (bytes.length === 4 && bytes.readUInt16BE(0) === OP_ACK) block = bytes.readUInt16BE(2);
    else {
      try {
        const p = decodeTftp(bytes);
        if (p.op === 'error') this.end({ kind: 'aborted', reason: `the client ended the transfer: ${p.message || `error ${p.code}`}` }, null);
      } catch (err) {
        if (!(err instanceof MalformedPacket)) throw err;
      }
      return;
    }
    // The acknowledged block within what was sent; anything else (a duplicate) is ignored.
    for (let k = this.sentEnd; k >= this.base; k--) {
      if ((k & 0xffff) !== block) continue;
      if (!this.confirmed) {
        this.confirmed = true;
        this.hooks.onConfirmed();
      }
      this.base = k + 1;
      this.sentEnd = k; // an ACK inside the window: the blocks after it were lost, and go again
      this.timeouts = 0;
      this.lastProgressMs = Date.now();
      if (this.base > this.lastBlock) this.end({ kind: 'completed' }, null);
      else this.pump();
      return;
    }
  }

  private onTick(): void {
    if (this.finished || this.loading) return;
    const now = Date.now();
    const stalled = now - this.lastProgressMs;
    const what = this.base === 0 ? 'the option acknowledgement' : `block ${this.base}`;
    if (stalled >= this.settings.maxStallMs) {
      this.end({ kind: 'failed', reason: `no acknowledgement of ${what} in ${Math.round(stalled / 1000)} s (${this.timeouts + 1} tries)` }, TFTP_ERROR.notDefined);
      return;
    }
    if (now < this.deadline) return;
    if (++this.timeouts > this.settings.retries) {
      this.end({ kind: 'failed', reason: `no acknowledgement after ${this.timeouts} tries of ${what} (${Math.round(stalled / 1000)} s)` }, TFTP_ERROR.notDefined);
      return;
    }
    this.sentEnd = -1; // send the window again from its start
    this.pump();
  }

  /**
   * Sends the window from `base`. Blocks already read ahead go out synchronously (the
   * common case: no promise, no timer churn per packet); when one must be read first,
   * sending resumes once it is in memory, from wherever `base` is by then.
   */
  private pump(): void {
    if (this.finished || this.loading) return;
    const { deal } = this.settings;
    // Exponential backoff (RFC 1123 §4.2.3.2) while no ACK comes: a client that ignores a
    // repeated OACK or DATA and only resends its own ACK after ~5 s (curl) is still waited for.
    this.deadline = Date.now() + deal.timeoutMs * 2 ** Math.min(this.timeouts, 4);
    if (this.base === 0) {
      this.sentEnd = 0;
      this.socket.send(encodeTftp({ op: 'oack', options: deal.accepted }));
      return;
    }
    const end = Math.min(this.lastBlock, this.base + deal.windowSize - 1);
    for (let k = Math.max(this.base, this.sentEnd + 1); k <= end; k++) {
      const data = this.source.ready(k);
      if (data === null) {
        this.loading = true;
        this.source.load(k).then(
          () => {
            this.loading = false;
            this.pump();
          },
          (err: Error) => this.end({ kind: 'failed', reason: `server error: ${err.message}` }, TFTP_ERROR.notDefined),
        );
        return;
      }
      // One small copy into a pooled buffer: a single-buffer send is Node's shortest path.
      const packet = Buffer.allocUnsafe(4 + data.length);
      packet.writeUInt16BE(OP_DATA, 0);
      packet.writeUInt16BE(k & 0xffff, 2);
      data.copy(packet, 4);
      this.socket.send(packet);
      this.sentEnd = k;
      this.hooks.onSent(data.length);
    }
  }

  private end(outcome: TransferOutcome, errorCode: number | null): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    if (errorCode !== null && outcome.kind !== 'completed') {
      this.hooks.onErrorSent();
      const message = outcome.reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
      // done resolves once the ERROR is handed to the kernel: the socket closes after it.
      this.socket.send(encodeTftp({ op: 'error', code: errorCode, message }), () => this.finish(outcome));
      return;
    }
    this.finish(outcome);
  }
}
