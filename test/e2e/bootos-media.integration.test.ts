// Boot media for real: `lifeboat bootmedia` writes a hybrid ISO with the parameters embedded;
// QEMU boots it (1) as a CD under UEFI with Secure Boot on (OVMF with Microsoft's keys
// enrolled: shim → Debian's signed GRUB → Debian's signed kernel, locked down, loading its
// signed modules), (2) as a CD under plain OVMF (no Secure Boot: the same shim → GRUB →
// kernel path, not locked down) and (3) as a USB stick under BIOS (SeaBIOS → isohybrid MBR →
// ISOLINUX). Each must reach the agent's hello on the listener this test runs with the same
// inventory (SMBIOS UUID, both disk serials), with no kernel command line parameter and no
// DHCP option naming the appliance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeBootMedia } from '../../src/bootos/boot-media.js';
import { type BootOsReport, ROOT, buildBootOs } from '../../src/bootos/build.js';
import { tempDir } from '../helpers/cli.js';
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
