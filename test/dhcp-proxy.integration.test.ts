// Lifeboat's DHCP server in proxy mode beside dnsmasq as the site's DHCP server, on one
// bridged LAN made by the test: a PXE client (test/helpers/dhcp-client.ts, doing what a
// PXE ROM does) takes its address from dnsmasq and its boot file from Lifeboat (in the
// ProxyDHCP offer and on port 4011); a plain client gets only dnsmasq's answer; a PXE
// client behind another interface of the appliance gets nothing from Lifeboat.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsonLines, Lab } from './helpers/netns.js';

const skip = process.getuid?.() !== 0 ? 'needs root for network namespaces' : false;

test('proxy mode beside dnsmasq: the address from dnsmasq, the boot file from Lifeboat; nothing on the office interface', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab('p');
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-proxy-'));
  try {
    const lan = lab.ns('l');
    const server = lab.ns('s');
    const site = lab.ns('d');
    const client = lab.ns('c');
    const office = lab.ns('o');
    const br = lab.bridge(lan, 'br');
    const [bootIf, lanS] = lab.veth(server, lan, 's');
    const [siteIf, lanD] = lab.veth(site, lan, 'd');
    const [clientIf, lanC] = lab.veth(client, lan, 'c');
    const [officeSrvIf, officeIf] = lab.veth(server, office, 'o');
    for (const port of [lanS, lanD, lanC]) lab.sh(`ip -n ${lan} link set ${port} master ${br}`);
    lab.sh(`ip -n ${server} addr add 10.79.0.1/24 dev ${bootIf} && ip -n ${server} addr add 10.80.0.1/24 dev ${officeSrvIf}`);
    lab.sh(`ip -n ${site} addr add 10.79.0.2/24 dev ${siteIf}`);
    for (const [ns, iface] of [[client, clientIf], [office, officeIf]] as const) lab.sh(`ip -n ${ns} route add 255.255.255.255 dev ${iface}`);

    const dnsmasq = lab.spawn(site, 'dnsmasq', [
      '--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--port=0', '--user=root', '--group=root',
      `--interface=${siteIf}`, '--bind-interfaces', '--dhcp-range=10.79.0.50,10.79.0.60,255.255.255.0,1h', '--no-ping',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
    let dnsmasqLog = '';
    dnsmasq.stderr?.on('data', (d: Buffer) => (dnsmasqLog += d.toString()));
    const events = new JsonLines(lab.node(server, 'dhcp-server.ts', { interface: bootIf, mode: 'proxy', httpPort: 8080, machines: { '52:54:00:ab:00:02': { loader: 'ipxe-full' } } }));
    await events.waitFor((l) => l.listening === true || 'failed' in l, 20_000, 'the server listening');
    for (let t = 0; t < 50 && !/started|DHCP, IP range/.test(dnsmasqLog); t++) await new Promise((r) => setTimeout(r, 100));
    assert.match(dnsmasqLog, /DHCP, IP range 10\.79\.0\.50/, 'dnsmasq runs');

    lab.sh(`ip -n ${client} link set ${clientIf} address 52:54:00:ab:00:02`);
    const pxe = new JsonLines(lab.node(client, 'dhcp-client.ts', { mode: 'pxe', mac: '52:54:00:ab:00:02', arch: 7, iface: clientIf, ms: 4000 }));
    const steps = await pxe.all();
    const offers = steps.filter((s) => s.step === 'offer');
    const fromSite = offers.find((o) => o.from === '10.79.0.2' || o.serverId === '10.79.0.2');
    const fromLifeboat = offers.find((o) => o.serverId === '10.79.0.1');
    assert.ok(fromSite && fromLifeboat, `offers from both: ${JSON.stringify(steps)} ${pxe.stderr}`);
    assert.match(String(fromSite.yiaddr), /^10\.79\.0\.(5\d|60)$/);
    assert.equal(fromLifeboat.yiaddr, '0.0.0.0', 'Lifeboat gives no address');
    assert.equal(fromLifeboat.vendorClass, 'PXEClient');
    assert.equal(fromLifeboat.file, 'ipxe.efi', 'the machine is set to ipxe-full');
    assert.equal(fromLifeboat.siaddr, '10.79.0.1');
    const ack = steps.find((s) => s.step === 'request');
    assert.equal(ack?.type, 'ack');
    assert.equal(ack?.serverId, '10.79.0.2', 'dnsmasq acknowledges the address');
    assert.equal(ack?.yiaddr, fromSite.yiaddr);
    const boot = steps.find((s) => s.step === 'boot');
    assert.equal(boot?.type, 'ack', `port 4011 answered: ${JSON.stringify(steps)}`);
    assert.equal(boot?.file, 'ipxe.efi');
    assert.equal(boot?.from, '10.79.0.1');

    // A plain client: dnsmasq answers; Lifeboat hears it and stays out.
    lab.sh(`ip -n ${client} addr flush dev ${clientIf} && ip -n ${client} link set ${clientIf} address 52:54:00:ab:00:03`);
    const plain = await lab.run(client, '/bin/busybox', ['udhcpc', '-i', clientIf, '-f', '-q', '-n', '-t', '3', '-T', '1', '-s', '/bin/true']);
    assert.match(plain.output, /lease of 10\.79\.0\.\d+ obtained from 10\.79\.0\.2/, plain.output);
    const ignored = events.lines.filter((l) => l.mac === '52:54:00:ab:00:03' && l.type !== 'discover');
    assert.ok(ignored.length > 0 && ignored.every((l) => l.type === 'ignored' && /PXE clients only|site's DHCP server/.test(String(l.reason))), JSON.stringify(ignored));

    // The office side of the appliance: a PXE client there hears nothing.
    const away = new JsonLines(lab.node(office, 'dhcp-client.ts', { mode: 'offers', mac: '52:54:00:ab:00:04', arch: 0, ms: 2000 }));
    const heard = (await away.all()).filter((l) => 'type' in l || 'error' in l);
    assert.deepEqual(heard, [], 'sent, and no answer');
    assert.deepEqual(events.lines.filter((l) => l.mac === '52:54:00:ab:00:04'), [], 'the server never heard it');
    // …while the same client on the boot LAN is answered.
    lab.sh(`ip -n ${client} addr flush dev ${clientIf} && ip -n ${client} route replace 255.255.255.255 dev ${clientIf}`);
    const near = new JsonLines(lab.node(client, 'dhcp-client.ts', { mode: 'offers', mac: '52:54:00:ab:00:04', arch: 0, ms: 2000 }));
    const answered = (await near.all()).filter((l) => l.serverId === '10.79.0.1');
    assert.equal(answered[0]?.file, 'undionly.kpxe', JSON.stringify(near.lines));
  } finally {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
