// DHCP option numbers Lifeboat reads or writes (RFC 2132, PXE: RFC 4578, iPXE's own), and
// typed readers over a decoded message. A reader returns null for an option that is
// absent or not of its stated form: a client's odd option is ignored, never trusted.
import { type DhcpMessage, ipv4Bytes } from './codec.js';

export const OPTION = {
  subnetMask: 1,
  router: 3,
  dnsServers: 6,
  hostName: 12,
  domainName: 15,
  vendorSpecific: 43,
  requestedAddress: 50,
  leaseTime: 51,
  messageType: 53,
  serverId: 54,
  parameterRequestList: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClass: 60,
  clientId: 61,
  tftpServerName: 66,
  bootfileName: 67,
  userClass: 77,
  clientArchitecture: 93,
  clientNetworkInterface: 94,
  clientMachineId: 97,
  ipxeEncapsulated: 175,
} as const;

export const MESSAGE_TYPE = { discover: 1, offer: 2, request: 3, decline: 4, ack: 5, nak: 6, release: 7, inform: 8 } as const;
export type MessageType = keyof typeof MESSAGE_TYPE;
const MESSAGE_TYPE_NAMES = Object.fromEntries(Object.entries(MESSAGE_TYPE).map(([name, code]) => [code, name])) as Record<number, MessageType>;

/** Client system architectures of option 93 (RFC 4578 and the IANA registry). */
export const ARCHITECTURE = { biosX86: 0, efiIa32: 6, efiX64: 7, efiBc: 9, efiArm64: 11, efiX64Http: 16, efiArm64Http: 19 } as const;

export function messageType(msg: DhcpMessage): MessageType | null {
  const v = msg.options.get(OPTION.messageType);
  return v?.length === 1 ? (MESSAGE_TYPE_NAMES[v[0] as number] ?? null) : null;
}

/** An option holding one IPv4 address (requested address, server identifier…). */
export function ipv4Option(msg: DhcpMessage, code: number): string | null {
  const v = msg.options.get(code);
  return v?.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : null;
}

/** Printable-ASCII text of an option (vendor class, host name); null when absent, empty or not text. */
export function textOption(msg: DhcpMessage, code: number): string | null {
  const v = msg.options.get(code);
  if (!v || v.length === 0 || v.some((b) => b < 0x20 || b > 0x7e)) return null;
  return v.toString('latin1');
}

/** Option 55: the option codes the client asks for, in its order. */
export function parameterRequestList(msg: DhcpMessage): number[] {
  return [...(msg.options.get(OPTION.parameterRequestList) ?? [])];
}

/** Option 57: the largest message the client accepts (never below the 576 every client must take). */
export function maxMessageSize(msg: DhcpMessage): number | null {
  const v = msg.options.get(OPTION.maxMessageSize);
  return v?.length === 2 && v.readUInt16BE(0) >= 576 ? v.readUInt16BE(0) : null;
}

/** Option 93: the client's architectures (a list of 16-bit types; most clients send one). */
export function clientArchitectures(msg: DhcpMessage): number[] {
  const v = msg.options.get(OPTION.clientArchitecture);
  if (!v || v.length === 0 || v.length % 2 !== 0) return [];
  return Array.from({ length: v.length / 2 }, (_, i) => v.readUInt16BE(i * 2));
}

/** A PXE client says so in option 60: "PXEClient" (firmware), possibly followed by ":Arch:…". */
export function isPxeClient(msg: DhcpMessage): boolean {
  return textOption(msg, OPTION.vendorClass)?.startsWith('PXEClient') === true;
}

/**
 * Option 77. RFC 3004 makes it a list of length-prefixed class names, but iPXE (and other
 * firmware) sends one bare name such as "iPXE": read as a list when it is one exactly, else
 * as one name.
 */
export function userClasses(msg: DhcpMessage): string[] {
  const v = msg.options.get(OPTION.userClass);
  if (!v || v.length === 0) return [];
  const list: string[] = [];
  for (let at = 0; at < v.length; ) {
    const n = v[at] as number;
    if (n === 0 || at + 1 + n > v.length) return textOption(msg, OPTION.userClass) ? [v.toString('latin1')] : [];
    list.push(v.subarray(at + 1, at + 1 + n).toString('latin1'));
    at += 1 + n;
  }
  return list.every((c) => /^[\x20-\x7e]+$/.test(c)) ? list : [];
}

/** Whether the client is iPXE already (it sets user class "iPXE"): it gets a script, not the iPXE binary again. */
export function isIpxe(msg: DhcpMessage): boolean {
  return userClasses(msg).includes('iPXE');
}

/** Option 97: type 0 and a 16-byte machine identifier (the SMBIOS UUID), as 32 hex digits. */
export function clientMachineId(msg: DhcpMessage): string | null {
  const v = msg.options.get(OPTION.clientMachineId);
  return v?.length === 17 && v[0] === 0 ? v.subarray(1).toString('hex') : null;
}

/** The hardware address as aa:bb:cc:dd:ee:ff (Ethernet), or null for another kind. */
export function macAddress(msg: DhcpMessage): string | null {
  if (msg.htype !== 1 || msg.hlen !== 6) return null;
  return [...msg.chaddr].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Option values for replies. */
export const value = {
  ipv4: (address: string): Buffer => ipv4Bytes(address),
  ipv4List: (addresses: string[]): Buffer => Buffer.concat(addresses.map(ipv4Bytes)),
  u32: (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  },
  text: (s: string): Buffer => {
    if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError(`option text must be printable ASCII: ${JSON.stringify(s)}`);
    return Buffer.from(s, 'latin1');
  },
  messageType: (t: MessageType): Buffer => Buffer.from([MESSAGE_TYPE[t]]),
};
