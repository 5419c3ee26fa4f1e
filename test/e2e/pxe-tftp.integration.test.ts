// Real PXE firmware against the TFTP server: QEMU (TCG) boots its e1000 card's iPXE ROM,
// under SeaBIOS (BIOS) and under OVMF (x64 UEFI); QEMU's user network hands it a boot
// file URL on the host's loopback, where our server runs. iPXE must fetch a script, run it (it chains a second script), fetch a 2 MiB file
// and chain a last script — each step a request the server sees, whole and in order.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type TftpEvent, TftpServer } from '../../src/boot/tftp/server.js';
import { tempDir } from '../helpers/cli.js';

const QEMU = 'qemu-system-x86_64';
const OVMF = '/usr/share/OVMF';
const noQemu = spawnSync(QEMU, ['--version']).status !== 0 ? 'qemu-system-x86 is not installed (make apt installs it)' : false;

const firmwares = [
  { name: 'BIOS (SeaBIOS)', skip: noQemu, args: (_dir: string) => [] as string[] },
  {
    name: 'x64 UEFI (OVMF)',
    skip: noQemu || (existsSync(`${OVMF}/OVMF_CODE_4M.fd`) ? false : 'ovmf is not installed (make apt installs it)'),
    args: (dir: string) => {
      copyFileSync(`${OVMF}/OVMF_VARS_4M.fd`, join(dir, 'vars.fd')); // the firmware writes its variables
      return ['-drive', `if=pflash,format=raw,readonly=on,file=${OVMF}/OVMF_CODE_4M.fd`, '-drive', `if=pflash,format=raw,file=${join(dir, 'vars.fd')}`];
    },
  },
];

for (const firmware of firmwares) test(`${firmware.name}: QEMU's iPXE ROM fetches scripts and a 2 MiB file from the TFTP server and runs them`, { skip: firmware.skip, timeout: 150_000 }, async () => {
  const t = tempDir('lifeboat-pxe-');
  const root = join(t.dir, 'boot');
  mkdirSync(root);
  const events: TftpEvent[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const server = await TftpServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'sent' && e.file === 'done.ipxe') done();
    },
  });
  const base = `tftp://10.0.2.2:${server.address.port}`; // the host's loopback, seen from QEMU's user network
  writeFileSync(join(root, 'first.ipxe'), `#!ipxe\nchain ${base}/second.ipxe\n`);
  writeFileSync(join(root, 'second.ipxe'), `#!ipxe\nimgfetch ${base}/payload.bin && chain ${base}/done.ipxe\n`);
  writeFileSync(join(root, 'payload.bin'), randomBytes(2 << 20));
  writeFileSync(join(root, 'done.ipxe'), '#!ipxe\nsleep 60\n');
  const qemu = spawn(QEMU, ['-accel', 'tcg', '-m', '256', '-display', 'none', '-serial', 'none', '-monitor', 'none', '-no-reboot', '-boot', 'n', ...firmware.args(t.dir), '-netdev', `user,id=n0,bootfile=${base}/first.ipxe`, '-device', 'e1000,netdev=n0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => qemu.on('exit', () => resolve()));
  try {
    const timer = setTimeout(done, 120_000);
    await Promise.race([finished, exited]);
    clearTimeout(timer);
    const sent = events.filter((e): e is Extract<TftpEvent, { type: 'sent' }> => e.type === 'sent');
    assert.deepEqual(sent.map((e) => e.file), ['first.ipxe', 'second.ipxe', 'payload.bin', 'done.ipxe'], `events: ${JSON.stringify(events)}\n${stderr}`);
    const payload = sent.find((e) => e.file === 'payload.bin');
    assert.equal(payload?.bytes, 2 << 20);
    assert.ok((payload?.blockSize ?? 0) > 512, 'iPXE negotiated a block size');
    assert.deepEqual(events.filter((e) => e.type !== 'sent' && e.type !== 'started'), [], 'nothing refused or failed');
  } finally {
    qemu.kill('SIGKILL');
    await exited;
    await server.close();
    t.cleanup();
  }
});
