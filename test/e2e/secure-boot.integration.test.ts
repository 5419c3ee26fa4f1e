// Secure Boot over the network with real firmware: OVMF with Secure Boot on and only
// Microsoft's keys enrolled (OVMF_CODE_4M.secboot.fd + OVMF_VARS_4M.ms.fd, q35, SMM), its
// own PXE client (virtio-net with no option ROM), on a tap device in a network namespace
// the test makes. dnsmasq hands out the address and the boot file (the site's DHCP server
// here; Lifeboat's own DHCP comes with the boot services), Lifeboat's TFTP server serves
// the boot root that installLoaders() filled from Debian's packages:
//   shimx64.efi (Microsoft-signed) → grubx64.efi (Debian-signed netboot GRUB) →
//   grub/grub.cfg → grub/mac/<mac>.cfg (rendered by the boot decision) → GRUB runs it.
// And the control: the same firmware refuses unsigned iPXE (snponly.efi).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderGrubMachine, renderGrubMain } from '../../src/boot/boot-script.js';
import { decideBoot } from '../../src/boot/decision.js';
import { installLoaders } from '../../src/boot/loaders.js';
import { REPO, sh, tempDir } from '../helpers/cli.js';

const OVMF = '/usr/share/OVMF';
const MAC = '52:54:00:5b:00:01';

interface Sent {
  type: string;
  file?: string;
  bytes?: number;
  reason?: string;
}

/** Starts a child, collecting its JSON stdout lines; `ready` resolves on {"listening":true}. */
function jsonChild(cmd: string, args: string[]): { child: ChildProcess; lines: Sent[]; ready: Promise<void> } {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Sent[] = [];
  let buf = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening`)));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, nl)) as Sent & { listening?: boolean };
        buf = buf.slice(nl + 1);
        if (line.listening) resolve();
        else lines.push(line);
      }
    });
  });
  return { child, lines, ready };
}

async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return what();
}

async function secureBootNetwork(bootFile: string, until: (sent: Sent[], serial: () => string) => boolean) {
  const t = tempDir('lifeboat-sb-');
  const tag = `lbs${process.pid % 100000}`;
  const ns = `${tag}n`;
  const tap = `${tag}t`;
  const root = join(t.dir, 'boot');
  const serialLog = join(t.dir, 'serial.log');
  const children: ChildProcess[] = [];
  const stopped: Array<Promise<unknown>> = [];
  try {
    await installLoaders(root);
    mkdirSync(join(root, 'grub/mac'), { recursive: true });
    writeFileSync(join(root, 'grub/grub.cfg'), renderGrubMain());
    const action = decideBoot('uefi', { machine: { id: 'm', name: 'sb-client' } }, { discovery: false });
    writeFileSync(join(root, `grub/mac/${MAC}.cfg`), renderGrubMachine(action, { kernel: 'bootos/vmlinuz', initrd: 'bootos/initrd.img', cmdline: [] }));
    copyFileSync(`${OVMF}/OVMF_VARS_4M.ms.fd`, join(t.dir, 'vars.fd'));
    writeFileSync(serialLog, '');

    sh(`ip netns add ${ns}`);
    sh(`ip -n ${ns} link set lo up && ip -n ${ns} tuntap add dev ${tap} mode tap && ip -n ${ns} addr add 10.215.0.1/24 dev ${tap} && ip -n ${ns} link set ${tap} up`);
    const tftp = jsonChild('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/tftp-serve.ts'), root, '10.215.0.1', '69']);
    children.push(tftp.child);
    await tftp.ready;
    const dnsmasq = spawn('ip', ['netns', 'exec', ns, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', `--interface=${tap}`, '--bind-interfaces', '--dhcp-range=10.215.0.50,10.215.0.99,1h', `--dhcp-boot=${bootFile},,10.215.0.1`, `--dhcp-leasefile=${join(t.dir, 'leases')}`, `--pid-file=${join(t.dir, 'dnsmasq.pid')}`], { stdio: 'ignore' });
    children.push(dnsmasq);
    const qemu = spawn('ip', ['netns', 'exec', ns, 'qemu-system-x86_64', '-accel', 'tcg', '-m', '512', '-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/OVMF_CODE_4M.secboot.fd`, '-drive', `if=pflash,format=raw,unit=1,file=${join(t.dir, 'vars.fd')}`,
      '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0,mac=${MAC},romfile=`,
      '-display', 'none', '-monitor', 'none', '-serial', `file:${serialLog}`, '-no-reboot'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(qemu);
    let stderr = '';
    qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    for (const c of children) stopped.push(new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))));
    // the firmware's console draws with ANSI cursor moves: keep only the text
    // eslint-disable-next-line no-control-regex
    const serial = () => readFileSync(serialLog, 'latin1').replace(/\x1b\[[0-9;]*[A-Za-z]/g, ' ');
    const reached = await waitFor(() => until(tftp.lines, serial) || qemu.exitCode !== null, 150_000);
    return { reached, sent: tftp.lines, serial: serial(), stderr };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(stopped);
    sh(`ip netns del ${ns} 2>/dev/null || true`);
    t.cleanup();
  }
}

test('OVMF with Secure Boot and Microsoft keys: shim → signed GRUB → the per-machine config from Lifeboat\'s TFTP server', { timeout: 200_000 }, async () => {
  assert.ok(existsSync(`${OVMF}/OVMF_CODE_4M.secboot.fd`), 'ovmf is installed (make apt)');
  const r = await secureBootNetwork('shimx64.efi', (sent, serial) => sent.some((s) => s.file === `/grub/mac/${MAC}.cfg`) && /Lifeboat: no job is waiting for sb-client/.test(serial()));
  // GRUB asks with a leading slash (its prefix is (tftp,<server>)/grub)
  const files = r.sent.filter((s) => s.type === 'sent').map((s) => s.file?.replace(/^\//, ''));
  assert.ok(r.reached, `sent ${JSON.stringify(r.sent)}\nserial: ${r.serial.slice(-3000)}\n${r.stderr}`);
  for (const f of ['shimx64.efi', 'grubx64.efi', 'grub/grub.cfg', `grub/mac/${MAC}.cfg`]) assert.ok(files.includes(f), `${f} was served: ${JSON.stringify(files)}`);
  assert.ok(files.indexOf('shimx64.efi') < files.indexOf('grubx64.efi') && files.indexOf('grubx64.efi') < files.indexOf('grub/grub.cfg'));
  assert.match(r.serial, /Lifeboat: no job is waiting for sb-client: booting the local disk/);
});

test('OVMF with Secure Boot refuses unsigned iPXE from the same server', { timeout: 200_000 }, async () => {
  const r = await secureBootNetwork('snponly.efi', (_sent, serial) => /Access Denied|Security Violation/i.test(serial()));
  assert.ok(r.reached, `serial: ${r.serial.slice(-3000)}`);
  assert.match(r.serial, /Access Denied|Security Violation/i);
  assert.ok(r.sent.some((s) => s.type === 'sent' && s.file === 'snponly.efi'), 'the firmware fetched iPXE before refusing it');
  assert.doesNotMatch(r.serial, /iPXE initialising|iPXE \d/);
});
