// The DHCP server's settings, checked before a socket opens: what startDhcpServer takes,
// and the interface facts it resolves (the boot interface's own IPv4 address and mask).
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { userError } from '../../errors.js';
import { inRange, isNetmask, isNetworkOrBroadcast, sameSubnet, toNumber } from './ipv4.js';

export interface DhcpSettings {
  /** The boot interface: the only one the server hears and answers. */
  interface: string;
  mode: 'full' | 'proxy';
  /** Full mode: the addresses handed out. */
  range?: { start: string; end: string };
  /** The range's subnet mask (default the boot interface's: set it for a range behind a relay). */
  netmask?: string;
  router?: string[];
  dns?: string[];
  domain?: string;
  leaseSeconds?: number;
  /** Port of the HTTP boot service (the iPXE script URL). */
  httpPort: number;
}

export const MAX_RANGE = 65536;

/** The interface's first IPv4 address and netmask, from the kernel's list. */
export function interfaceAddress(ifname: string | null | undefined): { address: string; netmask: string } {
  if (!ifname) throw userError('the DHCP server needs a boot interface (boot.interface in the configuration, e.g. "enp3s0"): it never answers on every interface');
  const entries = networkInterfaces()[ifname];
  if (!entries) throw userError(`there is no network interface ${JSON.stringify(ifname)}: check the boot interface in the configuration (\`ip link\` lists them)`);
  const v4 = entries.find((e) => e.family === 'IPv4' && !e.internal) ?? entries.find((e) => e.family === 'IPv4');
  if (!v4) throw userError(`network interface ${ifname} has no IPv4 address: give it a static one (the DHCP server names itself by it), e.g. \`ip addr add 192.168.50.1/24 dev ${ifname}\``);
  return { address: v4.address, netmask: v4.netmask };
}

const list = (what: string, v: string[] | undefined) => {
  for (const a of v ?? []) if (!isIPv4(a)) throw userError(`DHCP ${what} ${JSON.stringify(a)} is not an IPv4 address`);
};

/** Throws a user error naming what is wrong with the settings for a server on `server`. */
export function checkDhcpSettings(s: DhcpSettings, server: { address: string; netmask: string }): void {
  if (s.mode !== 'full' && s.mode !== 'proxy') throw userError(`DHCP mode must be full or proxy, not ${JSON.stringify(s.mode)}`);
  if (!Number.isInteger(s.httpPort) || s.httpPort < 1 || s.httpPort > 65535) throw userError(`HTTP boot port ${s.httpPort} is not a port number (1-65535)`);
  if (s.leaseSeconds !== undefined && (!Number.isInteger(s.leaseSeconds) || s.leaseSeconds < 60 || s.leaseSeconds > 0x7fffffff)) {
    throw userError(`DHCP lease time ${s.leaseSeconds} s is out of range: give 60 s or more`);
  }
  list('router', s.router);
  list('DNS server', s.dns);
  if (s.domain !== undefined && !/^[A-Za-z0-9.-]{1,253}$/.test(s.domain)) throw userError(`DHCP domain ${JSON.stringify(s.domain)} is not a domain name`);
  if (s.mode === 'proxy') return;
  const r = s.range;
  if (!r || !isIPv4(r.start) || !isIPv4(r.end)) throw userError('DHCP mode full hands out addresses: set a range of IPv4 addresses (start and end)');
  if (toNumber(r.start) > toNumber(r.end)) throw userError(`DHCP range starts at ${r.start}, after its end ${r.end}: swap them`);
  if (toNumber(r.end) - toNumber(r.start) + 1 > MAX_RANGE) throw userError(`DHCP range ${r.start}-${r.end} has more than ${MAX_RANGE} addresses: give a smaller one`);
  const mask = s.netmask ?? server.netmask;
  if (!isNetmask(mask)) throw userError(`DHCP netmask ${mask} is not a netmask (like 255.255.255.0)`);
  if (!sameSubnet(r.start, r.end, mask)) throw userError(`DHCP range ${r.start}-${r.end} spans more than one subnet under ${mask}`);
  if (s.netmask === undefined && !sameSubnet(r.start, server.address, mask)) {
    throw userError(`DHCP range ${r.start}-${r.end} is not on the boot interface's subnet (${server.address} mask ${mask}): move it there, or set its netmask when clients come through a relay agent`);
  }
  if (inRange(server.address, r) && toNumber(r.start) === toNumber(r.end)) throw userError(`DHCP range ${r.start}-${r.end} holds only the server's own address`);
}

/**
 * What is wrong with `ip` as a machine's fixed address on this boot network, or null.
 * It must be on the boot interface's subnet (or, with a netmask set for a relayed range,
 * on the range's subnet), not the subnet's own or broadcast address, not the server's own
 * address, and outside the dynamic range. The last is ISC dhcpd's rule (dhcpd.conf(5):
 * fixed addresses "should not also be listed as being available for dynamic assignment";
 * dhcpd logs "Dynamic and static leases present" when they are): Lifeboat refuses it up
 * front, and its DHCP server never gives a machine's fixed address to another client even
 * if the range is changed later to cover it.
 */
export function fixedAddressProblem(ip: string, net: { server: { address: string; netmask: string }; mode: 'off' | 'full' | 'proxy'; range?: { start: string; end: string }; netmask?: string }): string | null {
  if (!isIPv4(ip)) return `fixed address ${JSON.stringify(ip)} is not an IPv4 address`;
  const { server } = net;
  const relayed = net.range && net.netmask && !sameSubnet(net.range.start, server.address, net.netmask) ? { subnet: net.range.start, mask: net.netmask } : null;
  const onBoot = sameSubnet(ip, server.address, server.netmask);
  const onRelayed = relayed !== null && sameSubnet(ip, relayed.subnet, relayed.mask);
  if (!onBoot && !onRelayed) {
    return `fixed address ${ip} is not on the boot network (${server.address} mask ${server.netmask}${relayed ? `, or the relayed range's subnet ${relayed.subnet} mask ${relayed.mask}` : ''}): choose an address there`;
  }
  if (ip === server.address) return `fixed address ${ip} is the appliance's own address on the boot interface: choose another`;
  if (isNetworkOrBroadcast(ip, onBoot ? server.netmask : (relayed as { mask: string }).mask)) return `fixed address ${ip} is the subnet's network or broadcast address: choose a host address`;
  if (net.mode === 'full' && net.range && inRange(ip, net.range)) {
    return `fixed address ${ip} is inside the DHCP range ${net.range.start}-${net.range.end}, which is for dynamic leases: choose an address outside it (as ISC dhcpd requires), or shrink the range (--dhcp-range)`;
  }
  return null;
}
