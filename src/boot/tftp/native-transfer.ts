// A read transfer of a file whose blocks go out from the native data path
// (src/boot/native/tftp-send.c, a thread per transfer), by the same rules as transfer.ts:
// the same outcome, hooks and abort. The server chooses it for files when the addon is
// built; generated content (small, in memory) stays on transfer.ts.
import type { TftpSendAddon } from '../native/tftp-send.js';
import { encodeTftp } from './codec.js';
import type { Negotiated } from './policy.js';
import type { TransferHooks, TransferOutcome } from './transfer.js';

export class NativeTransfer {
  readonly done: Promise<TransferOutcome>;
  private readonly handle: ReturnType<TftpSendAddon['start']>;

  constructor(
    private readonly addon: TftpSendAddon,
    o: { fd: number; size: number; host: string; client: { address: string; port: number }; deal: Negotiated; retries: number; maxStallMs: number },
    hooks: TransferHooks,
  ) {
    let finish: (outcome: TransferOutcome) => void = () => {};
    this.done = new Promise((resolve) => (finish = resolve));
    const { deal } = o;
    this.handle = addon.start(
      {
        fd: o.fd,
        size: o.size,
        host: o.host,
        address: o.client.address,
        port: o.client.port,
        blockSize: deal.blockSize,
        windowSize: deal.windowSize,
        timeoutMs: deal.timeoutMs,
        retries: o.retries,
        maxStallMs: o.maxStallMs,
        oack: deal.accepted.size > 0 ? encodeTftp({ op: 'oack', options: deal.accepted }) : null,
      },
      (kind, reason, bytesSent, errorSent) => {
        hooks.onSent(bytesSent);
        if (errorSent) hooks.onErrorSent();
        if (addon.confirmed(this.handle)) hooks.onConfirmed();
        finish(kind === 'completed' ? { kind } : { kind, reason });
      },
    );
  }

  get isConfirmed(): boolean {
    return this.addon.confirmed(this.handle);
  }

  /** Ends the transfer at once with an ERROR to the client. */
  abort(reason: string): void {
    this.addon.abort(this.handle, reason);
  }
}
