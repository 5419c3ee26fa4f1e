// Real iPXE against the HTTP boot server: QEMU (TCG) boots its NIC's iPXE ROM under SeaBIOS
// and under OVMF; QEMU's user network hands it the script URL with iPXE's own variables
// (`${net0/mac}`, `${uuid}`, `${platform}`), which iPXE expands. The server must see the
// machine's MAC, SMBIOS UUID and firmware, answer by the boot decision, and iPXE must run
// the script: fetch the boot OS's kernel and initrd over HTTP (a machine with a job), or
// leave the network boot (a machine without one: no file fetched).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BootRecord, decideBoot } from '../../src/boot/decision.js';
import { type BootSubject, type HttpBootEvent, HttpBootServer } from '../../src/boot/http/server.js';
import { tempDir } from '../helpers/cli.js';

const QEMU = 'qemu-system-x86_64';
const OVMF = '/usr/share/OVMF';
const MAC = '52:54:00:4c:42:01';
const UUID = '6a0e1c2b-3d4f-4a5b-8c6d-7e8f90a1b2c3';

const firmwares = [
  // The stand-in kernel is random bytes: BIOS iPXE fetches kernel and initrd and fails only at
  // `boot`; EFI iPXE checks the kernel's format when it is fetched and stops there.
  { name: 'BIOS (SeaBIOS)', platform: 'bios', fetches: ['bootos/vmlinuz', 'bootos/initrd.img'], args: (_dir: string) => [] as string[] },
  {
    name: 'x64 UEFI (OVMF)',
    platform: 'uefi',
    fetches: ['bootos/vmlinuz'],
    args: (dir: string) => {
      copyFileSync(`${OVMF}/OVMF_VARS_4M.fd`, join(dir, 'vars.fd'));
      return ['-drive', `if=pflash,format=raw,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`, '-drive', `if=pflash,format=raw,file=${join(dir, 'vars.fd')}`];
    },
  },
];

assert.equal(spawnSync(QEMU, ['--version']).status, 0, 'qemu-system-x86 is installed (make apt)');

for (const firmware of firmwares) {
  test(`${firmware.name}: iPXE asks for its script with MAC, UUID and platform and fetches the boot OS a job gives it`, { timeout: 150_000 }, async () => {
    const t = tempDir('lifeboat-httpboot-e2e-');
    const root = join(t.dir, 'boot');
    mkdirSync(join(root, 'bootos'), { recursive: true });
    writeFileSync(join(root, 'bootos/vmlinuz'), randomBytes(64 << 10)); // not a kernel: iPXE fetches it, then fails to boot it
    writeFileSync(join(root, 'bootos/initrd.img'), randomBytes(1 << 20));
    const asked: BootSubject[] = [];
    const events: HttpBootEvent[] = [];
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    const record: BootRecord = { machine: { id: 'm', name: 'lab-a' }, job: { id: 'j1', type: 'backup', token: 'T0KEN' } };
    const server = await HttpBootServer.start({
      root,
      host: '127.0.0.1',
      port: 0,
      publicBase: (port) => `http://10.0.2.2:${port}`, // the host's loopback, seen from QEMU's user network
      plan: async (subject) => {
        asked.push(subject);
        const action = decideBoot(subject.firmware, subject.mac === MAC ? record : {}, { discovery: false });
        return { action, files: { kernel: 'bootos/vmlinuz', initrd: 'bootos/initrd.img', cmdline: ['lifeboat.token=T0KEN'] } };
      },
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'file' && e.path === firmware.fetches.at(-1)) done();
      },
    });
    // iPXE expands its settings in the boot file name it got from DHCP.
    const script = `http://10.0.2.2:${server.port}/boot/ipxe?mac=\${net0/mac}&uuid=\${uuid}&platform=\${platform}`;
    const qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '256', '-display', 'none', '-serial', 'none', '-monitor', 'none', '-no-reboot', '-boot', 'n', '-smbios', `type=1,uuid=${UUID}`, ...firmware.args(t.dir), '-netdev', `user,id=n0,bootfile=${script}`, '-device', `e1000,netdev=n0,mac=${MAC}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
    try {
      const timer = setTimeout(done, 120_000);
      await Promise.race([finished, exited]);
      clearTimeout(timer);
      assert.deepEqual(asked, [{ mac: MAC, uuid: UUID, firmware: firmware.platform, address: '127.0.0.1' }], `events: ${JSON.stringify(events)}\n${stderr}`);
      const files = events.filter((e): e is Extract<HttpBootEvent, { type: 'file' }> => e.type === 'file');
      const sizes: Record<string, number> = { 'bootos/vmlinuz': 64 << 10, 'bootos/initrd.img': 1 << 20 };
      assert.deepEqual(files.map((e) => [e.path, e.bytes]), firmware.fetches.map((f) => [f, sizes[f]]), JSON.stringify(events));
    } finally {
      qemu.kill('SIGKILL');
      await exited;
      await server.close();
      t.cleanup();
    }
  });
}
