import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DhcpMessage, decodeDhcp, encodeDhcp } from './codec.js';
import { type DhcpContext, clientKey, decide } from './decide.js';
import { MemoryLeaseStore } from './lease-store.js';
import { MESSAGE_TYPE, OPTION, type MessageType, ipv4Option, messageType, textOption } from './options.js';

const NOW = new Date('2026-12-03T10:00:00.000Z');
const SERVER = '10.9.0.1';

function request(type: MessageType, over: Partial<DhcpMessage> & { mac?: number; extra?: Array<[number, Buffer]> } = {}): DhcpMessage {
  const { mac = 1, extra = [], ...fields } = over;
  return {
    op: 'request',
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x1234 + mac,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Buffer.from([0x52, 0x54, 0, 0, 0, mac]),
    sname: '',
    file: '',
    options: new Map<number, Buffer>([[OPTION.messageType, Buffer.from([MESSAGE_TYPE[type]])], ...extra]),
    ...fields,
  };
}

const pxe = (arch: number): Array<[number, Buffer]> => [
  [OPTION.vendorClass, Buffer.from(`PXEClient:Arch:0000${arch}:UNDI:002001`)],
  [OPTION.clientArchitecture, Buffer.from([0, arch])],
  [OPTION.clientMachineId, Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0xab)])],
];
const ipxeClass: [number, Buffer] = [OPTION.userClass, Buffer.from('iPXE')];
const ip = (a: string) => Buffer.from(a.split('.').map(Number));

function context(over: Partial<DhcpContext> = {}): DhcpContext {
  return {
    mode: 'full',
    server: { address: SERVER, netmask: '255.255.255.0' },
    range: { start: '10.9.0.1', end: '10.9.0.4' },
    router: ['10.9.0.254'],
    dns: ['10.9.0.53'],
    domain: 'lab.example',
    leaseSeconds: 3600,
    offerSeconds: 60,
    declineSeconds: 600,
    httpPort: 8080,
    leases: new MemoryLeaseStore(),
    machine: null,
    now: NOW,
    port: 67,
    source: { address: '0.0.0.0', port: 68 },
    ...over,
  };
}

/** The reply as a client would see it: encoded and decoded again. */
function wire(d: ReturnType<typeof decide>): DhcpMessage {
  assert.ok(d.reply, `expected a reply, got silence: ${d.note}`);
  return decodeDhcp(encodeDhcp(d.reply.message, d.reply.maxLength));
}

test('full DISCOVER from a BIOS PXE ROM: an offer of the first free address (not ours), boot file, options, broadcast', () => {
  const d = decide(request('discover', { extra: pxe(0) }), context());
  const m = wire(d);
  assert.equal(messageType(m), 'offer');
  assert.equal(m.yiaddr, '10.9.0.2', 'the server address in the range is skipped');
  assert.equal(m.siaddr, SERVER);
  assert.equal(m.file, 'undionly.kpxe');
  assert.equal(ipv4Option(m, OPTION.serverId), SERVER);
  assert.equal(ipv4Option(m, OPTION.subnetMask), '255.255.255.0');
  assert.equal(ipv4Option(m, OPTION.router), '10.9.0.254');
  assert.equal(ipv4Option(m, OPTION.dnsServers), '10.9.0.53');
  assert.equal(textOption(m, OPTION.domainName), 'lab.example');
  assert.equal(m.options.get(OPTION.leaseTime)?.readUInt32BE(0), 3600);
  assert.equal(textOption(m, OPTION.vendorClass), 'PXEClient');
  assert.deepEqual([...(m.options.get(OPTION.vendorSpecific) ?? [])], [6, 1, 8, 255]);
  assert.deepEqual(d.reply?.to, { address: '255.255.255.255', port: 68 });
  assert.deepEqual(d.lease, { op: 'allocate', lease: { clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.2', expiresAt: '2026-12-03T10:01:00.000Z' } });
});

test('full mode: boot file by architecture and the machine loader; iPXE gets the script and 175.176', () => {
  const file = (extra: Array<[number, Buffer]>, loader?: 'auto' | 'ipxe' | 'ipxe-full' | 'signed') => wire(decide(request('discover', { extra }), context({ machine: loader ? { loader } : null })));
  assert.equal(file(pxe(7)).file, 'shimx64.efi');
  assert.equal(file(pxe(7), 'ipxe').file, 'snponly.efi');
  assert.equal(file(pxe(7), 'ipxe-full').file, 'ipxe.efi');
  assert.equal(file(pxe(0), 'signed').file, 'undionly.kpxe');
  const ipxe = file([...pxe(7), ipxeClass], 'ipxe');
  assert.equal(ipxe.file, 'http://10.9.0.1:8080/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}');
  assert.deepEqual([...(ipxe.options.get(OPTION.ipxeEncapsulated) ?? [])], [176, 1, 1]);
  assert.equal(ipxe.options.get(OPTION.vendorSpecific), undefined, 'no PXE menu options for iPXE');
});

test('full mode: a plain DHCP client gets an address and no boot information; an unknown arch gets an address and a note', () => {
  const m = wire(decide(request('discover'), context()));
  assert.equal(m.yiaddr, '10.9.0.2');
  assert.equal(m.file, '');
  assert.equal(m.siaddr, '0.0.0.0');
  assert.equal(m.options.get(OPTION.vendorClass), undefined);
  const arm = decide(request('discover', { extra: pxe(11) }), context());
  assert.equal(wire(arm).file, '');
  assert.match(arm.note ?? '', /ARM64 UEFI.*not one Lifeboat boots/);
});

test('full DISCOVER: the client keeps its address, a free requested one is honoured, a fixed one wins, a taken one is skipped', async () => {
  const leases = new MemoryLeaseStore();
  await leases.renew({ clientKey: 'mac-52:54:00:00:00:02', mac: '52:54:00:00:00:02', address: '10.9.0.2', expiresAt: '2026-12-03T11:00:00.000Z' }, NOW);
  await leases.renew({ clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.4', expiresAt: '2026-12-03T09:00:00.000Z' }, NOW);
  const ctx = context({ leases });
  assert.equal(wire(decide(request('discover', { mac: 1 }), ctx)).yiaddr, '10.9.0.4', 'its own expired lease, still free');
  assert.equal(wire(decide(request('discover', { mac: 3, extra: [[OPTION.requestedAddress, ip('10.9.0.2')]] }), ctx)).yiaddr, '10.9.0.3', 'requested but taken');
  assert.equal(wire(decide(request('discover', { mac: 3, extra: [[OPTION.requestedAddress, ip('10.9.0.4')]] }), ctx)).yiaddr, '10.9.0.4', 'requested, expired holder');
  assert.equal(wire(decide(request('discover', { mac: 3 }), context({ leases, machine: { loader: 'auto', fixedAddress: '10.9.0.77' } }))).yiaddr, '10.9.0.77', 'fixed, outside the range');
  const takenFixed = decide(request('discover', { mac: 3 }), context({ leases, machine: { loader: 'auto', fixedAddress: '10.9.0.2' } }));
  assert.equal(takenFixed.reply, null);
  assert.match(takenFixed.note ?? '', /fixed address 10\.9\.0\.2 .* is taken/);
});

test('fixed addresses: only their machine gets them, in every state; another address from it is NAKed', async () => {
  const leases = new MemoryLeaseStore();
  const reserved = new Set(['10.9.0.2', '10.9.0.77']);
  const fixedMachine = { loader: 'auto' as const, fixedAddress: '10.9.0.77' };
  const stranger = context({ leases, reserved });
  // nobody else is offered a reserved address, even one inside the range or asked for
  assert.equal(wire(decide(request('discover', { mac: 5 }), stranger)).yiaddr, '10.9.0.3', 'the range skips the reserved 10.9.0.2');
  assert.equal(wire(decide(request('discover', { mac: 5, extra: [[OPTION.requestedAddress, ip('10.9.0.2')]] }), stranger)).yiaddr, '10.9.0.3');
  assert.equal(decide(request('discover', { mac: 5, extra: [[OPTION.requestedAddress, ip('10.9.0.77')]] }), stranger).reply?.message.yiaddr, '10.9.0.3');
  // a client holding a lease on an address that became reserved is NAKed when it renews
  await leases.renew({ clientKey: 'mac-52:54:00:00:00:06', mac: '52:54:00:00:00:06', address: '10.9.0.2', expiresAt: '2026-12-03T10:30:00.000Z' }, NOW);
  assert.equal(messageType(wire(decide(request('request', { mac: 6, ciaddr: '10.9.0.2' }), stranger))), 'nak');
  assert.equal(messageType(wire(decide(request('request', { mac: 6, extra: [[OPTION.requestedAddress, ip('10.9.0.2')]] }), stranger))), 'nak');
  // the machine itself: offered its address, ACKed for it in every REQUEST state, NAKed for any other
  const own = context({ leases, reserved, machine: fixedMachine });
  const offer = decide(request('discover', { mac: 7, extra: [[OPTION.requestedAddress, ip('10.9.0.4')]] }), own);
  assert.equal(wire(offer).yiaddr, '10.9.0.77', 'its fixed address, not the one it asked for');
  const select = (addr: string) => request('request', { mac: 7, extra: [[OPTION.serverId, ip(SERVER)], [OPTION.requestedAddress, ip(addr)]] });
  const other = decide(select('10.9.0.4'), own);
  assert.equal(messageType(wire(other)), 'nak');
  assert.match(textOption(wire(other), OPTION.message) ?? '', /10\.9\.0\.4 is not the address of this machine \(its fixed address is 10\.9\.0\.77\)/);
  assert.deepEqual(other.reply?.to, { address: '255.255.255.255', port: 68 });
  assert.equal(wire(decide(select('10.9.0.77'), own)).yiaddr, '10.9.0.77');
  const reboot = (addr: string) => request('request', { mac: 7, extra: [[OPTION.requestedAddress, ip(addr)]] });
  assert.equal(messageType(wire(decide(reboot('10.9.0.3'), own))), 'nak', 'INIT-REBOOT for another address, with no lease on record: NAK (the machine is on record)');
  assert.equal(wire(decide(reboot('10.9.0.77'), own)).yiaddr, '10.9.0.77', 'INIT-REBOOT for its fixed address without a lease: ACK');
  assert.equal(messageType(wire(decide(request('request', { mac: 7, ciaddr: '10.9.0.3' }), own))), 'nak', 'RENEWING another address');
  const renew = decide(request('request', { mac: 7, ciaddr: '10.9.0.77' }), own);
  assert.equal(messageType(wire(renew)), 'ack');
  assert.equal(renew.lease?.op, 'renew');
  const withId = decide(request('request', { mac: 7, ciaddr: '10.9.0.77', extra: [[OPTION.clientId, Buffer.from([1, 0x52, 0x54, 0, 0, 0, 7])]] }), own);
  assert.equal(withId.lease?.op === 'renew' && withId.lease.lease.clientKey, 'mac-52:54:00:00:00:07', 'a fixed lease is kept under the MAC, whatever client identifier comes');
  // a fixed machine booting from another subnet (a relay) is served from that subnet's range
  const relayed = context({ leases, reserved, machine: { loader: 'auto', fixedAddress: '192.168.7.9' } });
  assert.equal(wire(decide(request('discover', { mac: 8 }), relayed)).yiaddr, '10.9.0.3', 'its fixed address is not on this subnet: a dynamic one');
});

test('full DISCOVER with the range used up is silence, with a note', async () => {
  const leases = new MemoryLeaseStore();
  for (const [n, a] of [[7, '10.9.0.2'], [8, '10.9.0.3'], [9, '10.9.0.4']] as const) {
    await leases.allocate({ clientKey: `mac-${n}`, mac: `m${n}`, address: a, expiresAt: '2026-12-03T10:00:30.000Z' }, NOW);
  }
  const d = decide(request('discover'), context({ leases }));
  assert.equal(d.reply, null);
  assert.match(d.note ?? '', /no free address left in 10\.9\.0\.1-10\.9\.0\.4/);
});

test('full REQUEST (selecting): ACK for what we offered, NAK otherwise, silence and a withdrawn offer when another server was chosen', async () => {
  const leases = new MemoryLeaseStore();
  await leases.allocate({ clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.3', expiresAt: '2026-12-03T10:01:00.000Z' }, NOW);
  const ctx = context({ leases });
  const select = (server: string, addr: string) => request('request', { extra: [[OPTION.serverId, ip(server)], [OPTION.requestedAddress, ip(addr)], ...pxe(0)] });
  const ok = decide(select(SERVER, '10.9.0.3'), ctx);
  const m = wire(ok);
  assert.equal(messageType(m), 'ack');
  assert.equal(m.yiaddr, '10.9.0.3');
  assert.equal(m.file, 'undionly.kpxe');
  assert.deepEqual(ok.lease, { op: 'renew', lease: { clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.3', expiresAt: '2026-12-03T11:00:00.000Z' } });
  const bad = decide(select(SERVER, '10.9.0.4'), ctx);
  const nak = wire(bad);
  assert.equal(messageType(nak), 'nak');
  assert.equal(nak.yiaddr, '0.0.0.0');
  assert.equal(nak.file, '');
  assert.match(textOption(nak, OPTION.message) ?? '', /was not offered/);
  assert.deepEqual(bad.reply?.to, { address: '255.255.255.255', port: 68 });
  assert.equal(bad.lease, null);
  const other = decide(select('10.9.0.200', '10.9.0.3'), ctx);
  assert.equal(other.reply, null);
  assert.deepEqual(other.lease, { op: 'release', clientKey: 'mac-52:54:00:00:00:01' });
});

test('full INIT-REBOOT: wrong network NAK, unknown client silence, its own address ACK', async () => {
  const leases = new MemoryLeaseStore();
  await leases.renew({ clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.3', expiresAt: '2026-12-03T10:30:00.000Z' }, NOW);
  const ctx = context({ leases });
  const reboot = (mac: number, addr: string) => request('request', { mac, extra: [[OPTION.requestedAddress, ip(addr)]] });
  assert.equal(messageType(wire(decide(reboot(1, '192.168.1.5'), ctx))), 'nak');
  const unknown = decide(reboot(5, '10.9.0.4'), ctx);
  assert.equal(unknown.reply, null);
  assert.match(unknown.note ?? '', /no lease here/);
  assert.equal(messageType(wire(decide(reboot(1, '10.9.0.4'), ctx))), 'nak');
  const ack = decide(reboot(1, '10.9.0.3'), ctx);
  assert.equal(wire(ack).yiaddr, '10.9.0.3');
  assert.deepEqual(ack.reply?.to, { address: '255.255.255.255', port: 68 });
});

test('full RENEW: ACK unicast to ciaddr; a taken address NAK; a stranger silence; DECLINE, RELEASE, INFORM', async () => {
  const leases = new MemoryLeaseStore();
  await leases.renew({ clientKey: 'mac-52:54:00:00:00:01', mac: '52:54:00:00:00:01', address: '10.9.0.3', expiresAt: '2026-12-03T10:30:00.000Z' }, NOW);
  const ctx = context({ leases });
  const renew = decide(request('request', { ciaddr: '10.9.0.3' }), ctx);
  assert.equal(wire(renew).ciaddr, '10.9.0.3');
  assert.deepEqual(renew.reply?.to, { address: '10.9.0.3', port: 68 });
  assert.equal(messageType(wire(decide(request('request', { mac: 2, ciaddr: '10.9.0.3' }), ctx))), 'nak');
  assert.equal(decide(request('request', { mac: 2, ciaddr: '10.9.0.4' }), ctx).reply, null);

  const decline = decide(request('decline', { extra: [[OPTION.serverId, ip(SERVER)], [OPTION.requestedAddress, ip('10.9.0.3')]] }), ctx);
  assert.equal(decline.reply, null);
  assert.deepEqual(decline.lease, { op: 'decline', address: '10.9.0.3', until: '2026-12-03T10:10:00.000Z' });
  assert.equal(decide(request('decline', { extra: [[OPTION.serverId, ip('10.9.0.9')], [OPTION.requestedAddress, ip('10.9.0.3')]] }), ctx).lease, null, 'not ours');

  assert.deepEqual(decide(request('release', { ciaddr: '10.9.0.3', extra: [[OPTION.serverId, ip(SERVER)]] }), ctx).lease, { op: 'release', clientKey: 'mac-52:54:00:00:00:01' });
  assert.equal(decide(request('release', { mac: 2, ciaddr: '10.9.0.3', extra: [[OPTION.serverId, ip(SERVER)]] }), ctx).lease, null, "another client's lease is not released");

  const inform = decide(request('inform', { mac: 7, ciaddr: '10.9.0.50' }), ctx);
  const m = wire(inform);
  assert.equal(messageType(m), 'ack');
  assert.equal(m.yiaddr, '0.0.0.0');
  assert.equal(m.options.get(OPTION.leaseTime), undefined);
  assert.deepEqual(inform.reply?.to, { address: '10.9.0.50', port: 68 });
  assert.equal(inform.lease, null);
});

test('proxy mode: PXE clients get boot information and no address; others and REQUESTs for the site server get silence', () => {
  const ctx = context({ mode: 'proxy', range: undefined, router: undefined, dns: undefined, domain: undefined });
  const d = decide(request('discover', { extra: pxe(7) }), ctx);
  const m = wire(d);
  assert.equal(messageType(m), 'offer');
  assert.equal(m.yiaddr, '0.0.0.0');
  assert.equal(m.siaddr, SERVER);
  assert.equal(m.file, 'shimx64.efi');
  assert.equal(textOption(m, OPTION.vendorClass), 'PXEClient');
  assert.deepEqual(m.options.get(OPTION.clientMachineId), Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0xab)]), 'the UUID echoed');
  for (const code of [OPTION.leaseTime, OPTION.subnetMask, OPTION.router]) assert.equal(m.options.get(code), undefined);
  assert.equal(d.lease, null);
  assert.equal(decide(request('discover'), ctx).reply, null);
  assert.equal(decide(request('request', { extra: [[OPTION.serverId, ip('10.9.0.200')], ...pxe(7)] }), ctx).reply, null);
  assert.equal(wire(decide(request('discover', { extra: [...pxe(0), ipxeClass] }), ctx)).file, 'http://10.9.0.1:8080/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}');
});

test('port 4011: a PXE REQUEST gets an ACK with the boot file, back to where it came from', () => {
  for (const mode of ['proxy', 'full'] as const) {
    const d = decide(request('request', { ciaddr: '10.9.0.77', extra: pxe(7) }), context({ mode, port: 4011, source: { address: '10.9.0.77', port: 68 }, machine: { loader: 'ipxe' } }));
    const m = wire(d);
    assert.equal(messageType(m), 'ack');
    assert.equal(m.file, 'snponly.efi');
    assert.equal(m.yiaddr, '0.0.0.0');
    assert.deepEqual(d.reply?.to, { address: '10.9.0.77', port: 68 });
  }
  assert.equal(decide(request('discover', { extra: pxe(7) }), context({ port: 4011 })).reply, null);
  assert.equal(decide(request('request', { ciaddr: '10.9.0.77' }), context({ port: 4011 })).reply, null);
});

test('relay agents: the reply goes to giaddr:67 with giaddr as router; a relay of another subnet gets silence', () => {
  const ctx = context({ range: { start: '10.20.0.10', end: '10.20.0.20' }, router: undefined });
  const d = decide(request('discover', { giaddr: '10.20.0.1', hops: 1, extra: pxe(0) }), ctx);
  const m = wire(d);
  assert.equal(m.yiaddr, '10.20.0.10');
  assert.equal(m.giaddr, '10.20.0.1');
  assert.equal(ipv4Option(m, OPTION.router), '10.20.0.1');
  assert.deepEqual(d.reply?.to, { address: '10.20.0.1', port: 67 });
  assert.equal(decide(request('discover', { giaddr: '10.30.0.1' }), ctx).reply, null);
  const proxied = decide(request('discover', { giaddr: '10.30.0.1', extra: pxe(0) }), context({ mode: 'proxy' }));
  assert.deepEqual(proxied.reply?.to, { address: '10.30.0.1', port: 67 });
});

test('what is not a client request is silence: a reply, no message type, not Ethernet, too many hops', () => {
  const ctx = context();
  assert.equal(decide({ ...request('discover'), op: 'reply' }, ctx).reply, null);
  const untyped = request('discover');
  untyped.options.delete(OPTION.messageType);
  assert.match(decide(untyped, ctx).note ?? '', /BOOTP/);
  assert.equal(decide({ ...request('discover'), htype: 6 }, ctx).reply, null);
  assert.equal(decide({ ...request('discover'), hops: 17 }, ctx).reply, null);
  assert.equal(decide(request('offer'), ctx).reply, null);
});

test('client key: option 61 when sent, else the MAC', () => {
  assert.equal(clientKey(request('discover')), 'mac-52:54:00:00:00:01');
  assert.equal(clientKey(request('discover', { extra: [[OPTION.clientId, Buffer.from([1, 0x52, 0x54, 0, 0, 0, 1])]] })), 'id-01525400000001');
});

test('a client that takes only 576 bytes still gets every reply', () => {
  const m = request('discover', { extra: [...pxe(7), ipxeClass, [OPTION.maxMessageSize, Buffer.from([0x02, 0x40])]] });
  const d = decide(m, context());
  assert.ok(d.reply && encodeDhcp(d.reply.message, d.reply.maxLength).length <= 576);
});

test('fuzz: decide() over 20 000 mutated requests never throws, and every reply encodes', async () => {
  let x = 0x2545f491;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  const int = (n: number) => Math.floor(rand() * n);
  const leases = new MemoryLeaseStore();
  const seeds = (['discover', 'request', 'decline', 'release', 'inform'] as const).map((t) =>
    encodeDhcp(request(t, { mac: 9, ciaddr: t === 'inform' || t === 'release' ? '10.9.0.3' : '0.0.0.0', extra: [...pxe(7), ipxeClass, [OPTION.serverId, ip(SERVER)], [OPTION.requestedAddress, ip('10.9.0.3')]] })),
  );
  let decoded = 0;
  let replies = 0;
  for (let i = 0; i < 20_000; i++) {
    const p = Buffer.from(seeds[i % seeds.length] as Buffer);
    for (let k = 1 + int(6); k > 0; k--) p[i % 3 === 0 ? int(p.length) : 236 + int(p.length - 236)] = int(256);
    let m: DhcpMessage;
    try {
      m = decodeDhcp(p);
    } catch {
      continue;
    }
    decoded++;
    for (const mode of ['full', 'proxy'] as const) {
      const d = decide(m, context({ mode, leases, port: i % 7 === 0 ? 4011 : 67, machine: i % 2 ? { loader: 'ipxe', fixedAddress: '10.9.0.4' } : null }));
      if (d.reply) {
        replies++;
        assert.ok(encodeDhcp(d.reply.message, d.reply.maxLength).length >= 300);
      }
      if (d.lease?.op === 'allocate' || d.lease?.op === 'renew') await leases.renew(d.lease.lease, NOW).catch(() => undefined);
    }
  }
  assert.ok(decoded > 5_000 && replies > 1_000, `decoded ${decoded}, replies ${replies}`);
});
