// A DHCP client built on the codec, for tests and the bench, run inside a network
// namespace (it binds port 68 and broadcasts). Every request sets the broadcast flag, so
// servers answer by broadcast whatever MAC the request names.
//   node --import tsx test/helpers/dhcp-client.ts '<json>'
//   {"mode":"offers", "mac":"52:54:..", "arch":7, "ipxe":false, "ms":1500}
//       one PXE DISCOVER; prints every reply seen within ms, then {"done":true}
//   {"mode":"pxe", "mac":.., "arch":.., "iface":"x", "ms":..}
//       what a PXE ROM does beside a ProxyDHCP server: DISCOVER, take the offer with an
//       address, REQUEST it, put the address on iface, REQUEST boot information from the
//       ProxyDHCP server on port 4011; prints each step's reply
//   {"mode":"load", "count":500, "ms":20000, "base":1, "iface":"x"}
//       count distinct MACs DISCOVER→OFFER→REQUEST→ACK at once (retries after 1 s);
//       prints {"completed":n,"count":…,"ms":time to the last ACK}
//   {"mode":"fuzz", "count":20000, "seed":1, "server":"10.0.0.1"}
//       random, truncated and mutated packets to 255.255.255.255:67 and server:4011
import { execFileSync } from 'node:child_process';
import { type Socket, createSocket } from 'node:dgram';
import { type DhcpMessage, decodeDhcp, encodeDhcp } from '../../src/boot/dhcp/codec.js';
import { udpSocketOnDevice } from '../../src/boot/native/index.js';
import { MESSAGE_TYPE, type MessageType, OPTION, ipv4Option, messageType, textOption, value } from '../../src/boot/dhcp/options.js';

const args = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const macBytes = (mac: string) => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));

function message(type: MessageType, mac: Buffer, xid: number, extra: Array<[number, Buffer]> = [], over: Partial<DhcpMessage> = {}): Buffer {
  const options = new Map<number, Buffer>([[OPTION.messageType, Buffer.from([MESSAGE_TYPE[type]])], ...extra]);
  return encodeDhcp({ op: 'request', htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: 0x8000, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: mac, sname: '', file: '', options, ...over });
}

const pxeOptions = (arch: number, ipxe: boolean): Array<[number, Buffer]> => [
  [OPTION.vendorClass, value.text(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003016`)],
  [OPTION.clientArchitecture, Buffer.from([arch >> 8, arch & 255])],
  [OPTION.clientMachineId, Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0x5a)])],
  ...(ipxe ? ([[OPTION.userClass, Buffer.from('iPXE')]] as Array<[number, Buffer]>) : []),
];

function summary(m: DhcpMessage, from: string) {
  return { from, type: messageType(m), xid: m.xid, yiaddr: m.yiaddr, siaddr: m.siaddr, file: m.file, serverId: ipv4Option(m, OPTION.serverId), vendorClass: textOption(m, OPTION.vendorClass) };
}

async function open(port: number): Promise<Socket> {
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => s.bind(port, '0.0.0.0', () => resolve()));
  s.setBroadcast(true);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Replies to `xid` until `ms` passes or `until` says enough. */
function collect(s: Socket, xid: number, ms: number, until: (seen: Array<ReturnType<typeof summary>>) => boolean = () => false) {
  return new Promise<Array<ReturnType<typeof summary>>>((resolve) => {
    const seen: Array<ReturnType<typeof summary>> = [];
    const done = () => {
      clearTimeout(timer);
      s.off('message', on);
      resolve(seen);
    };
    const on = (b: Buffer, r: { address: string }) => {
      try {
        const m = decodeDhcp(b);
        if (m.op === 'reply' && m.xid === xid) seen.push(summary(m, r.address));
      } catch {
        return;
      }
      if (until(seen)) done();
    };
    const timer = setTimeout(done, ms);
    s.on('message', on);
  });
}

async function offers(): Promise<void> {
  const s = await open(68);
  const xid = 0x10000 + (process.pid & 0xffff);
  const got = collect(s, xid, Number(args.ms ?? 1500));
  s.send(message('discover', macBytes(String(args.mac)), xid, pxeOptions(Number(args.arch ?? 0), args.ipxe === true)), 67, '255.255.255.255', (err) => err && out({ error: err.message }));
  for (const r of await got) out(r);
  s.close();
}

async function pxe(): Promise<void> {
  const s = await open(68);
  const mac = macBytes(String(args.mac));
  const xid = 0x20000 + (process.pid & 0xffff);
  const opts = pxeOptions(Number(args.arch ?? 0), false);
  const ms = Number(args.ms ?? 3000);
  const seen = collect(s, xid, ms, (all) => all.some((o) => o.yiaddr !== '0.0.0.0') && all.some((o) => o.yiaddr === '0.0.0.0'));
  s.send(message('discover', mac, xid, opts), 67, '255.255.255.255');
  const all = await seen;
  for (const o of all) out({ step: 'offer', ...o });
  const dhcp = all.find((o) => o.type === 'offer' && o.yiaddr !== '0.0.0.0');
  const proxy = all.find((o) => o.type === 'offer' && o.yiaddr === '0.0.0.0' && o.vendorClass === 'PXEClient');
  if (!dhcp?.serverId) {
    out({ error: 'no offer with an address' });
    s.close();
    return;
  }
  const acked = collect(s, xid, ms, (r) => r.some((o) => o.type === 'ack' || o.type === 'nak'));
  s.send(message('request', mac, xid, [...opts, [OPTION.serverId, value.ipv4(dhcp.serverId)], [OPTION.requestedAddress, value.ipv4(dhcp.yiaddr)]]), 67, '255.255.255.255');
  for (const a of await acked) out({ step: 'request', ...a });
  if (!proxy?.serverId) {
    out({ error: 'no ProxyDHCP offer' });
    s.close();
    return;
  }
  execFileSync('ip', ['addr', 'add', `${dhcp.yiaddr}/24`, 'dev', String(args.iface)]);
  const boot = collect(s, xid + 1, ms, (r) => r.length > 0);
  s.send(message('request', mac, xid + 1, opts, { ciaddr: dhcp.yiaddr, flags: 0 }), 4011, proxy.serverId);
  for (const b of await boot) out({ step: 'boot', ...b });
  s.close();
}

async function load(): Promise<void> {
  // On a device, the socket gets a 2 MiB receive buffer: 500 answers at once are not lost here.
  const s = args.iface ? await udpSocketOnDevice(String(args.iface), 68) : await open(68);
  const count = Number(args.count ?? 500);
  const base = Number(args.base ?? 1);
  const state = new Map<number, { mac: Buffer; stage: 'discover' | 'request' | 'done'; server?: string; address?: string; sentAt: number; tries: number }>();
  const t0 = performance.now();
  let last = t0;
  let completed = 0;
  const send = (xid: number) => {
    const c = state.get(xid);
    if (!c || c.stage === 'done') return;
    c.sentAt = performance.now();
    c.tries++;
    const bytes = c.stage === 'discover' ? message('discover', c.mac, xid) : message('request', c.mac, xid, [[OPTION.serverId, value.ipv4(c.server as string)], [OPTION.requestedAddress, value.ipv4(c.address as string)]]);
    s.send(bytes, 67, '255.255.255.255');
  };
  s.on('message', (b) => {
    let m: DhcpMessage;
    try {
      m = decodeDhcp(b);
    } catch {
      return;
    }
    const c = state.get(m.xid);
    if (!c || m.op !== 'reply') return;
    const t = messageType(m);
    if (t === 'offer' && c.stage === 'discover') {
      c.stage = 'request';
      c.server = ipv4Option(m, OPTION.serverId) ?? m.siaddr;
      c.address = m.yiaddr;
      c.tries = 0;
      send(m.xid);
    } else if (t === 'ack' && c.stage === 'request') {
      c.stage = 'done';
      completed++;
      last = performance.now();
    } else if (t === 'nak' && c.stage === 'request') {
      c.stage = 'discover';
      send(m.xid);
    }
  });
  for (let i = 0; i < count; i++) {
    const n = base * 65536 + i;
    const xid = 0x30000000 + n;
    state.set(xid, { mac: Buffer.from([0x02, 0x4c, 0x42, (n >> 16) & 255, (n >> 8) & 255, n & 255]), stage: 'discover', sentAt: 0, tries: 0 });
    send(xid);
  }
  const deadline = t0 + Number(args.ms ?? 20000);
  while (completed < count && performance.now() < deadline) {
    await sleep(100);
    const now = performance.now();
    for (const [xid, c] of state) if (c.stage !== 'done' && now - c.sentAt > 1000 && c.tries < 4) send(xid);
  }
  out({ completed, count, ms: Math.round(last - t0) });
  s.close();
}

/** xorshift32: the same packets for the same seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

async function fuzz(): Promise<void> {
  const s = await open(0);
  const rand = rng(Number(args.seed ?? 1));
  const int = (n: number) => Math.floor(rand() * n);
  const count = Number(args.count ?? 20000);
  const server = String(args.server);
  const valid = message('discover', Buffer.from([2, 0, 0, 0, 0, 1]), 7, pxeOptions(7, true));
  for (let i = 0; i < count; i++) {
    let p: Buffer;
    switch (i % 4) {
      case 0:
        p = Buffer.from(Array.from({ length: int(700) }, () => int(256)));
        break;
      case 1:
        p = valid.subarray(0, int(valid.length));
        break;
      case 2: {
        p = Buffer.from(valid);
        for (let k = 1 + int(8); k > 0; k--) p[240 + int(p.length - 240)] = int(256);
        break;
      }
      default: {
        p = Buffer.from(valid);
        for (let k = 1 + int(4); k > 0; k--) p[int(p.length)] = int(256);
      }
    }
    s.send(p, i % 2 === 0 ? 67 : 4011, i % 2 === 0 ? '255.255.255.255' : server);
    if (i % 50 === 49) await sleep(10);
  }
  await sleep(200);
  s.close();
}

const modes: Record<string, () => Promise<void>> = { offers, pxe, load, fuzz };
const run = modes[String(args.mode)];
if (!run) throw new Error(`mode must be one of ${Object.keys(modes).join(', ')}`);
await run();
out({ done: true });
