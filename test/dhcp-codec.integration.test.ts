// The DHCP codec against a real client: busybox udhcpc in a network namespace behind a veth
// pair that the test creates and removes. What udhcpc sends must decode (its MAC, its
// vendor class, its options), and what the codec encodes must be good enough for udhcpc
// to take the lease: DISCOVER → OFFER → REQUEST → ACK, and udhcpc exits with the address.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { type DhcpMessage, decodeDhcp, encodeDhcp } from '../src/boot/dhcp/codec.js';
import { OPTION, clientArchitectures, macAddress, messageType, textOption, value } from '../src/boot/dhcp/options.js';
import { sh } from './helpers/cli.js';

const BUSYBOX = '/bin/busybox';
const skip = process.getuid?.() !== 0 ? 'needs root for a network namespace' : spawnSync(BUSYBOX, ['udhcpc', '--help']).status === null ? 'busybox-static is not installed (make apt installs it)' : false;

test('udhcpc takes a lease from messages this codec encodes, and its own messages decode', { skip, timeout: 60_000 }, async () => {
  const tag = `lbd${process.pid % 100000}`;
  const ns = `${tag}ns`;
  const host = `${tag}h`;
  const client = `${tag}c`;
  const net = `10.213.${process.pid % 250}`;
  const server = `${net}.1`;
  const lease = `${net}.20`;
  sh(`ip netns add ${ns}`);
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    sh(`ip link add ${host} type veth peer name ${client} && ip link set ${client} netns ${ns}`);
    sh(`ip addr add ${server}/24 dev ${host} && ip link set ${host} up && ip -n ${ns} link set ${client} up && ip -n ${ns} link set lo up`);
    const clientMac = sh(`ip -n ${ns} -o link show ${client}`).match(/link\/ether ([0-9a-f:]{17})/)?.[1];
    assert.ok(clientMac, 'the client side has a MAC address');

    const seen: DhcpMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(67, '0.0.0.0', () => resolve());
    });
    socket.setBroadcast(true);
    socket.on('message', (bytes) => {
      let m: DhcpMessage;
      try {
        m = decodeDhcp(bytes);
      } catch {
        return; // someone else's packet on another interface
      }
      if (macAddress(m) !== clientMac) return; // not ours
      seen.push(m);
      const type = messageType(m);
      const reply = type === 'discover' ? 'offer' : type === 'request' ? 'ack' : null;
      if (!reply) return;
      const out = encodeDhcp(
        {
          ...m,
          op: 'reply',
          hops: 0,
          secs: 0,
          yiaddr: lease,
          siaddr: server,
          sname: '',
          file: '',
          options: new Map([
            [OPTION.messageType, value.messageType(reply)],
            [OPTION.serverId, value.ipv4(server)],
            [OPTION.leaseTime, value.u32(600)],
            [OPTION.subnetMask, value.ipv4('255.255.255.0')],
            [OPTION.router, value.ipv4(server)],
          ]),
        },
        576,
      );
      // The broadcast address of the veth's own subnet: routing sends it out of that link only.
      socket.send(out, 68, `${net}.255`);
    });

    const udhcpc = spawn('ip', ['netns', 'exec', ns, BUSYBOX, 'udhcpc', '-i', client, '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', '/bin/true', '-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    udhcpc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    udhcpc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => udhcpc.on('exit', resolve));
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`lease of ${lease.replaceAll('.', '\\.')} obtained`));

    const discover = seen.find((m) => messageType(m) === 'discover');
    const request = seen.find((m) => messageType(m) === 'request');
    assert.ok(discover && request, `saw ${seen.map(messageType).join(', ')}`);
    assert.equal(discover.op, 'request');
    assert.equal(textOption(discover, OPTION.vendorClass), 'PXEClient:Arch:00007:UNDI:003016');
    assert.deepEqual(clientArchitectures(discover), [7]);
    assert.equal(request.xid, discover.xid, 'one transaction');
    assert.equal(request.options.get(OPTION.requestedAddress)?.join('.'), lease);
    assert.equal(request.options.get(OPTION.serverId)?.join('.'), server);
  } finally {
    socket.close();
    spawnSync('ip', ['link', 'del', host]);
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
