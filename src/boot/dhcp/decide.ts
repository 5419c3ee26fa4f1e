// What the DHCP server answers, as a pure function of the request and a context record
// (STYLE 2): `decide(request, context)` returns the reply, where it goes, and the lease
// change the server must make before sending it. No sockets, clocks or database here.
//
// Full mode hands out addresses from the range (RFC 2131 §4.3): a fixed address for a
// known machine first, then the client's own earlier address, the one it asks for, the
// first free one. A fixed address goes to its machine only (never to another client, in
// the range or not), and that machine gets no other: a REQUEST from it for another address
// is NAKed. A machine whose fixed address is not on the subnet it boots from is served
// from the range, as ISC dhcpd does. Server-identifier rules: a REQUEST naming another server is dropped
// (our offer is withdrawn); INIT-REBOOT for a wrong network or address is NAKed, for a
// client we have no record of it is silence. Proxy mode answers PXE clients only, gives
// no address, only boot information, on port 67 and 4011. Relay agents (giaddr) in both.
import type { DhcpMessage } from './codec.js';
import { type Loader, chooseBootFile, ipxeScriptUrl } from './boot-file.js';
import { type LeaseView, isLive } from './lease-store.js';
import { ZERO, fromNumber, inRange, isNetworkOrBroadcast, sameSubnet, toNumber } from './ipv4.js';
import { type MessageType, OPTION, clientArchitectures, ipv4Option, isIpxe, isPxeClient, macAddress, messageType } from './options.js';
import { type DhcpReplyPlan, type LeaseAction, type ServerAddress, buildReply } from './reply.js';

/** What the server knows of the machine with this MAC (via the injected BootDirectory). */
export interface BootMachine {
  name?: string;
  loader: Loader;
  /** A fixed address for this machine (full mode). */
  fixedAddress?: string;
}

export interface DhcpContext {
  mode: 'full' | 'proxy';
  /** The boot interface's address and netmask: server identifier and next-server. */
  server: ServerAddress;
  /** Full mode: the addresses handed out, and their subnet's mask (default the interface's). */
  range?: { start: string; end: string };
  netmask?: string;
  router?: string[];
  dns?: string[];
  domain?: string;
  leaseSeconds: number;
  /** How long an offer holds its address; how long a declined address stays out of use. */
  offerSeconds: number;
  declineSeconds: number;
  httpPort: number;
  leases: LeaseView;
  machine: BootMachine | null;
  /** Every machine's fixed address: none of them goes to another client. */
  reserved?: ReadonlySet<string>;
  now: Date;
  /** Which port the request came to, and from where (port 4011 replies go back there). */
  port: 67 | 4011;
  source: { address: string; port: number };
}

export interface Decision {
  reply: DhcpReplyPlan | null;
  lease: LeaseAction | null;
  /** Why nothing was sent, or what was left out (for the log and events). */
  note?: string;
}

const silent = (note: string, lease: LeaseAction | null = null): Decision => ({ reply: null, lease, note });

/** RFC 2131 §4.2: the client identifier when there is one, else the hardware address. */
export function clientKey(msg: DhcpMessage): string {
  const id = msg.options.get(OPTION.clientId);
  return id && id.length > 0 ? `id-${id.toString('hex')}` : `mac-${macAddress(msg) ?? msg.chaddr.toString('hex')}`;
}

export function decide(request: DhcpMessage, ctx: DhcpContext): Decision {
  if (request.op !== 'request') return silent('a reply (op 2) sent to the server');
  const mac = macAddress(request);
  if (!mac) return silent(`hardware type ${request.htype}/${request.hlen} is not Ethernet`);
  if (request.hops > 16) return silent(`relayed over ${request.hops} hops, more than 16`);
  const type = messageType(request);
  if (!type) return silent('no DHCP message type (a BOOTP client?)');
  if (ctx.port === 4011) return pxeBootServer(request, type, ctx);
  return ctx.mode === 'proxy' ? proxy(request, type, ctx) : full(request, type, mac, ctx);
}

// ---------------------------------------------------------------- boot information

export interface BootInfo {
  file: string | null;
  pxe: boolean;
  ipxe: boolean;
  note?: string;
}

function bootInfo(request: DhcpMessage, ctx: DhcpContext): BootInfo {
  const ipxe = isIpxe(request);
  const pxe = isPxeClient(request);
  if (!pxe && !ipxe) return { file: null, pxe, ipxe };
  const choice = chooseBootFile({ architectures: clientArchitectures(request), ipxe }, ctx.machine?.loader ?? 'auto', ipxeScriptUrl(ctx.server.address, ctx.httpPort));
  return choice.file === null ? { file: null, pxe, ipxe, note: choice.reason } : { file: choice.file, pxe, ipxe };
}

// ---------------------------------------------------------------- proxy mode and port 4011

function proxy(request: DhcpMessage, type: MessageType, ctx: DhcpContext): Decision {
  if (!isPxeClient(request)) return silent('proxy mode answers PXE clients only (vendor class PXEClient)');
  if (type === 'discover') return proxyAnswer(request, 'offer', ctx);
  // A REQUEST on 67 is for the site's DHCP server, unless it names us.
  if (type === 'request' && ipv4Option(request, OPTION.serverId) === ctx.server.address) return proxyAnswer(request, 'ack', ctx);
  return silent(`proxy mode leaves ${type} to the site's DHCP server`);
}

/** Port 4011: PXE boot server discovery (a client that already has its address asks for boot information). */
function pxeBootServer(request: DhcpMessage, type: MessageType, ctx: DhcpContext): Decision {
  if (type !== 'request' && type !== 'inform') return silent(`port 4011 takes REQUEST and INFORM, not ${type}`);
  if (!isPxeClient(request)) return silent('port 4011 answers PXE clients only (vendor class PXEClient)');
  return proxyAnswer(request, 'ack', ctx);
}

function proxyAnswer(request: DhcpMessage, type: 'offer' | 'ack', ctx: DhcpContext): Decision {
  const boot = bootInfo(request, ctx);
  if (boot.file === null) return silent(boot.note ?? 'no boot file for this client');
  return {
    reply: buildReply(request, ctx, { type, yiaddr: ZERO, boot, proxy: true }),
    lease: null,
  };
}

// ---------------------------------------------------------------- full mode

function full(request: DhcpMessage, type: MessageType, mac: string, ctx: DhcpContext): Decision {
  const serverId = ipv4Option(request, OPTION.serverId);
  const ours = serverId === ctx.server.address;
  const range = ctx.range;
  if (!range) return silent('full mode without a range (a configuration error)');
  const netmask = ctx.netmask ?? ctx.server.netmask;
  const subnetOf = request.giaddr !== ZERO ? request.giaddr : ctx.server.address;
  if (!sameSubnet(range.start, subnetOf, netmask)) return silent(`no range for the subnet of ${subnetOf} (the range is ${range.start}-${range.end})`);
  const configured = ctx.machine?.fixedAddress;
  /** This machine's fixed address when it is on the subnet the client boots from. */
  const fixed = configured !== undefined && sameSubnet(configured, subnetOf, netmask) ? configured : undefined;
  // A fixed address belongs to the hardware address (ISC dhcpd's `hardware ethernet`): its
  // lease is kept under the MAC whatever client identifier the firmware, iPXE or the OS send.
  const key = fixed ? `mac-${mac}` : clientKey(request);
  const own = ctx.leases.byClient(key);

  /** Whether `ip` may be this client's: ours to give, nobody else's now, and no other machine's fixed address. */
  const usable = (ip: string): boolean => {
    if (ip === ctx.server.address || !sameSubnet(ip, subnetOf, netmask) || isNetworkOrBroadcast(ip, netmask)) return false;
    if (!(inRange(ip, range) || ip === fixed)) return false;
    if (ip !== fixed && ctx.reserved?.has(ip)) return false;
    const holder = ctx.leases.byAddress(ip);
    return !holder || holder.clientKey === key || !isLive(holder, ctx.now);
  };
  const seconds = (s: number) => new Date(ctx.now.getTime() + s * 1000).toISOString();
  const newLease = (address: string, s: number) => ({ clientKey: key, mac, address, expiresAt: seconds(s) });
  const ack = (address: string): Decision => ({
    reply: buildReply(request, ctx, { type: 'ack', yiaddr: address, boot: bootInfo(request, ctx), leaseSeconds: ctx.leaseSeconds, netmask }),
    lease: { op: 'renew', lease: newLease(address, ctx.leaseSeconds) },
  });
  const nak = (why: string): Decision => ({ reply: buildReply(request, ctx, { type: 'nak', yiaddr: ZERO, message: why }), lease: null, note: why });
  /** A fixed machine's REQUEST (any state): its address and no other. */
  const fixedAnswer = (address: string, f: string): Decision => {
    if (address !== f) return nak(`${address} is not the address of this machine (its fixed address is ${f})`);
    return usable(f) ? ack(f) : nak(`the fixed address ${f} is in use by another client`);
  };

  switch (type) {
    case 'discover': {
      const requested = ipv4Option(request, OPTION.requestedAddress);
      const candidates = fixed ? [fixed] : [own?.address, requested].filter((ip): ip is string => !!ip);
      let address = candidates.find(usable) ?? null;
      if (!address && !fixed) address = firstFree(range, usable);
      if (!address) return silent(fixed ? `fixed address ${fixed} of ${mac} is taken or not on this subnet` : `no free address left in ${range.start}-${range.end}`);
      const boot = bootInfo(request, ctx);
      return {
        reply: buildReply(request, ctx, { type: 'offer', yiaddr: address, boot, leaseSeconds: ctx.leaseSeconds, netmask }),
        lease: { op: 'allocate', lease: newLease(address, ctx.offerSeconds) },
        ...(boot.note ? { note: boot.note } : {}),
      };
    }
    case 'request': {
      const requested = ipv4Option(request, OPTION.requestedAddress);
      if (serverId !== null) {
        // SELECTING: the client picked an offer.
        if (!ours) return silent(`the client chose server ${serverId}`, own?.state === 'offered' ? { op: 'release', clientKey: key } : null);
        const address = requested ?? (request.ciaddr !== ZERO ? request.ciaddr : null);
        if (!address) return nak('no requested address');
        if (fixed) return fixedAnswer(address, fixed);
        if (!own || own.address !== address || !usable(address)) return nak(`${address} was not offered to this client`);
        return ack(address);
      }
      if (requested !== null && request.ciaddr === ZERO) {
        // INIT-REBOOT: the client checks its remembered address. A fixed machine is on record whether or not it has a lease.
        if (!sameSubnet(requested, subnetOf, netmask)) return nak(`${requested} is not on this network`);
        if (fixed) return fixedAnswer(requested, fixed);
        if (!own) return silent(`INIT-REBOOT for ${requested} from a client with no lease here`);
        if (own.address !== requested || !usable(requested)) return nak(`${requested} is not this client's address`);
        return ack(requested);
      }
      if (request.ciaddr !== ZERO) {
        // RENEWING (unicast) or REBINDING (broadcast).
        if (fixed) return fixedAnswer(request.ciaddr, fixed);
        if (own && own.address === request.ciaddr && usable(request.ciaddr)) return ack(request.ciaddr);
        if (own || !usable(request.ciaddr)) return nak(`${request.ciaddr} is not this client's address`);
        return silent(`renewal of ${request.ciaddr} from a client with no lease here`);
      }
      return silent('a REQUEST with neither a requested address nor ciaddr');
    }
    case 'decline': {
      const address = ipv4Option(request, OPTION.requestedAddress);
      if (!ours || !address || !own || own.address !== address) return silent('a DECLINE not about an address we gave this client');
      return { reply: null, lease: { op: 'decline', address, until: seconds(ctx.declineSeconds) }, note: `${mac} found ${address} in use` };
    }
    case 'release': {
      if (!ours || !own || own.address !== request.ciaddr) return silent('a RELEASE not about an address we gave this client');
      return { reply: null, lease: { op: 'release', clientKey: key } };
    }
    case 'inform': {
      if (request.ciaddr === ZERO) return silent('an INFORM without ciaddr');
      return { reply: buildReply(request, ctx, { type: 'ack', yiaddr: ZERO, boot: bootInfo(request, ctx), netmask }), lease: null };
    }
    default:
      return silent(`a ${type} message is not for a server`);
  }
}

function firstFree(range: { start: string; end: string }, usable: (ip: string) => boolean): string | null {
  for (let n = toNumber(range.start), end = toNumber(range.end); n <= end; n++) {
    const ip = fromNumber(n);
    if (usable(ip)) return ip;
  }
  return null;
}


