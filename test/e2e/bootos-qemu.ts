// The QEMU side of the boot OS lab: a listener on the host's loopback stands in for the
// appliance's agent API (10.0.2.2 from QEMU's user network), QEMU (TCG) boots with the
// given boot arguments, an SMBIOS UUID and two disks with serials (virtio-blk, NVMe), and
// the serial console goes to <dir>/console-<name>.log.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const QEMU = 'qemu-system-x86_64';

export interface Boot {
  hello: { auth: string | undefined; url: string; body: HelloBody } | null;
  connections: number;
  console: string;
  seconds: number;
}
export interface HelloBody {
  inventory: { smbios: { system: { uuid: string | null; serial: string | null } }; disks: { name: string; serial: string | null; sizeBytes: number; transport: string }[]; nics: { mac: string }[] };
}

export interface BootOptions {
  dir: string;
  name: string;
  /** QEMU arguments that boot the boot OS (-kernel/-initrd/-append, -cdrom, firmware…), given the listener's port */
  bootArgs: (port: number) => string[];
  uuid: string;
  /** stop when the console matches this (else at the hello or the timeout) */
  until?: RegExp;
  timeoutMs: number;
}

/** Boots; resolves at the hello, at `until` in the console, or at the timeout. */
export async function bootToHello(opts: BootOptions): Promise<Boot> {
  const { dir, name } = opts;
  const result: Boot = { hello: null, connections: 0, console: '', seconds: 0 };
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      result.hello = { auth: req.headers.authorization, url: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) as HelloBody };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      finish();
    });
  });
  server.on('connection', () => result.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const log = join(dir, `console-${name}.log`);
  const disks = ['vblk', 'nvme'].map((d) => {
    const f = join(dir, `${name}-${d}.img`);
    writeFileSync(f, '');
    truncateSync(f, 64 << 20);
    return f;
  });
  const t0 = Date.now();
  const qemu = spawn(QEMU, [
    '-accel', 'tcg', '-cpu', 'max', '-m', '1024', '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-serial', `file:${log}`,
    ...opts.bootArgs(port),
    '-smbios', `type=1,uuid=${opts.uuid},manufacturer=Lifeboat Lab,product=e2e-${process.pid},serial=SYS-${process.pid}`,
    '-drive', `file=${disks[0]},if=none,id=d0,format=raw`, '-device', `virtio-blk-pci,drive=d0,serial=VBLK-${process.pid}`,
    '-drive', `file=${disks[1]},if=none,id=d1,format=raw`, '-device', `nvme,drive=d1,serial=NVME-${process.pid}`,
    '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  qemu.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => qemu.on('exit', () => r()));
  const poll = setInterval(() => {
    if (opts.until && existsSync(log) && opts.until.test(readFileSync(log, 'utf8'))) finish();
  }, 500);
  const timer = setTimeout(finish, opts.timeoutMs);
  try {
    await Promise.race([finished, exited]);
    result.seconds = (Date.now() - t0) / 1000;
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    qemu.kill('SIGKILL');
    await exited;
    await new Promise<void>((r) => server.close(() => r()));
    result.console = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (stderr) result.console += `\n[qemu stderr] ${stderr}`;
  }
  return result;
}
