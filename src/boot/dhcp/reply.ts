// The replies decide.ts plans: a DhcpMessage built from the request (RFC 2131 table 3),
// the options of its kind, the boot information, and where it goes. Pure.
import { DHCP_DEFAULT_MAX_MESSAGE, type DhcpMessage } from './codec.js';
import type { BootInfo, DhcpContext } from './decide.js';
import type { NewLease } from './lease-store.js';
import { BROADCAST, ZERO } from './ipv4.js';
import { OPTION, clientMachineId, maxMessageSize, value } from './options.js';

export interface ServerAddress {
  address: string;
  netmask: string;
}

export type LeaseAction =
  | { op: 'allocate' | 'renew'; lease: NewLease }
  | { op: 'release'; clientKey: string }
  | { op: 'decline'; address: string; until: string };

export interface DhcpReplyPlan {
  type: 'offer' | 'ack' | 'nak';
  message: DhcpMessage;
  to: { address: string; port: number };
  /** The largest message the client takes. */
  maxLength: number;
  bootFile: string | null;
}

export interface ReplySpec {
  type: 'offer' | 'ack' | 'nak';
  yiaddr: string;
  boot?: BootInfo;
  /** A lease time to state (offers and ACKs of an address). */
  leaseSeconds?: number;
  netmask?: string;
  /** NAK: why. */
  message?: string;
  /** A ProxyDHCP answer: boot information only. */
  proxy?: boolean;
}

/** PXE vendor options (43): sub-option 6 (discovery control) bit 3: boot the file in this offer, no boot server discovery. */
const PXE_BOOT_THIS_FILE = Buffer.from([6, 1, 8, 255]);
/** iPXE's encapsulated option 175.176 (no-pxedhcp): do not wait for ProxyDHCP offers. */
const IPXE_NO_PROXYDHCP = Buffer.from([176, 1, 1]);
/** Longest name the 128-byte file field holds with its NUL; longer goes in option 67. */
const FILE_FIELD_MAX = 127;

/** Where a reply goes (RFC 2131 §4.1): a relay agent, the client's address, or the broadcast on the bound interface. */
export function destination(request: DhcpMessage, type: ReplySpec['type'], ctx: Pick<DhcpContext, 'port' | 'source'>): { address: string; port: number } {
  if (ctx.port === 4011) return { address: ctx.source.address, port: ctx.source.port };
  if (request.giaddr !== ZERO) return { address: request.giaddr, port: 67 };
  if (type === 'nak' || request.ciaddr === ZERO) {
    // A client without an address cannot take unicast before ARP knows it, and dgram cannot
    // write the ARP entry: the broadcast, which SO_BINDTODEVICE keeps on the boot interface.
    return { address: BROADCAST, port: 68 };
  }
  return { address: request.ciaddr, port: 68 };
}

export function buildReply(request: DhcpMessage, ctx: DhcpContext, spec: ReplySpec): DhcpReplyPlan {
  const options = new Map<number, Buffer>();
  options.set(OPTION.messageType, value.messageType(spec.type));
  options.set(OPTION.serverId, value.ipv4(ctx.server.address));
  let file = '';
  let siaddr = ZERO;
  let bootFile: string | null = null;
  if (spec.type === 'nak') {
    options.set(OPTION.message, value.text(spec.message ?? 'request refused'));
  } else {
    if (spec.leaseSeconds !== undefined && !spec.proxy) {
      options.set(OPTION.leaseTime, value.u32(spec.leaseSeconds));
      options.set(OPTION.renewalTime, value.u32(Math.floor(spec.leaseSeconds / 2)));
      options.set(OPTION.rebindingTime, value.u32(Math.floor((spec.leaseSeconds * 7) / 8)));
    }
    if (!spec.proxy) {
      if (spec.netmask) options.set(OPTION.subnetMask, value.ipv4(spec.netmask));
      const router = ctx.router ?? (request.giaddr !== ZERO ? [request.giaddr] : []);
      if (router.length > 0) options.set(OPTION.router, value.ipv4List(router));
      if (ctx.dns && ctx.dns.length > 0) options.set(OPTION.dnsServers, value.ipv4List(ctx.dns));
      if (ctx.domain) options.set(OPTION.domainName, value.text(ctx.domain));
    }
    const boot = spec.boot;
    if (boot?.file) {
      bootFile = boot.file;
      siaddr = ctx.server.address;
      if (boot.file.length <= FILE_FIELD_MAX) file = boot.file;
      else options.set(OPTION.bootfileName, value.text(boot.file));
      if (spec.proxy || (boot.pxe && !boot.ipxe)) {
        options.set(OPTION.vendorClass, value.text('PXEClient'));
        options.set(OPTION.vendorSpecific, PXE_BOOT_THIS_FILE);
      }
      if (boot.ipxe && !spec.proxy) options.set(OPTION.ipxeEncapsulated, IPXE_NO_PROXYDHCP);
      const uuid = clientMachineId(request);
      if (spec.proxy && uuid) options.set(OPTION.clientMachineId, request.options.get(OPTION.clientMachineId) as Buffer);
    }
  }
  const message: DhcpMessage = {
    op: 'reply',
    htype: request.htype,
    hlen: request.hlen,
    hops: 0,
    xid: request.xid,
    secs: 0,
    flags: request.flags,
    ciaddr: spec.type === 'nak' ? ZERO : request.ciaddr,
    yiaddr: spec.yiaddr,
    siaddr,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    sname: '',
    file,
    options,
  };
  return { type: spec.type, message, to: destination(request, spec.type, ctx), maxLength: maxMessageSize(request) ?? DHCP_DEFAULT_MAX_MESSAGE, bootFile };
}
