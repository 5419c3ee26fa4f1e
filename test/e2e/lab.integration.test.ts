// The boot lab: a real `lifeboat serve` with its own DHCP (full), TFTP and HTTP boot on a
// bridge in a network namespace, the real boot OS (`lifeboat bootos build`: Debian's signed
// kernel + Lifeboat's initramfs) and Debian's loaders in its boot root, and QEMU (TCG)
// machines on taps of that bridge, network-booting with their own firmware:
//   - SeaBIOS + QEMU's iPXE ROM, a machine with a backup job: DHCP → the script URL → kernel
//     and initrd over HTTP → /init → the agent's hello (the job is handed to the agent; the
//     hello carries the disk's serial);
//   - OVMF with Secure Boot and Microsoft's keys, OVMF's own PXE (virtio-net, no ROM): DHCP →
//     shim → signed GRUB → its config over TFTP → the signed kernel over TFTP, Secure Boot
//     enabled, the agent's hello;
//   - OVMF without Secure Boot, its own PXE, a machine set to iPXE: snponly.efi → the
//     script over HTTP → the agent's hello;
//   - a known machine with nothing to do: the script sends it to its local disk, whose boot
//     sector writes a marker on the serial console.
// Every agent reaches the agent API over HTTPS (port 8443 of the bridge's address), pinning
// the certificate fingerprint its boot parameters carry (the appliance made the certificate
// at its first start). Nothing here leaves the namespace; everything made is removed.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../../src/api/client.js';
import { ROOT } from '../../src/bootos/build.js';
import { CLI, sh, tempDir } from '../helpers/cli.js';
import { type TestDaemon, startDaemon } from '../helpers/daemon.js';

const OVMF = '/usr/share/OVMF';
const tag = `lbl${process.pid % 100000}`;
const ns = `${tag}n`;
const bridge = `${tag}br`;
const SERVER = '10.218.0.1';
const work = tempDir('lifeboat-lab-');
const dataDir = join(work.dir, 'data');
let daemon: TestDaemon;
let api: ApiClient;
let taps = 0;
/** The appliance's certificate fingerprint, 64 lowercase hex digits (lifeboat.fp). */
let pin = '';

const cli = (args: string[]) => execFileSync(process.execPath, [CLI, ...args, '--socket', daemon.socket], { encoding: 'utf8' });

/** The job is over after the test: cancelled, or already ended by the agent that ran it (these tests are about the way there). */
async function endJob(id: string): Promise<void> {
  spawnSync(process.execPath, [CLI, 'jobs', 'cancel', id, '--socket', daemon.socket], { encoding: 'utf8' });
  assert.match((await api.job(id)).state, /^(cancelled|done|failed)$/);
}

before(async () => {
  // The inputs (cached under var/ between runs): the signed kernel set, Node 24, the agent bundle.
  execFileSync('bash', [join(ROOT, 'kernels/build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [join(ROOT, 'src/bootos/node-runtime.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(process.execPath, [CLI, 'bootos', 'build', '--data-dir', dataDir, '--cache', join(ROOT, 'var/cache/bootos')], { stdio: ['ignore', 'ignore', 'inherit'] });
  sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
  sh(`ip -n ${ns} link add ${bridge} type bridge && ip -n ${ns} addr add ${SERVER}/24 dev ${bridge} && ip -n ${ns} link set ${bridge} up`);
  // An agent killed with its VM is given up on quickly when its job is cancelled.
  const config = join(work.dir, 'config.json');
  writeFileSync(config, JSON.stringify({ agent: { cancelSeconds: 3 } }));
  daemon = await startDaemon(work.dir, { dataDir, netns: ns, config, args: ['--interface', bridge, '--dhcp', 'full', '--dhcp-range', '10.218.0.100-10.218.0.150', '--http-port', '8080'] });
  api = new ApiClient(daemon.socket);
  const agentApi = (await api.appliance()).agentApi;
  assert.equal(agentApi?.url, `https://${SERVER}:8443`);
  pin = (agentApi?.fingerprint ?? '').replaceAll(':', '').toLowerCase();
  assert.match(pin, /^[0-9a-f]{64}$/);
});

/** The agent's serial console lines that say it pinned the appliance's certificate and was heard over HTTPS. */
async function saidHelloOverHttps(vm: Vm): Promise<void> {
  await until(() => vm.serial().includes('hello accepted'), 30_000, 'the agent printed that its hello was accepted', vm);
  const serial = vm.serial();
  assert.match(serial, new RegExp(`parameters from /proc/cmdline: https://${SERVER.replaceAll('.', '\\.')}:8443, certificate pinned \\(sha256 ${pin.slice(0, 16)}`));
  assert.match(serial, new RegExp(`hello accepted by https://${SERVER.replaceAll('.', '\\.')}:8443 \\(HTTP 200\\)`));
}

after(async () => {
  await daemon?.stop();
  sh(`ip netns del ${ns} 2>/dev/null || true`);
  work.cleanup();
});

interface Vm {
  serial: () => string;
  stop: () => Promise<void>;
}

/** A QEMU machine on a new tap of the lab bridge, serial console to a file. */
function boot(name: string, mac: string, firmware: string[], extra: string[] = []): Vm {
  const tap = `${tag}t${taps++}`;
  sh(`ip -n ${ns} tuntap add dev ${tap} mode tap && ip -n ${ns} link set ${tap} master ${bridge} && ip -n ${ns} link set ${tap} up`);
  const log = join(work.dir, `${name}.serial`);
  writeFileSync(log, '');
  const qemu: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'qemu-system-x86_64', '-accel', 'tcg', '-m', '1024', '-display', 'none', '-monitor', 'none', '-serial', `file:${log}`, '-no-reboot', ...firmware, '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, ...extra.map((e) => e.replace('NETDEV', 'n0').replace('MAC', mac))], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => qemu.once('exit', () => r()));
  return {
    // eslint-disable-next-line no-control-regex -- firmware consoles draw with ANSI sequences
    serial: () => readFileSync(log, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' '),
    stop: async () => {
      qemu.kill('SIGKILL');
      await exited;
      sh(`ip -n ${ns} link del ${tap} 2>/dev/null || true`);
    },
  };
}

async function until(what: () => boolean | Promise<boolean>, ms: number, label: string, vm: Vm): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`timed out: ${label}\n--- serial (last 3000) ---\n${vm.serial().slice(-3000)}\n--- daemon (last 2000) ---\n${daemon.log().slice(-2000)}`);
}

test('BIOS: iPXE from Lifeboat\'s DHCP, the boot OS over HTTP, the agent says hello for its job', { timeout: 420_000 }, async () => {
  const mac = '52:54:00:1b:00:01';
  cli(['machines', 'add', '--name', 'lab-bios', '--mac', mac]);
  const job = JSON.parse(cli(['backup', '--machine', 'lab-bios', '--json']).trim().split('\n').pop() as string) as { id: string };
  const disk = join(work.dir, 'bios-disk.img');
  sh(`truncate -s 64M ${disk}`);
  const vm = boot('bios', mac, ['-boot', 'n'], ['-device', 'e1000,netdev=NETDEV,mac=MAC', '-drive', `file=${disk},if=none,id=d0,format=raw`, '-device', 'virtio-blk-pci,drive=d0,serial=LAB-BIOS-1']);
  try {
    await until(async () => (await api.machine('lab-bios')).bootStage?.stage === 'agent', 360_000, 'the agent said hello', vm);
    const m = await api.machine('lab-bios');
    assert.deepEqual(m.disks.map((d) => d.serial), ['LAB-BIOS-1']);
    assert.notEqual((await api.job(job.id)).state, 'waiting-for-boot', 'the job was handed to the agent (which may be running it already)');
    assert.match(vm.serial(), /Linux version/);
    await saidHelloOverHttps(vm);
  } finally {
    await vm.stop();
    await endJob(job.id);
  }
});

test('UEFI with Secure Boot and Microsoft keys: shim → signed GRUB → the signed kernel over TFTP, Secure Boot enabled, hello', { timeout: 600_000 }, async () => {
  const mac = '52:54:00:5b:00:02';
  cli(['machines', 'add', '--name', 'lab-sb', '--mac', mac]);
  const job = JSON.parse(cli(['backup', '--machine', 'lab-sb', '--json']).trim().split('\n').pop() as string) as { id: string };
  const vars = join(work.dir, 'sb-vars.fd');
  copyFileSync(`${OVMF}/OVMF_VARS_4M.ms.fd`, vars);
  const vm = boot('sb', mac, ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/OVMF_CODE_4M.secboot.fd`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`], ['-device', 'virtio-net-pci,netdev=NETDEV,mac=MAC,romfile=']);
  try {
    await until(async () => (await api.machine('lab-sb')).bootStage?.stage === 'agent', 540_000, 'the agent said hello', vm);
    assert.match(vm.serial(), /Secure boot enabled/);
    await saidHelloOverHttps(vm);
    assert.match(daemon.log(), /"file":"shimx64.efi"/);
    assert.match(daemon.log(), /"file":"grubx64.efi"/);
  } finally {
    await vm.stop();
    await endJob(job.id);
  }
});

test('UEFI without Secure Boot, a machine set to iPXE: OVMF\'s own PXE → snponly.efi → the script over HTTP → hello', { timeout: 420_000 }, async () => {
  const mac = '52:54:00:1e:00:04';
  cli(['machines', 'add', '--name', 'lab-efi', '--mac', mac, '--loader', 'ipxe']);
  const job = JSON.parse(cli(['backup', '--machine', 'lab-efi', '--json']).trim().split('\n').pop() as string) as { id: string };
  const vars = join(work.dir, 'efi-vars.fd');
  copyFileSync(`${OVMF}/OVMF_VARS_4M.fd`, vars);
  const vm = boot('efi', mac, ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`], ['-device', 'virtio-net-pci,netdev=NETDEV,mac=MAC,romfile=']);
  try {
    await until(async () => (await api.machine('lab-efi')).bootStage?.stage === 'agent', 360_000, 'the agent said hello', vm);
    assert.match(daemon.log(), /"file":"snponly.efi"/);
    await saidHelloOverHttps(vm);
    assert.match(daemon.log(), /"type":"script","peer":"[0-9.]+","mac":"52:54:00:1e:00:04","action":"boot-os","mode":"job"/);
  } finally {
    await vm.stop();
    await endJob(job.id);
  }
});

test('a known machine with nothing to do boots its local disk', { timeout: 300_000 }, async () => {
  const mac = '52:54:00:1b:00:03';
  cli(['machines', 'add', '--name', 'lab-idle', '--mac', mac]);
  // A boot sector that writes a marker to COM1 and halts: xor ax,ax; mov ds,ax; mov dx,0x3f8; mov si,msg; lodsb; test al,al; jz hlt; out dx,al; jmp lodsb; hlt; jmp hlt
  const sector = Buffer.alloc(512);
  Buffer.from('31c08ed8baf803be157cac84c07403eeebf8f4ebfd', 'hex').copy(sector);
  Buffer.from('LIFEBOAT-LOCAL-DISK\r\n\0').copy(sector, 0x15);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  const disk = join(work.dir, 'idle-disk.img');
  writeFileSync(disk, sector);
  sh(`truncate -s 16M ${disk}`);
  const vm = boot('idle', mac, ['-boot', 'n'], ['-device', 'e1000,netdev=NETDEV,mac=MAC', '-drive', `file=${disk},if=ide,format=raw`]);
  try {
    await until(() => vm.serial().includes('LIFEBOAT-LOCAL-DISK'), 240_000, 'the local disk booted', vm);
    const m = await api.machine('lab-idle');
    assert.match(m.bootStage?.detail ?? '', /local disk: no job is waiting for lab-idle/);
  } finally {
    await vm.stop();
  }
});
