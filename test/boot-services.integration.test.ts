// The boot services inside a real `lifeboat serve`, bound to a boot interface in a network
// namespace (a veth pair to a client namespace; nothing on the host's network): HTTP boot
// scripts and files, GRUB configs over TFTP rendered per machine (tftp-hpa), discovery of
// an unknown client, a machine job that moves to booting when its machine fetches the
// kernel, Wake-on-LAN from the CLI, the services' counters in /v1/appliance, and nothing
// listening on the appliance's other interface.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';

const tag = `lbb${process.pid % 100000}`;
const appliance = `${tag}a`;
const client = `${tag}c`;
const SERVER = '10.217.0.1';
const OFFICE = '10.217.9.1';
const work = tempDir('lifeboat-boot-services-');
let daemon: TestDaemon;
let api: ApiClient;

const inClient = (cmd: string) => spawnSync('ip', ['netns', 'exec', client, 'bash', '-c', cmd], { encoding: 'utf8', timeout: 30_000 });
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--socket', daemon.socket], { encoding: 'utf8', timeout: 30_000 });

before(async () => {
  sh(`ip netns add ${appliance} && ip netns add ${client}`);
  sh(`ip link add ${tag}b netns ${appliance} type veth peer name ${tag}x netns ${client}`);
  sh(`ip -n ${appliance} addr add ${SERVER}/24 dev ${tag}b && ip -n ${appliance} link set ${tag}b up && ip -n ${appliance} link set lo up`);
  // the appliance's "office" interface: the boot services must not listen there
  sh(`ip -n ${appliance} link add ${tag}o type veth peer name ${tag}p && ip -n ${appliance} addr add ${OFFICE}/24 dev ${tag}o && ip -n ${appliance} link set ${tag}o up`);
  sh(`ip -n ${client} addr add 10.217.0.50/24 dev ${tag}x && ip -n ${client} link set ${tag}x up && ip -n ${client} link set lo up`);
  const bootRoot = join(work.dir, 'data/boot');
  mkdirSync(join(bootRoot, 'lifeboat'), { recursive: true });
  writeFileSync(join(bootRoot, 'lifeboat/vmlinuz'), Buffer.alloc(300_000, 7));
  writeFileSync(join(bootRoot, 'lifeboat/initrd.img'), Buffer.alloc(500_000, 9));
  writeFileSync(join(bootRoot, 'undionly.kpxe'), Buffer.alloc(70_000, 1));
  daemon = await startDaemon(work.dir, { netns: appliance, args: ['--interface', `${tag}b`, '--http-port', '8080', '--tftp-port', '69', '--dhcp', 'full', '--dhcp-range', '10.217.0.100-10.217.0.120'] });
  api = new ApiClient(daemon.socket);
});

after(async () => {
  await daemon?.stop();
  sh(`ip netns del ${appliance} 2>/dev/null || true; ip netns del ${client} 2>/dev/null || true`);
  work.cleanup();
});

test('an unknown client is discovered and boots inventory; GRUB gets its config over TFTP; stages are recorded', async () => {
  const mac = '52:54:00:aa:00:01';
  const script = inClient(`curl -sS 'http://${SERVER}:8080/boot/ipxe?mac=${mac}&platform=efi'`);
  assert.equal(script.status, 0, script.stderr);
  assert.match(script.stdout, /^#!ipxe\n/);
  assert.match(script.stdout, /inventory \(new machine\)/);
  assert.match(script.stdout, new RegExp(`^kernel http://${SERVER.replaceAll('.', '\\.')}:8080/boot/files/lifeboat/vmlinuz initrd=initrd.img console=tty0 console=ttyS0,115200n8 lifeboat.url=https://${SERVER.replaceAll('.', '\\.')}:8443 lifeboat.token=[A-Za-z0-9_-]{43} lifeboat.fp=[0-9a-f]{64} lifeboat.retry=60 \\|\\| goto failed$`, 'm'));
  const m = await api.machine('new-525400aa0001');
  assert.equal(m.status, 'discovered');
  assert.equal(m.bootStage?.stage, 'script');
  // curl for the per-machine name (tftp-hpa takes a name with a colon for host:file), tftp-hpa for grub.cfg
  const grub = inClient(`curl -sS tftp://${SERVER}/grub/mac/${mac}.cfg && cd ${work.dir} && tftp ${SERVER} -m binary -c get grub/grub.cfg grub-main.cfg && cat grub-main.cfg`);
  assert.equal(grub.status, 0, grub.stderr);
  assert.match(grub.stdout, /^set lifeboat_config=1\n/);
  assert.match(grub.stdout, /^linux \/lifeboat\/vmlinuz console=tty0 .*lifeboat\.token=/m);
  assert.match(grub.stdout, /source \$prefix\/mac\/\$\{net_default_mac\}\.cfg/);
  const kernel = inClient(`curl -sS -o /dev/null -w '%{size_download}' http://${SERVER}:8080/boot/files/lifeboat/vmlinuz`);
  assert.equal(kernel.stdout, '300000');
  await waitFor(async () => (await api.machine('new-525400aa0001')).bootStage?.stage === 'kernel', 'the kernel fetch is a boot stage');
  // the agent's hello with the inventory token from the script
  const token = /lifeboat\.token=([A-Za-z0-9_-]+)/.exec(script.stdout)?.[1] as string;
  const hello = JSON.stringify({
    agent: { version: '0.1.0', node: 'v24.21.0' },
    inventory: {
      smbios: { system: { uuid: '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3', manufacturer: 'QEMU', product: 'Standard PC', serial: 'SYS-1' } },
      disks: [{ name: 'nvme0n1', sizeBytes: 64 << 20, model: 'QEMU NVMe Ctrl', serial: 'NVME-1', logicalSectorSize: 512, physicalSectorSize: 512, transport: 'nvme' }],
      nics: [{ name: 'eth0', mac, driver: 'e1000' }],
      cpu: { model: 'QEMU Virtual CPU', count: 1 },
      memoryBytes: 512 << 20,
    },
  });
  writeFileSync(join(work.dir, 'hello.json'), hello);
  // -k: the pin on the appliance's certificate is the agent's business (test/agent-tls.integration.test.ts)
  const post = (auth: string, file = 'hello.json') => inClient(`curl -sSk -w ' %{http_code}' -H 'Authorization: Bearer ${auth}' -H 'Content-Type: application/json' --data-binary @${join(work.dir, file)} https://${SERVER}:8443/agent/v1/hello`).stdout;
  assert.equal(post('not-a-token-0123456789'), '{"error":"the token is unknown, expired or its job has ended: start the job again from the appliance"} 401');
  writeFileSync(join(work.dir, 'bad.json'), '{"agent": {"version": 1}}');
  assert.match(post(token, 'bad.json'), /does not match the contract.* 400$/);
  assert.equal(post(token), '{"machine":"new-525400aa0001","job":null} 200');
  const known = await api.machine('new-525400aa0001');
  assert.equal(known.bootStage?.stage, 'agent');
  assert.equal(known.systemUuid, '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3');
  assert.deepEqual(known.disks.map((d) => [d.serial, d.size, d.devicePath]), [['NVME-1', 64 << 20, '/dev/nvme0n1']]);
  assert.match(inClient(`curl -sS 'http://${SERVER}:8080/boot/ipxe?mac=${mac}&platform=pcbios'`).stdout, /^sanboot/m, 'inventory in: the discovered machine boots its disk now');
  const shown = cli(['machines', 'show', 'new-525400aa0001']);
  assert.match(shown.stdout, /status {3}discovered \(approve it/);
  assert.match(shown.stdout, /boot {5}script .*\(local disk: no job is waiting for new-525400aa0001\)/);
});

test('a machine job: Wake-on-LAN when it starts waiting, the boot OS with its token, booting once the kernel is fetched', async () => {
  const mac = '52:54:00:aa:00:02';
  assert.equal(cli(['machines', 'add', '--name', 'desk-2', '--mac', mac]).status, 0);
  const listener = spawn('ip', ['netns', 'exec', client, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/udp-listen.ts'), '9', '20'], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const heard = collect(listener);
  await heard.ready;
  const job = JSON.parse(cli(['backup', '--machine', 'desk-2', '--json']).stdout.trim().split('\n').pop() as string) as { id: string; state: string };
  assert.equal(job.state, 'waiting-for-boot');
  await waitFor(async () => heard.lines.some((l) => l.includes(`${'ff'.repeat(6)}${'525400aa0002'.repeat(16)}`)), 'the job woke the machine');
  const script = inClient(`curl -sS 'http://${SERVER}:8080/boot/ipxe?mac=${mac}&platform=pcbios'`);
  assert.match(script.stdout, new RegExp(`backup job ${job.id} for desk-2`));
  assert.equal((await api.job(job.id)).state, 'waiting-for-boot');
  inClient(`curl -sS -o /dev/null http://${SERVER}:8080/boot/files/lifeboat/vmlinuz`);
  await waitFor(async () => (await api.job(job.id)).state === 'booting', 'the job is booting');
  const woke = cli(['machines', 'wake', 'desk-2']);
  assert.equal(woke.status, 0, woke.stderr);
  assert.match(woke.stdout, /Wake-on-LAN sent to desk-2 \(52:54:00:aa:00:02\)/);
  const jobToken = /lifeboat\.token=([A-Za-z0-9_-]+)/.exec(script.stdout)?.[1] as string;
  const hello = (t: string) => inClient(`curl -sSk -w ' %{http_code}' -H 'Authorization: Bearer ${t}' --data-binary @${join(work.dir, 'hello.json')} https://${SERVER}:8443/agent/v1/hello`).stdout;
  assert.equal(hello(jobToken), `{"machine":"desk-2","job":{"id":"${job.id}","type":"backup","disk":{"serial":null,"name":null},"label":null,"end":"reboot"}} 200`);
  assert.equal(cli(['jobs', 'cancel', job.id]).status, 0);
  assert.match(hello(jobToken), / 401$/, 'the token is refused once its job ended (no replay)');
  listener.kill();
  // after the job, the same machine boots its disk
  assert.match(inClient(`curl -sS 'http://${SERVER}:8080/boot/ipxe?mac=${mac}&platform=pcbios'`).stdout, /^sanboot --no-describe --drive 0x80/m);
});

test('full DHCP: a BIOS PXE client gets an address, next-server and iPXE; iPXE gets its script URL; both are one discovered machine', async () => {
  const show = join(work.dir, 'udhcpc-show.sh');
  writeFileSync(show, '#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip siaddr=$siaddr boot_file=$boot_file"\nexit 0\n', { mode: 0o755 });
  const udhcpc = (extra: string) => inClient(`busybox udhcpc -i ${tag}x -f -q -n -t 5 -T 1 -s ${show} -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 ${extra} 2>&1`);
  const pxe = udhcpc('');
  assert.equal(pxe.status, 0, pxe.stdout);
  assert.match(pxe.stdout, new RegExp(`ip=10\\.217\\.0\\.1(0\\d|1\\d|20) siaddr=${SERVER.replaceAll('.', '\\.')} boot_file=undionly\\.kpxe`));
  const ipxe = udhcpc("-x 0x4d:69505845");
  assert.match(ipxe.stdout, new RegExp(`boot_file=http://${SERVER.replaceAll('.', '\\.')}:8080/boot/ipxe\\?mac=\\$\\{net0/mac\\}&uuid=\\$\\{uuid\\}&platform=\\$\\{platform\\}`), ipxe.stdout);
  const clientMac = sh(`ip -n ${client} -o link show ${tag}x`).match(/link\/ether ([0-9a-f:]{17})/)?.[1] as string;
  await waitFor(async () => (await api.machines()).some((m) => m.macs.includes(clientMac) && m.status === 'discovered'), 'the PXE client is discovered');
  const m = (await api.machines()).find((x) => x.macs.includes(clientMac));
  assert.equal(m?.bootStage?.stage, 'dhcp');
  const status = await api.appliance();
  assert.equal(status.services.find((x) => x.name === 'DHCP')?.state, 'running');
});

test('the services report their address and counters, and listen on the boot interface only', async () => {
  const status = await api.appliance();
  const tftp = status.services.find((s) => s.name === 'TFTP');
  const http = status.services.find((s) => s.name === 'HTTP boot');
  assert.equal(tftp?.state, 'running');
  assert.equal(tftp?.address, SERVER);
  assert.ok((tftp?.counters?.transfersCompleted ?? 0) >= 2, JSON.stringify(tftp));
  assert.ok((http?.counters?.scripts ?? 0) >= 3 && (http?.counters?.bytesSent ?? 0) >= 600_000, JSON.stringify(http));
  const office = spawnSync('ip', ['netns', 'exec', appliance, 'curl', '-sS', '--max-time', '3', `http://${OFFICE}:8080/boot/ipxe?mac=52:54:00:00:00:01`], { encoding: 'utf8' });
  assert.notEqual(office.status, 0, 'nothing answers HTTP on the other interface');
  assert.match(office.stderr, /Connection refused|Failed to connect/);
  const officeAgent = spawnSync('ip', ['netns', 'exec', appliance, 'curl', '-sSk', '--max-time', '3', `https://${OFFICE}:8443/agent/v1/hello`], { encoding: 'utf8' });
  assert.notEqual(officeAgent.status, 0, 'nor the agent API');
  assert.match(officeAgent.stderr, /Connection refused|Failed to connect/);
  assert.doesNotMatch(daemon.log(), /"level":"error"/);
  assert.match(daemon.log(), /"tftpDataPath":"native"/, 'files go out from the native TFTP data path (make build builds it)');
});

test('a fixed address: validated, offered to its machine only, another address from it NAKed (udhcpc and dhclient through the daemon)', async () => {
  const mac = '52:54:00:aa:00:09';
  const refused = (address: string, pattern: RegExp) => {
    const r = cli(['machines', 'add', '--name', 'fixed-x', '--mac', '52:54:00:aa:00:0b', '--address', address]);
    assert.notEqual(r.status, 0, `${address} was accepted`);
    assert.match(r.stderr, pattern);
  };
  refused('10.217.0.110', /fixed address 10\.217\.0\.110 is inside the DHCP range 10\.217\.0\.100-10\.217\.0\.120.*outside it \(as ISC dhcpd requires\)/);
  refused('10.217.5.3', /not on the boot network \(10\.217\.0\.1 mask 255\.255\.255\.0\)/);
  refused(SERVER, /the appliance's own address/);
  refused('10.217.0.300', /is not an IPv4 address/);
  assert.equal(await api.machine('fixed-x').catch(() => null), null, 'nothing was added by the refusals');
  const added = cli(['machines', 'add', '--name', 'fixed-1', '--mac', mac, '--address', '10.217.0.200']);
  assert.equal(added.status, 0, added.stderr);
  assert.match(cli(['machines', 'add', '--name', 'fixed-2', '--mac', '52:54:00:aa:00:0c', '--address', '10.217.0.200']).stderr, /fixed address 10\.217\.0\.200 already belongs to machine "fixed-1"/);
  assert.match(cli(['machines', 'show', 'fixed-1']).stdout, /^address {2}10\.217\.0\.200 \(fixed, full DHCP\)$/m);
  assert.equal((await api.machine('fixed-1')).fixedAddress, '10.217.0.200');

  const show = join(work.dir, 'udhcpc-fixed.sh');
  writeFileSync(show, '#!/bin/sh\n[ "$1" = bound ] && echo "ip=$ip boot_file=$boot_file"\nexit 0\n', { mode: 0o755 });
  const udhcpc = (as: string, extra = '') => inClient(`ip addr flush dev ${tag}x; ip link set ${tag}x address ${as}; busybox udhcpc -i ${tag}x -f -q -n -t 5 -T 1 -s ${show} -V PXEClient:Arch:00000:UNDI:002001 ${extra} 2>&1`);
  const own = udhcpc(mac, '-r 10.217.0.105');
  assert.equal(own.status, 0, own.stdout);
  assert.match(own.stdout, /ip=10\.217\.0\.200 boot_file=undionly\.kpxe/, 'asked for another address, offered its fixed one');
  const other = udhcpc('52:54:00:aa:00:0a', '-r 10.217.0.200');
  assert.equal(other.status, 0, other.stdout);
  assert.match(other.stdout, /ip=10\.217\.0\.1(0\d|1\d|20) /, 'another client asking for the fixed address gets one from the range');

  // dhclient remembers 10.217.0.105 from an earlier lease: its INIT-REBOOT REQUEST is NAKed, then it gets its fixed address
  inClient(`ip addr flush dev ${tag}x; ip link set ${tag}x address ${mac}`);
  const leases = join(work.dir, 'dhclient-fixed.leases');
  writeFileSync(leases, `lease {\n  interface "${tag}x";\n  fixed-address 10.217.0.105;\n  option subnet-mask 255.255.255.0;\n  option dhcp-server-identifier ${SERVER};\n  renew 2 2037/01/06 00:00:00;\n  rebind 2 2037/01/06 00:00:00;\n  expire 2 2037/01/06 00:00:00;\n}\n`);
  const conf = join(work.dir, 'dhclient-fixed.conf');
  writeFileSync(conf, 'send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";\ntimeout 15;\n');
  const script = join(work.dir, 'dhclient-fixed.sh');
  writeFileSync(script, '#!/bin/sh\necho "$reason ip=$new_ip_address"\nexit 0\n', { mode: 0o755 });
  const pid = join(work.dir, 'dhclient-fixed.pid');
  const log = join(work.dir, 'dhclient-fixed.out');
  // dhclient -d stays after BOUND: it runs in the background until its script says BOUND (or 20 s pass)
  const dhclient = inClient(`(timeout 20 /usr/sbin/dhclient -1 -d -v -cf ${conf} -sf ${script} -lf ${leases} -pf ${pid} ${tag}x > ${log} 2>&1 &); for i in $(seq 200); do grep -q '^BOUND' ${log} 2>/dev/null && break; sleep 0.1; done; kill $(cat ${pid}) 2>/dev/null; cat ${log}`);
  assert.match(dhclient.stdout, /DHCPREQUEST for 10\.217\.0\.105 on .* port 67/, dhclient.stdout);
  assert.match(dhclient.stdout, /DHCPNAK from 10\.217\.0\.1/, dhclient.stdout);
  assert.match(dhclient.stdout, /^BOUND ip=10\.217\.0\.200$/m, dhclient.stdout);

  assert.equal(cli(['machines', 'edit', 'fixed-1', '--address', 'none']).status, 0);
  assert.match(cli(['machines', 'show', 'fixed-1']).stdout, /^address {2}dynamic$/m);
});

async function waitFor(what: () => Promise<boolean>, label: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out: ${label}\n${daemon.log().slice(-3000)}`);
}

function collect(child: ChildProcess): { lines: string[]; ready: Promise<void> } {
  const lines: string[] = [];
  let buf = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"listening"')) resolve();
        else lines.push(line);
      }
    });
  });
  return { lines, ready };
}
