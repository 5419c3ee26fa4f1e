// The DHCP server: a thin UDP layer around decide(). Two sockets on the boot interface
// only (SO_BINDTODEVICE, src/boot/native): port 67 and the PXE boot server port 4011.
// Datagrams are handled one at a time (so each decision sees the lease table as the last
// one left it), with a bounded queue; a bad packet, a failed lookup or a failed write is
// an event, never the end of the service.
import type { Socket } from 'node:dgram';
import { LifeboatError } from '../../errors.js';
import { MalformedPacket } from '../malformed.js';
import { udpSocketOnDevice } from '../native/index.js';
import { type DhcpMessage, decodeDhcp, encodeDhcp } from './codec.js';
import { type DhcpSettings, checkDhcpSettings, interfaceAddress } from './config.js';
import { type BootMachine, type DhcpContext, decide } from './decide.js';
import { type LeaseStore, MemoryLeaseStore } from './lease-store.js';
import { clientArchitectures, clientMachineId, isIpxe, isPxeClient, macAddress, messageType, OPTION, textOption } from './options.js';
import type { LeaseAction } from './reply.js';

/** Who a MAC is, for the boot decision: the daemon answers from the machines collection. */
export interface BootDirectory {
  lookup(client: { mac: string; uuid: string | null }): Promise<BootMachine | null>;
  /** Every machine's fixed address (full mode: never given to another client). */
  reserved?(): Promise<ReadonlySet<string>>;
}

export type DhcpEvent =
  | { type: 'discover'; mac: string; uuid: string | null; architectures: number[]; pxe: boolean; ipxe: boolean; vendorClass: string | null; port: number }
  | { type: 'reply'; reply: 'offer' | 'ack' | 'nak'; mac: string; address: string; bootFile: string | null; to: string }
  | { type: 'lease'; op: 'bound' | 'released' | 'declined'; mac: string; address: string; expiresAt?: string }
  | { type: 'ignored'; mac: string | null; message: string | null; reason: string }
  | { type: 'malformed'; peer: string; reason: string }
  | { type: 'error'; reason: string };

export interface DhcpServerOptions extends DhcpSettings {
  /** Required in full mode (the management store's leases); proxy mode keeps none. */
  leases?: LeaseStore;
  directory?: BootDirectory;
  onEvent?: (e: DhcpEvent) => void;
  /** Aborting stops the server (the daemon's composition root). */
  signal?: AbortSignal;
  /** 67 and 4011 unless given (tests). */
  ports?: { dhcp: number; pxe: number };
  now?: () => Date;
  /** Datagrams waiting at most (default 1024; more are dropped, as a flood would be). */
  maxQueue?: number;
}

export interface DhcpServer {
  readonly server: { address: string; netmask: string };
  close(): Promise<void>;
}

const OFFER_SECONDS = 60;
/** Larger than any DHCP request a client sends (Ethernet MTU and then some): dropped unread. */
const MAX_DATAGRAM = 2048;
/** How long a machine lookup may take before the client is answered with the defaults. */
const LOOKUP_MS = 500;
const DECLINE_SECONDS = 600;
const EXPIRE_EVERY_MS = 60_000;

export async function startDhcpServer(opts: DhcpServerOptions): Promise<DhcpServer> {
  const server = interfaceAddress(opts.interface);
  checkDhcpSettings(opts, server);
  const leases = opts.leases ?? (opts.mode === 'proxy' ? new MemoryLeaseStore() : null);
  if (!leases) throw new LifeboatError('bug', 'startDhcpServer in full mode needs a lease store');
  const now = opts.now ?? (() => new Date());
  const emit = (e: DhcpEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      // a listener's failure is not the server's
    }
  };
  const ports = opts.ports ?? { dhcp: 67, pxe: 4011 };
  const dhcp = await udpSocketOnDevice(opts.interface, ports.dhcp);
  let pxe: Socket;
  try {
    pxe = await udpSocketOnDevice(opts.interface, ports.pxe);
  } catch (err) {
    dhcp.close();
    throw err;
  }

  let queued = 0;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const maxQueue = opts.maxQueue ?? 1024;

  async function handle(bytes: Buffer, from: { address: string; port: number }, port: 67 | 4011, socket: Socket): Promise<void> {
    // Packets still queued when the server closes are dropped: the sockets are gone.
    if (closed) return;
    let request: DhcpMessage;
    try {
      request = decodeDhcp(bytes);
    } catch (err) {
      if (err instanceof MalformedPacket) emit({ type: 'malformed', peer: `${from.address}:${from.port}`, reason: err.message });
      else emit({ type: 'error', reason: `decoding a packet from ${from.address}: ${(err as Error).message}` });
      return;
    }
    const mac = macAddress(request);
    const type = messageType(request);
    const uuid = clientMachineId(request);
    if (mac && (type === 'discover' || port === 4011) && request.op === 'request') {
      emit({ type: 'discover', mac, uuid, architectures: clientArchitectures(request), pxe: isPxeClient(request), ipxe: isIpxe(request), vendorClass: textOption(request, OPTION.vendorClass), port });
    }
    let machine: BootMachine | null = null;
    let reserved: ReadonlySet<string> | undefined;
    const directory = opts.directory;
    if (mac && directory) {
      try {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${LOOKUP_MS} ms; the defaults are used`)), LOOKUP_MS);
        });
        try {
          const wantReserved = opts.mode === 'full' && port === 67 && directory.reserved;
          [machine, reserved] = await Promise.race([Promise.all([directory.lookup({ mac, uuid }), wantReserved ? directory.reserved?.() : undefined]), late]);
        } finally {
          clearTimeout(timer);
        }
      } catch (err) {
        emit({ type: 'error', reason: `looking up ${mac}: ${(err as Error).message}` });
        // Without the list of fixed addresses no address is known to be free: no answer (the client retries).
        if (opts.mode === 'full' && directory.reserved && reserved === undefined) return;
      }
    }
    const ctx: DhcpContext = {
      mode: opts.mode,
      server,
      ...(opts.range ? { range: opts.range } : {}),
      ...(opts.netmask ? { netmask: opts.netmask } : {}),
      ...(opts.router ? { router: opts.router } : {}),
      ...(opts.dns ? { dns: opts.dns } : {}),
      ...(opts.domain ? { domain: opts.domain } : {}),
      leaseSeconds: opts.leaseSeconds ?? 3600,
      offerSeconds: OFFER_SECONDS,
      declineSeconds: DECLINE_SECONDS,
      httpPort: opts.httpPort,
      leases: leases as LeaseStore,
      machine,
      ...(reserved ? { reserved } : {}),
      now: now(),
      port,
      source: from,
    };
    const decision = decide(request, ctx);
    if (decision.lease) {
      try {
        await apply(decision.lease, ctx.now, mac ?? '');
      } catch (err) {
        emit({ type: 'ignored', mac, message: type, reason: `lease not recorded: ${(err as Error).message}` });
        return;
      }
    }
    if (!decision.reply) {
      if (decision.note && !decision.lease) emit({ type: 'ignored', mac, message: type, reason: decision.note });
      return;
    }
    const { reply } = decision;
    if (closed) return;
    let out: Buffer;
    try {
      out = encodeDhcp(reply.message, reply.maxLength);
    } catch (err) {
      emit({ type: 'error', reason: `the ${reply.type} for ${mac} cannot be encoded: ${(err as Error).message}` });
      return;
    }
    await new Promise<void>((resolve) => {
      socket.send(out, reply.to.port, reply.to.address, (err) => {
        if (err) emit({ type: 'error', reason: `sending the ${reply.type} for ${mac} to ${reply.to.address}: ${err.message}` });
        else emit({ type: 'reply', reply: reply.type, mac: mac ?? '', address: reply.message.yiaddr, bootFile: reply.bootFile, to: `${reply.to.address}:${reply.to.port}` });
        resolve();
      });
    });
  }

  async function apply(action: LeaseAction, at: Date, mac: string): Promise<void> {
    const store = leases as LeaseStore;
    switch (action.op) {
      case 'allocate':
        await store.allocate(action.lease, at);
        return;
      case 'renew': {
        const l = await store.renew(action.lease, at);
        emit({ type: 'lease', op: 'bound', mac: l.mac, address: l.address, expiresAt: l.expiresAt });
        return;
      }
      case 'release': {
        const l = await store.release(action.clientKey);
        if (l && l.state === 'bound') emit({ type: 'lease', op: 'released', mac: l.mac, address: l.address });
        return;
      }
      case 'decline':
        await store.decline(action.address, action.until, at);
        emit({ type: 'lease', op: 'declined', mac, address: action.address, expiresAt: action.until });
        return;
    }
  }

  const listen = (socket: Socket, port: 67 | 4011) => {
    socket.on('message', (bytes, rinfo) => {
      if (closed || queued >= maxQueue) return;
      if (bytes.length > MAX_DATAGRAM) {
        emit({ type: 'malformed', peer: `${rinfo.address}:${rinfo.port}`, reason: `${bytes.length} bytes, more than any DHCP request (${MAX_DATAGRAM})` });
        return;
      }
      queued++;
      const from = { address: rinfo.address, port: rinfo.port };
      chain = chain
        .then(() => handle(bytes, from, port, socket))
        .catch((err: unknown) => emit({ type: 'error', reason: `handling a packet from ${from.address}: ${(err as Error).message}` }))
        .finally(() => queued--);
    });
    socket.on('error', (err) => emit({ type: 'error', reason: `socket on port ${port}: ${err.message}` }));
  };
  listen(dhcp, 67);
  listen(pxe, 4011);

  const expiry = setInterval(() => {
    chain = chain.then(async () => {
      try {
        await (leases as LeaseStore).expire(now());
      } catch (err) {
        emit({ type: 'error', reason: `expiring leases: ${(err as Error).message}` });
      }
    });
  }, EXPIRE_EVERY_MS);
  expiry.unref();

  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      closed = true;
      clearInterval(expiry);
      await Promise.all([dhcp, pxe].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await chain;
    })();
    return closing;
  };
  if (opts.signal) {
    if (opts.signal.aborted) await close();
    else opts.signal.addEventListener('abort', () => void close(), { once: true });
  }
  return { server, close };
}
