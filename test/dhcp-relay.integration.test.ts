// Lifeboat's DHCP server behind a real DHCP relay agent (ISC dhcrelay, package
// isc-dhcp-relay), in network namespaces the test makes:
//
//   client ns ── 10.89.0.0/24 ── relay ns (dhcrelay) ── 10.88.0.0/24 bridge ── appliance ns
//                                                                         └── observer ns
//
// The client's subnet is not the appliance's: the relay puts its address on that subnet in
// giaddr, and every answer must go back to the relay (giaddr, port 67), never as a
// broadcast on the appliance's side (the observer on that LAN listens on port 68 and must
// hear only the probe the test broadcasts to prove it would). Full mode hands out an
// address from the relayed range; proxy mode gives the boot file beside dnsmasq as the
// site's server (also reached through the relay), and answers port 4011 directly.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from './helpers/cli.js';
import { JsonLines, Lab, TSX_ARGS } from './helpers/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : false;
const SERVER = '10.88.0.1';
const RELAY_UP = '10.88.0.2';
const SITE = '10.88.0.4';
const RELAY_DOWN = '10.89.0.1';

interface Relayed {
  lab: Lab;
  dir: string;
  appliance: string;
  site: string;
  client: string;
  bootIf: string;
  siteIf: string;
  clientIf: string;
  observer: JsonLines;
  /** Broadcasts a probe to port 68 on the appliance's LAN: the observer must hear it. */
  probe(): Promise<void>;
}

async function withRelay(name: string, servers: string[], fn: (r: Relayed) => Promise<void>): Promise<void> {
  const lab = new Lab(name);
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-relay-'));
  try {
    const appliance = lab.ns('a');
    const relay = lab.ns('r');
    const client = lab.ns('c');
    const site = lab.ns('d');
    const watch = lab.ns('w');
    const lan = lab.ns('l');
    const br = lab.bridge(lan, 'br');
    const [bootIf, lanA] = lab.veth(appliance, lan, 'a');
    const [upIf, lanR] = lab.veth(relay, lan, 'r');
    const [siteIf, lanD] = lab.veth(site, lan, 'd');
    const [watchIf, lanW] = lab.veth(watch, lan, 'w');
    const [downIf, clientIf] = lab.veth(relay, client, 'c');
    for (const port of [lanA, lanR, lanD, lanW]) lab.sh(`ip -n ${lan} link set ${port} master ${br}`);
    lab.sh(`ip -n ${appliance} addr add ${SERVER}/24 dev ${bootIf} && ip -n ${appliance} route add 10.89.0.0/24 via ${RELAY_UP}`);
    lab.sh(`ip -n ${appliance} route add 255.255.255.255 dev ${bootIf}`);
    lab.sh(`ip -n ${site} addr add ${SITE}/24 dev ${siteIf} && ip -n ${site} route add 10.89.0.0/24 via ${RELAY_UP}`);
    lab.sh(`ip -n ${watch} addr add 10.88.0.3/24 dev ${watchIf}`);
    lab.sh(`ip -n ${relay} addr add ${RELAY_UP}/24 dev ${upIf} && ip -n ${relay} addr add ${RELAY_DOWN}/24 dev ${downIf} && ip netns exec ${relay} sysctl -qw net.ipv4.ip_forward=1`);
    lab.sh(`ip -n ${client} route add 255.255.255.255 dev ${clientIf} && ip -n ${client} route add 10.88.0.0/24 via ${RELAY_DOWN} dev ${clientIf} onlink`);

    const observer = new JsonLines(lab.spawn(watch, process.execPath, [...TSX_ARGS, join(REPO, 'test/helpers/udp-listen.ts'), '68', '120']));
    await observer.waitFor((l) => l.listening === true, 20_000, 'the observer listening');
    const dhcrelay = lab.spawn(relay, '/usr/sbin/dhcrelay', ['-4', '-d', '-pf', join(dir, 'dhcrelay.pid'), '-id', downIf, '-iu', upIf, ...servers]);
    let relayLog = '';
    dhcrelay.stderr?.on('data', (d: Buffer) => (relayLog += d.toString()));
    dhcrelay.stdout?.on('data', (d: Buffer) => (relayLog += d.toString()));
    for (let t = 0; t < 100 && !/Sending on +Socket/.test(relayLog); t++) await new Promise((r) => setTimeout(r, 100));
    assert.match(relayLog, /Sending on +Socket/, `dhcrelay runs: ${relayLog}`);
    await fn({
      lab,
      dir,
      appliance,
      site,
      client,
      bootIf,
      siteIf,
      clientIf,
      observer,
      async probe() {
        await lab.run(appliance, process.execPath, ['-e', `const s=require('node:dgram').createSocket('udp4');s.bind(0,'${SERVER}',()=>{s.setBroadcast(true);s.send('probe',68,'255.255.255.255',()=>s.close())})`]);
        await observer.waitFor((l) => l.hex === Buffer.from('probe').toString('hex'), 5_000, 'the probe');
      },
    });
    assert.equal(dhcrelay.exitCode, null, `dhcrelay still running: ${relayLog}`);
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the observer on the appliance's LAN heard on port 68: only the probe. */
function heardOnApplianceLan(r: Relayed): string[] {
  return r.observer.lines.filter((l) => typeof l.hex === 'string').map((l) => `${String(l.from)} ${Buffer.from(String(l.hex), 'hex').toString('latin1').slice(0, 8)}`);
}

test('full mode through dhcrelay: udhcpc gets an address from the relayed range, the relay as router, and the boot file; replies go to giaddr:67 only', { skip, timeout: 120_000 }, async () => {
  await withRelay('y', [SERVER], async (r) => {
    const events = new JsonLines(
      r.lab.node(r.appliance, 'dhcp-server.ts', { interface: r.bootIf, mode: 'full', range: { start: '10.89.0.100', end: '10.89.0.150' }, netmask: '255.255.255.0', httpPort: 8080, db: join(r.dir, 'db'), machines: { '52:54:00:ac:00:02': { loader: 'auto', fixedAddress: '10.89.0.20' } } }),
    );
    await events.waitFor((l) => l.listening === true || 'failed' in l, 20_000, 'the server listening');
    assert.equal(events.lines.find((l) => 'failed' in l), undefined);
    const script = join(r.dir, 'udhcpc.sh');
    const out = join(r.dir, 'bound.json');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && printf '{"ip":"%s","siaddr":"%s","boot_file":"%s","router":"%s","subnet":"%s"}\\n' "$ip" "$siaddr" "$boot_file" "$router" "$subnet" >> ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    const udhcpc = async (mac: string) => {
      r.lab.sh(`ip -n ${r.client} addr flush dev ${r.clientIf} && ip -n ${r.client} link set ${r.clientIf} address ${mac}`);
      const run = await r.lab.run(r.client, '/bin/busybox', ['udhcpc', '-i', r.clientIf, '-f', '-q', '-n', '-t', '4', '-T', '1', '-s', script, '-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000']);
      const bound = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8').trim().split('\n').pop() as string) as Record<string, string>) : null;
      rmSync(out, { force: true });
      return { ...run, bound };
    };
    const a = await udhcpc('52:54:00:ac:00:01');
    assert.equal(a.code, 0, a.output);
    assert.deepEqual(a.bound, { ip: '10.89.0.100', siaddr: SERVER, boot_file: 'undionly.kpxe', router: RELAY_DOWN, subnet: '255.255.255.0' });
    const fixed = await udhcpc('52:54:00:ac:00:02');
    assert.equal(fixed.bound?.ip, '10.89.0.20', `a fixed address on the relayed subnet: ${fixed.output}`);
    const replies = events.lines.filter((l) => l.type === 'reply');
    assert.ok(replies.length >= 4, JSON.stringify(events.lines));
    assert.deepEqual([...new Set(replies.map((l) => l.to))], [`${RELAY_DOWN}:67`], 'every answer goes to the relay agent (giaddr), port 67');
    await r.probe();
    assert.deepEqual(heardOnApplianceLan(r), [`${SERVER} probe`], 'no broadcast on the appliance side, only the probe');
  });
});

test('proxy mode through dhcrelay beside dnsmasq: the address from dnsmasq, the boot file from Lifeboat, port 4011 answered; replies to giaddr:67', { skip, timeout: 120_000 }, async () => {
  await withRelay('z', [SITE, SERVER], async (r) => {
    const dnsmasq = r.lab.spawn(r.site, 'dnsmasq', [
      '--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--port=0', '--user=root', '--group=root',
      `--interface=${r.siteIf}`, '--bind-interfaces', '--dhcp-range=10.89.0.50,10.89.0.60,255.255.255.0,1h', '--no-ping',
      `--dhcp-leasefile=${join(r.dir, 'dnsmasq.leases')}`, `--pid-file=${join(r.dir, 'dnsmasq.pid')}`,
    ]);
    let dnsmasqLog = '';
    dnsmasq.stderr?.on('data', (d: Buffer) => (dnsmasqLog += d.toString()));
    const events = new JsonLines(r.lab.node(r.appliance, 'dhcp-server.ts', { interface: r.bootIf, mode: 'proxy', httpPort: 8080, machines: { '52:54:00:ad:00:01': { loader: 'ipxe' } } }));
    await events.waitFor((l) => l.listening === true || 'failed' in l, 20_000, 'the server listening');
    for (let t = 0; t < 50 && !/DHCP, IP range/.test(dnsmasqLog); t++) await new Promise((res) => setTimeout(res, 100));
    assert.match(dnsmasqLog, /DHCP, IP range 10\.89\.0\.50/, 'dnsmasq runs');

    r.lab.sh(`ip -n ${r.client} link set ${r.clientIf} address 52:54:00:ad:00:01`);
    const pxe = new JsonLines(r.lab.node(r.client, 'dhcp-client.ts', { mode: 'pxe', mac: '52:54:00:ad:00:01', arch: 7, iface: r.clientIf, ms: 4000 }));
    const steps = await pxe.all();
    const offers = steps.filter((s) => s.step === 'offer');
    const fromSite = offers.find((o) => o.serverId === SITE);
    const fromLifeboat = offers.find((o) => o.serverId === SERVER);
    assert.ok(fromSite && fromLifeboat, `offers from both through the relay: ${JSON.stringify(steps)} ${pxe.stderr}`);
    assert.match(String(fromSite.yiaddr), /^10\.89\.0\.(5\d|60)$/, 'the address from the relayed subnet, by dnsmasq');
    assert.equal(fromLifeboat.yiaddr, '0.0.0.0', 'Lifeboat gives no address');
    assert.equal(fromLifeboat.from, RELAY_DOWN, 'Lifeboat’s offer came through the relay');
    assert.equal(fromLifeboat.file, 'snponly.efi', 'x64 UEFI, the machine is set to ipxe');
    assert.equal(fromLifeboat.siaddr, SERVER);
    const ack = steps.find((s) => s.step === 'request');
    assert.equal(ack?.type, 'ack', JSON.stringify(steps));
    assert.equal(ack?.serverId, SITE);
    const boot = steps.find((s) => s.step === 'boot');
    assert.equal(boot?.type, 'ack', `port 4011 answered across the relay's router: ${JSON.stringify(steps)}`);
    assert.equal(boot?.file, 'snponly.efi');
    assert.equal(boot?.from, SERVER);
    const replies = events.lines.filter((l) => l.type === 'reply');
    assert.deepEqual(replies.map((l) => l.to), [`${RELAY_DOWN}:67`, `${String(fromSite.yiaddr)}:68`], 'the offer to giaddr:67; the port 4011 answer to the client itself');
    await r.probe();
    assert.deepEqual(heardOnApplianceLan(r), [`${SERVER} probe`], 'no broadcast on the appliance side, only the probe');
  });
});
