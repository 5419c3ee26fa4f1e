// The DHCP codec against a real client: busybox udhcpc in one network namespace, a
// responder built on the codec in another (test/helpers/dhcp-responder.ts), a veth pair
// between them — all created and removed by the test, nothing on the host's network. What
// udhcpc sends must decode (its MAC, vendor class, options), and what the codec encodes
// must be good enough for udhcpc to take the lease: DISCOVER → OFFER → REQUEST → ACK.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO, sh } from './helpers/cli.js';

const BUSYBOX = '/bin/busybox';
const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : spawnSync(BUSYBOX, ['udhcpc', '--help']).status === null ? 'busybox-static is not installed (make apt installs it)' : false;

interface Seen {
  type: string | null;
  xid: number;
  mac: string | null;
  vendorClass: string | null;
  arch: number[];
  requested: string | null;
  serverId: string | null;
}

/** Collects a child's stdout JSON lines; resolves `ready` on the first {"listening":true}. */
function jsonLines(child: ChildProcess): { lines: Array<Record<string, unknown>>; ready: Promise<void> } {
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the responder exited (${code}) before listening`)));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if (line.listening) resolve();
        else lines.push(line);
      }
    });
  });
  return { lines, ready };
}

test('udhcpc takes a lease from messages this codec encodes, and its own messages decode', { skip, timeout: 60_000 }, async () => {
  const tag = `lbd${process.pid % 100000}`;
  const [cli, srv] = [`${tag}c`, `${tag}s`];
  const server = '10.213.7.1';
  const lease = '10.213.7.20';
  let responder: ChildProcess | null = null;
  try {
    sh(`ip netns add ${cli} && ip netns add ${srv}`);
    sh(`ip link add ${tag}a netns ${cli} type veth peer name ${tag}b netns ${srv}`);
    sh(`ip -n ${srv} addr add ${server}/24 dev ${tag}b && ip -n ${srv} link set ${tag}b up && ip -n ${srv} link set lo up && ip -n ${cli} link set ${tag}a up`);
    // The limited broadcast (255.255.255.255) needs a route to leave by; in this namespace there is one link.
    sh(`ip -n ${srv} route add default dev ${tag}b`);
    const clientMac = sh(`ip -n ${cli} -o link show ${tag}a`).match(/link\/ether ([0-9a-f:]{17})/)?.[1];
    assert.ok(clientMac, 'the client side has a MAC address');

    responder = spawn('ip', ['netns', 'exec', srv, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/dhcp-responder.ts'), server, lease], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const { lines, ready } = jsonLines(responder);
    await ready;

    const udhcpc = spawn('ip', ['netns', 'exec', cli, BUSYBOX, 'udhcpc', '-i', `${tag}a`, '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', '/bin/true', '-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    udhcpc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    udhcpc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => udhcpc.on('exit', resolve));
    assert.equal(code, 0, output);
    assert.match(output, /lease of 10\.213\.7\.20 obtained/);

    const seen = lines as unknown as Seen[];
    assert.deepEqual(seen.filter((l) => 'malformed' in l), [], 'every message udhcpc sent decodes');
    const discover = seen.find((m) => m.type === 'discover');
    const request = seen.find((m) => m.type === 'request');
    assert.ok(discover && request, `saw ${JSON.stringify(seen)}`);
    assert.equal(discover.mac, clientMac);
    assert.equal(discover.vendorClass, 'PXEClient:Arch:00007:UNDI:003016');
    assert.deepEqual(discover.arch, [7]);
    assert.equal(request.xid, discover.xid, 'one transaction');
    assert.equal(request.requested, lease);
    assert.equal(request.serverId, server);
  } finally {
    responder?.kill('SIGTERM');
    spawnSync('ip', ['netns', 'del', cli]);
    spawnSync('ip', ['netns', 'del', srv]);
  }
});
