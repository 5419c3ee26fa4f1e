// Boot media for real: `lifeboat bootmedia` writes a hybrid ISO with the parameters embedded;
// QEMU boots it (1) as a CD under UEFI with Secure Boot on (OVMF with Microsoft's keys
// enrolled: shim → Debian's signed GRUB → Debian's signed kernel, locked down, loading its
// signed modules), (2) as a CD under plain OVMF (no Secure Boot: the same shim → GRUB →
// kernel path, not locked down) and (3) as a USB stick under BIOS (SeaBIOS → isohybrid MBR →
// ISOLINUX). Each must reach the agent's hello on the listener this test runs with the same
// inventory (SMBIOS UUID, both disk serials), with no kernel command line parameter and no
// DHCP option naming the appliance. (4) A medium made with `lifeboat bootmedia --machine`
// through a real daemon (boot services on the host's loopback, which QEMU's user network
// reaches as 10.0.2.2) boots under SeaBIOS from CD, and the daemon recognises the agent's
// hello as that machine: its waiting job moves on.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeBootMedia } from '../../src/bootos/boot-media.js';
import { type BootOsReport, ROOT, buildBootOs } from '../../src/bootos/build.js';
import { ApiClient } from '../../src/api/client.js';
import { CLI, tempDir } from '../helpers/cli.js';
import { startDaemon } from '../helpers/daemon.js';
import { firmwareArgs } from '../helpers/firmware.js';
import { type Boot, bootToHello } from './bootos-qemu.js';

const TOKEN = `media_${process.pid}_0123456789abcdef`;
let work: ReturnType<typeof tempDir>;
let built: BootOsReport;

before(async () => {
  work = tempDir('lifeboat-bootmedia-e2e-');
  for (const script of ['kernels/build.sh', 'kernels/efi.sh', 'src/bootos/node-runtime.sh']) execFileSync('bash', [join(ROOT, script)], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [join(ROOT, 'src/bootos/bundle-agent.sh'), join(work.dir, 'agent.cjs')]);
  built = await buildBootOs({ dataDir: join(work.dir, 'data'), agentPath: join(work.dir, 'agent.cjs'), cacheDir: join(ROOT, 'var/cache/bootos') });
  process.on('exit', () => work.cleanup());
});

/** The ISO for a listener on `port` (the guest reaches the host's loopback as 10.0.2.2). */
function media(name: string, port: number): string {
  const out = join(work.dir, `${name}.iso`);
  writeBootMedia({ bootDir: built.dir, efiDir: join(ROOT, 'var/kernels/efi'), out, params: { url: `http://10.0.2.2:${port}`, token: TOKEN, fingerprint: null, network: null, debug: false } });
  return out;
}

/** The inventory QEMU was given arrived: the SMBIOS UUID and both disks' serials (bootos-qemu.ts names them). */
function assertInventory(r: Boot, uuid: string, tail: string): void {
  assert.ok(r.hello, `no hello${tail}`);
  assert.equal(r.hello.auth, `Bearer ${TOKEN}`);
  assert.equal(r.hello.body.inventory.smbios.system.uuid, uuid);
  // the machine's two disks by serial (a USB stick booted from is a disk too, without a serial)
  assert.deepEqual(r.hello.body.inventory.disks.flatMap((d) => (d.serial ? [d.serial] : [])).sort(), [`NVME-${process.pid}`, `VBLK-${process.pid}`], tail);
}

test('UEFI with Secure Boot on, from CD: shim → signed GRUB → signed kernel (locked down) → the agent says hello', { timeout: 500_000 }, async () => {
  const uuid = randomUUID();
  const r = await bootToHello({
    dir: work.dir,
    name: 'uefi-sb',
    uuid,
    timeoutMs: 450_000,
    // Microsoft's keys enrolled, Secure Boot on
    bootArgs: (port) => [...firmwareArgs('uefi-sb', join(work.dir, 'sb-vars.fd')), '-cdrom', media('uefi', port)],
  });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  assertInventory(r, uuid, tail);
  console.log(`# UEFI Secure Boot CD: QEMU start → hello ${r.seconds.toFixed(1)} s`);
  assert.match(r.console, /secureboot: Secure boot enabled/, tail);
  assert.match(r.console, /Kernel is locked down from EFI Secure Boot/, tail);
  assert.match(r.console, /parameters from \/etc\/lifeboat\/params/, tail);
});

test('UEFI without Secure Boot (plain OVMF), from CD: shim → GRUB → the kernel, not locked down → the agent says hello', { timeout: 500_000 }, async () => {
  const uuid = randomUUID();
  const r = await bootToHello({
    dir: work.dir,
    name: 'uefi-plain',
    uuid,
    timeoutMs: 450_000,
    bootArgs: (port) => [...firmwareArgs('uefi', join(work.dir, 'plain-vars.fd')), '-cdrom', media('uefi-plain', port)],
  });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  assertInventory(r, uuid, tail);
  console.log(`# UEFI (no Secure Boot) CD: QEMU start → hello ${r.seconds.toFixed(1)} s`);
  assert.match(r.console, /secureboot: Secure boot disabled/, tail);
  assert.doesNotMatch(r.console, /Kernel is locked down/, tail);
  assert.match(r.console, /parameters from \/etc\/lifeboat\/params/, tail);
});

test('BIOS, the same image as a USB stick: isohybrid MBR → ISOLINUX → the agent says hello', { timeout: 500_000 }, async () => {
  const uuid = randomUUID();
  const r = await bootToHello({
    dir: work.dir,
    name: 'bios-usb',
    uuid,
    timeoutMs: 450_000,
    bootArgs: (port) => ['-drive', `if=none,id=stick,format=raw,file=${media('usb', port)}`, '-device', 'qemu-xhci', '-device', 'usb-storage,drive=stick,bootindex=0'],
  });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  assertInventory(r, uuid, tail);
  console.log(`# BIOS USB stick: QEMU start → hello ${r.seconds.toFixed(1)} s`);
  assert.match(r.console, /ISOLINUX/, tail);
  assert.match(r.console, /parameters from \/etc\/lifeboat\/params/, tail);
});

test('a --machine medium made through the daemon: the agent\'s hello is recognised as that machine and gets its job', { timeout: 500_000 }, async () => {
  const port = 20_000 + (process.pid % 20_000);
  // The daemon serves the boot OS this test built (its data directory), its agent routes on 127.0.0.1 only:
  // on plain HTTP too (the lab setting), as QEMU's user network reaches only the port the medium names.
  const config = join(work.dir, 'daemon-config.json');
  writeFileSync(config, JSON.stringify({ boot: { agentPlainHttp: true } }));
  const daemon = await startDaemon(join(work.dir, 'daemon'), { config, dataDir: join(work.dir, 'data'), args: ['--interface', 'lo', '--http-port', String(port), '--tftp-port', String(port + 1), '--agent-port', String(port + 2)] });
  try {
    const api = new ApiClient(daemon.socket);
    await api.addMachine({ name: 'lab-pc', macs: ['52:54:00:12:34:56'] }); // QEMU's MAC for its first NIC
    const job = await api.createJob({ type: 'backup', machine: 'lab-pc' });
    const iso = join(work.dir, 'lab-pc.iso');
    const made = spawnSync(process.execPath, [CLI, 'bootmedia', '--out', iso, '--machine', 'lab-pc', '--server', `http://10.0.2.2:${port}`, '--data-dir', join(work.dir, 'data'), '--efi', join(ROOT, 'var/kernels/efi'), '--socket', daemon.socket], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const uuid = randomUUID();
    const r = await bootToHello({ dir: work.dir, name: 'machine-medium', uuid, timeoutMs: 450_000, until: /hello accepted by http:\/\/10\.0\.2\.2/, bootArgs: () => ['-boot', 'd', '-cdrom', iso] });
    const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}\n--- daemon ---\n${daemon.log().slice(-2000)}`;
    assert.match(r.console, /hello accepted by http:\/\/10\.0\.2\.2/, tail);
    console.log(`# --machine medium, BIOS CD: QEMU start → hello recognised ${r.seconds.toFixed(1)} s`);
    const m = await api.machine('lab-pc');
    assert.equal(m.bootStage?.stage, 'agent', tail);
    assert.equal(m.systemUuid, uuid, 'the hello was recorded on lab-pc');
    assert.deepEqual(m.disks.map((d) => d.serial).sort(), [`NVME-${process.pid}`, `VBLK-${process.pid}`]);
    // Handed to the agent, which runs it at once (this VM has two disks and the job names none: it may already have ended).
    assert.notEqual((await api.job(job.id)).state, 'waiting-for-boot', 'its waiting job was handed to the agent');
    assert.ok((await api.media()).some((x) => x.machine === 'lab-pc' && x.lastUsedAt), 'the medium was used');
  } finally {
    await daemon.stop();
  }
});
