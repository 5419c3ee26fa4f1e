// Lifeboat's DHCP server in full mode against real clients: busybox udhcpc and ISC
// dhclient in network namespaces, the server (test/helpers/dhcp-server.ts) in another,
// with a boot interface and an office interface. All made and removed by each test.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsonLines, Lab } from './helpers/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : false;
const BUSYBOX = '/bin/busybox';
const DHCLIENT = '/usr/sbin/dhclient';

interface Full {
  lab: Lab;
  dir: string;
  server: string;
  client: string;
  office: string;
  bootIf: string;
  clientIf: string;
  officeIf: string;
  start(extra?: Record<string, unknown>): Promise<JsonLines>;
  udhcpc(mac: string, args?: string[]): Promise<{ code: number | null; output: string; bound: Record<string, string> | null }>;
}

async function withFull(fn: (f: Full) => Promise<void>): Promise<void> {
  const lab = new Lab('f');
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-dhcp-'));
  try {
    const server = lab.ns('s');
    const client = lab.ns('c');
    const office = lab.ns('o');
    const [bootIf, clientIf] = lab.veth(server, client, 'b');
    const [officeSrvIf, officeIf] = lab.veth(server, office, 'o');
    lab.sh(`ip -n ${server} addr add 10.77.0.1/24 dev ${bootIf} && ip -n ${server} addr add 10.78.0.1/24 dev ${officeSrvIf}`);
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && printf '{"ip":"%s","siaddr":"%s","boot_file":"%s","router":"%s","subnet":"%s","dns":"%s"}\\n' "$ip" "$siaddr" "$boot_file" "$router" "$subnet" "$dns" >> "$OUT"\nexit 0\n`);
    chmodSync(script, 0o755);
    let n = 0;
    await fn({
      lab,
      dir,
      server,
      client,
      office,
      bootIf,
      clientIf,
      officeIf,
      async start(extra = {}) {
        const lines = new JsonLines(
          lab.node(server, 'dhcp-server.ts', { interface: bootIf, mode: 'full', range: { start: '10.77.0.100', end: '10.77.0.150' }, router: ['10.77.0.254'], dns: ['10.77.0.53'], httpPort: 8080, db: join(dir, 'db'), ...extra }),
        );
        await lines.waitFor((l) => l.listening === true || 'failed' in l, 20_000, 'the server listening');
        assert.equal(lines.lines.find((l) => 'failed' in l), undefined);
        return lines;
      },
      async udhcpc(mac, args = []) {
        const ns = args.includes('--office') ? office : client;
        const iface = ns === office ? officeIf : clientIf;
        const out = join(dir, `bound-${++n}.json`);
        lab.sh(`ip -n ${ns} link set ${iface} address ${mac}`);
        const r = await lab.run(ns, 'env', [`OUT=${out}`, BUSYBOX, 'udhcpc', '-i', iface, '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', script, ...args.filter((a) => a !== '--office')]);
        const bound = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8').trim().split('\n').pop() as string) as Record<string, string>) : null;
        return { ...r, bound };
      },
    });
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('full mode: udhcpc gets a lease, next-server and the boot file by architecture and machine loader', { skip, timeout: 90_000 }, async () => {
  await withFull(async (f) => {
    const events = await f.start({ machines: { '52:54:00:aa:00:02': { loader: 'ipxe' } } });
    const bios = await f.udhcpc('52:54:00:aa:00:01', ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000']);
    assert.equal(bios.code, 0, bios.output);
    assert.deepEqual(bios.bound, { ip: '10.77.0.100', siaddr: '10.77.0.1', boot_file: 'undionly.kpxe', router: '10.77.0.254', subnet: '255.255.255.0', dns: '10.77.0.53' });
    const uefi = await f.udhcpc('52:54:00:aa:00:02', ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007']);
    assert.equal(uefi.code, 0, uefi.output);
    assert.equal(uefi.bound?.ip, '10.77.0.101');
    assert.equal(uefi.bound?.boot_file, 'snponly.efi', 'the machine is set to ipxe');
    const signed = await f.udhcpc('52:54:00:aa:00:03', ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007']);
    assert.equal(signed.bound?.boot_file, 'shimx64.efi', 'an unknown machine gets auto: the signed chain');
    const ipxe = await f.udhcpc('52:54:00:aa:00:04', ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x4d:69505845']);
    assert.equal(ipxe.bound?.boot_file, 'http://10.77.0.1:8080/boot/ipxe?mac=${net0/mac}&uuid=${uuid}&platform=${platform}');
    const plain = await f.udhcpc('52:54:00:aa:00:05');
    assert.equal(plain.bound?.ip, '10.77.0.104');
    assert.equal(plain.bound?.boot_file, '', 'no boot file for a client that is not PXE');
    const bound = events.lines.filter((l) => l.type === 'lease' && l.op === 'bound').map((l) => `${l.mac as string} ${l.address as string}`);
    assert.deepEqual(bound, ['52:54:00:aa:00:01 10.77.0.100', '52:54:00:aa:00:02 10.77.0.101', '52:54:00:aa:00:03 10.77.0.102', '52:54:00:aa:00:04 10.77.0.103', '52:54:00:aa:00:05 10.77.0.104']);
    const discover = events.lines.find((l) => l.type === 'discover' && l.mac === '52:54:00:aa:00:02');
    assert.deepEqual(discover?.architectures, [7]);
  });
});

test('full mode: ISC dhclient gets a lease, next-server and the boot file', { skip, timeout: 90_000 }, async () => {
  await withFull(async (f) => {
    await f.start();
    const conf = join(f.dir, 'dhclient.conf');
    const script = join(f.dir, 'dhclient.sh');
    const out = join(f.dir, 'dhclient.out');
    writeFileSync(conf, 'option pxe-arch code 93 = unsigned integer 16;\nsend vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";\nsend pxe-arch 7;\nrequest subnet-mask, routers, domain-name-servers;\ntimeout 15;\n');
    writeFileSync(script, `#!/bin/sh\necho "$reason ip=$new_ip_address file=$new_filename next=$new_next_server routers=$new_routers mask=$new_subnet_mask" >> ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    f.lab.sh(`ip -n ${f.client} link set ${f.clientIf} address 52:54:00:bb:00:01`);
    const run = f.lab.run(f.client, DHCLIENT, ['-1', '-d', '-v', '-cf', conf, '-sf', script, '-lf', join(f.dir, 'dhclient.leases'), '-pf', join(f.dir, 'dhclient.pid'), f.clientIf], 20_000);
    const read = () => (existsSync(out) ? readFileSync(out, 'utf8') : '');
    for (let t = 0; t < 150 && !/^BOUND/m.test(read()); t++) await new Promise((r) => setTimeout(r, 100));
    f.lab.sh(`kill $(cat ${join(f.dir, 'dhclient.pid')}) 2>/dev/null || true`);
    const r = await run;
    const seen = read();
    assert.match(seen, /^BOUND ip=10\.77\.0\.100 file=shimx64\.efi next=10\.77\.0\.1 routers=10\.77\.0\.254 mask=255\.255\.255\.0$/m, `${seen}\n${r.output}`);
  });
});

test('full mode: a restart keeps the leases (NeDB file): a new client does not get an address already leased', { skip, timeout: 90_000 }, async () => {
  await withFull(async (f) => {
    let events = await f.start();
    const a = await f.udhcpc('52:54:00:cc:00:01');
    assert.equal(a.bound?.ip, '10.77.0.100');
    events.child.kill('SIGTERM');
    await events.all();
    assert.ok(readFileSync(join(f.dir, 'db/leases.db'), 'utf8').includes('10.77.0.100'), 'the lease is in the datafile');
    events = await f.start();
    const b = await f.udhcpc('52:54:00:cc:00:02', ['-r', '10.77.0.100']);
    assert.equal(b.bound?.ip, '10.77.0.101', 'asked for A’s address, got the next one');
    const again = await f.udhcpc('52:54:00:cc:00:01', ['-r', '10.77.0.100']);
    assert.equal(again.bound?.ip, '10.77.0.100', 'A keeps its address');
  });
});

test('full mode: a client on another interface of the appliance gets nothing, and the server never hears it', { skip, timeout: 90_000 }, async () => {
  await withFull(async (f) => {
    const events = await f.start();
    const r = await f.udhcpc('52:54:00:dd:00:01', ['--office', '-V', 'PXEClient:Arch:00000:UNDI:002001']);
    assert.notEqual(r.code, 0, r.output);
    assert.equal(r.bound, null);
    assert.match(r.output, /No lease|no lease/i);
    assert.deepEqual(events.lines.filter((l) => l.mac === '52:54:00:dd:00:01'), []);
    const ok = await f.udhcpc('52:54:00:dd:00:02');
    assert.equal(ok.bound?.ip, '10.77.0.100', 'the boot interface is served meanwhile');
  });
});

test('full mode: 20 000 random, truncated and mutated packets: no crash, and a real client is still served', { skip, timeout: 120_000 }, async () => {
  await withFull(async (f) => {
    const events = await f.start({ quiet: true });
    f.lab.sh(`ip -n ${f.client} addr add 10.77.0.250/24 dev ${f.clientIf} && ip -n ${f.client} route add 255.255.255.255 dev ${f.clientIf}`);
    const fuzz = new JsonLines(f.lab.node(f.client, 'dhcp-client.ts', { mode: 'fuzz', count: 20_000, seed: process.pid, server: '10.77.0.1' }));
    await fuzz.waitFor((l) => l.done === true, 60_000, 'the fuzzer done');
    f.lab.sh(`ip -n ${f.client} addr flush dev ${f.clientIf}`);
    const r = await f.udhcpc('52:54:00:ee:00:01', ['-V', 'PXEClient:Arch:00000:UNDI:002001']);
    // Some mutated DISCOVERs are still valid ones and took addresses: any of the range will do.
    assert.match(r.bound?.ip ?? '', /^10\.77\.0\.1[0-5]\d$/, r.output);
    assert.equal(r.bound?.boot_file, 'undionly.kpxe');
    assert.equal(events.child.exitCode, null, 'the server is still running');
    events.child.kill('SIGTERM');
    const counts = (await events.all()).find((l) => 'counts' in l)?.counts as Record<string, number>;
    assert.ok((counts.malformed ?? 0) > 8_000, `most packets were malformed and said so: ${JSON.stringify(counts)}`);
    assert.equal(counts.error, undefined, JSON.stringify(events.lines.filter((l) => l.type === 'error').slice(0, 3)));
  });
});
