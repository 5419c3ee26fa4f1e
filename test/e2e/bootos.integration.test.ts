// The boot OS for real: `make kernels`'s signed Debian kernel and the initramfs that
// buildBootOs writes boot in QEMU (TCG; -kernel/-initrd/-append, as iPXE would load them),
// /init loads the drivers by modalias, DHCPs on QEMU's user network, and the agent POSTs
// its hello to a listener this test runs on the host's loopback (10.0.2.2 from the guest).
// The hello must carry the SMBIOS UUID and the disk serials QEMU was given. Bad parameters
// must stop with a clear console message and without a connection to the listener. The
// hello boot has lifeboat.selftest=1 too: /init first runs the image engine's selftest
// (worker threads, the LZ4 codec addon, SHA-256) and its line must be on the console.
// The serial console goes to <tmp>/console-*.log (printed when an assertion fails).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type BootOsReport, ROOT, buildBootOs } from '../../src/bootos/build.js';
import { decodeCpio } from '../../src/bootos/cpio.js';
import { withParams } from '../../src/bootos/initramfs.js';
import { tempDir } from '../helpers/cli.js';
import { bootToHello } from './bootos-qemu.js';

const TOKEN = `job_${process.pid}_0123456789abcdef`;
let work: ReturnType<typeof tempDir>;
let built: BootOsReport;
let buildSeconds = 0;

before(async () => {
  work = tempDir('lifeboat-bootos-e2e-');
  // The inputs, cached across runs: the kernel set and Node 24 (both under var/, git-ignored).
  execFileSync('bash', [join(ROOT, 'kernels/build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [join(ROOT, 'src/bootos/node-runtime.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('bash', [join(ROOT, 'src/bootos/bundle-agent.sh'), join(work.dir, 'agent.cjs')]);
  const t0 = Date.now();
  built = await buildBootOs({ dataDir: join(work.dir, 'data'), agentPath: join(work.dir, 'agent.cjs'), cacheDir: join(ROOT, 'var/cache/bootos') });
  buildSeconds = (Date.now() - t0) / 1000;
  process.on('exit', () => work.cleanup());
});

test('the build is deterministic, under 40 MB, and holds /init, Node, its libraries, busybox, the agent with its worker and codec, and every module with its dependencies', async () => {
  const again = await buildBootOs({ dataDir: join(work.dir, 'data2'), agentPath: join(work.dir, 'agent.cjs'), cacheDir: join(ROOT, 'var/cache/bootos') });
  assert.equal(again.initrd.sha256, built.initrd.sha256, 'two builds, same bytes');
  assert.equal(again.vmlinuz.sha256, built.vmlinuz.sha256);
  assert.ok(built.initrd.bytes <= 40 * 1024 * 1024, `initrd is ${built.initrd.bytes} bytes`);
  const initrd = readFileSync(join(built.dir, 'initrd.img'));
  // The system archive (the second one) unpacked by the real zstd and read by our reader.
  const systemBytes = initrd.subarray(built.segments[0]!.bytes);
  const raw = execFileSync('zstd', ['-d', '-c'], { input: systemBytes, maxBuffer: 1 << 30 });
  const paths = new Set(decodeCpio(raw).map((m) => m.path));
  const agentFiles = ['usr/lib/lifeboat/dist/agent/agent.cjs', 'usr/lib/lifeboat/dist/agent/chunk-worker.cjs', 'usr/lib/lifeboat/dist/native/lz4.node', 'lib/x86_64-linux-gnu/liblz4.so.1'];
  for (const p of ['init', 'bin/busybox', ...agentFiles, 'etc/lifeboat/udhcpc.script', `lib/modules/${built.kernelVersion}/modules.alias`]) assert.ok(paths.has(p), p);
  const dep = decodeCpio(raw).find((m) => m.path === `lib/modules/${built.kernelVersion}/modules.dep`)!.data.toString();
  for (const name of ['nvme', 'virtio_blk', 'ahci', 'e1000e', 'igb', 'r8169', 'virtio_net', 'xhci-pci', 'usb-storage', 'vfat', 'ext4']) assert.match(dep, new RegExp(`/${name}\\.ko:`), name);
  for (const line of dep.trim().split('\n')) for (const m of line.replace(':', '').split(' ')) assert.ok(paths.has(`lib/modules/${built.kernelVersion}/${m}`), `${m} (from modules.dep) is in the initramfs`);
  const runtime = execFileSync('zstd', ['-d', '-c'], { input: initrd.subarray(0, built.segments[0]!.bytes), maxBuffer: 1 << 30 });
  const rpaths = decodeCpio(runtime).map((m) => m.path);
  for (const p of ['usr/bin/node', 'lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/libstdc++.so.6']) assert.ok(rpaths.includes(p), p);
  console.log(`# build: ${buildSeconds.toFixed(1)} s (runtime archive ${built.segments[0]!.cached ? 'cached' : 'compressed'}), initrd ${(built.initrd.bytes / 1e6).toFixed(1)} MB (system archive ${(built.segments[1]!.bytes / 1e6).toFixed(2)} MB), vmlinuz ${(built.vmlinuz.bytes / 1e6).toFixed(1)} MB`);
});

const kernelArgs = (append: string, initrd = join(built.dir, 'initrd.img')) => ['-kernel', join(built.dir, 'vmlinuz'), '-initrd', initrd, '-append', append];

test('QEMU boots kernel + initramfs; lifeboat.selftest=1 runs the image engine there; the hello carries the SMBIOS UUID and the disk serials', { timeout: 400_000 }, async () => {
  const uuid = randomUUID();
  const r = await bootToHello({ dir: work.dir, name: 'hello', bootArgs: (port) => kernelArgs(`console=ttyS0,115200n8 lifeboat.url=http://10.0.2.2:${port}/lb lifeboat.token=${TOKEN} lifeboat.selftest=1`), uuid, timeoutMs: 360_000 });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  for (const line of r.console.split('\n').filter((l) => /^lifeboat/.test(l))) console.log(`# console: ${line.trim()}`);
  // The engine in the boot OS: worker threads from the bundle, the LZ4 codec addon with liblz4, SHA-256.
  const selftest = /lifeboat agent: selftest OK: .*/.exec(r.console)?.[0];
  assert.ok(selftest, `no selftest OK line${tail}`);
  assert.match(selftest, /8\.0 MiB in 8 chunks through 2 worker threads, LZ4 \(liblz4 \d+\.\d+\.\d+\) [\d.]+x, every frame decoded and SHA-256 checked, a damaged frame refused/);
  assert.match(selftest, /\(Node v24\.\d+\.\d+, codec \/usr\/lib\/lifeboat\/dist\/native\/lz4\.node\)/);
  assert.ok(r.hello, `no hello within the time limit${tail}`);
  console.log(`# QEMU start → selftest → hello: ${r.seconds.toFixed(1)} s`);
  assert.equal(r.hello.url, '/lb/agent/v1/hello');
  assert.equal(r.hello.auth, `Bearer ${TOKEN}`);
  const inv = r.hello.body.inventory;
  assert.equal(inv.smbios.system.uuid, uuid, tail);
  assert.equal(inv.smbios.system.serial, `SYS-${process.pid}`);
  const bySerial = Object.fromEntries(inv.disks.map((d) => [d.serial, d]));
  assert.equal(bySerial[`VBLK-${process.pid}`]?.transport, 'virtio', JSON.stringify(inv.disks));
  assert.equal(bySerial[`NVME-${process.pid}`]?.transport, 'nvme', JSON.stringify(inv.disks));
  assert.equal(bySerial[`NVME-${process.pid}`]?.sizeBytes, 64 << 20);
  assert.ok(inv.nics.some((n) => /^52:54:00:/.test(n.mac)), JSON.stringify(inv.nics));
});

test('bad parameters (malformed URL): a clear console message, the machine waits, no connection to the appliance', { timeout: 400_000 }, async () => {
  const r = await bootToHello({ dir: work.dir, name: 'bad', bootArgs: (port) => kernelArgs(`console=ttyS0,115200n8 lifeboat.url=http//10.0.2.2:${port} lifeboat.token=${TOKEN}`), uuid: randomUUID(), until: /this machine stays here/, timeoutMs: 360_000 });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  assert.match(r.console, /boot parameters: lifeboat\.url .* is not a URL/, tail);
  assert.match(r.console, /FAILED at agent/, tail);
  assert.equal(r.connections, 0);
  assert.equal(r.hello, null);
});

test('boot-media form: parameters embedded in the initramfs (none on the command line), with a static address instead of DHCP', { timeout: 400_000 }, async () => {
  const uuid = randomUUID();
  const initrd = (port: number) => {
    const f = join(work.dir, 'initrd-embedded.img');
    const params = { url: `http://10.0.2.2:${port}`, token: TOKEN, fingerprint: null, network: { address: '10.0.2.15/24', gateway: '10.0.2.2', dns: [] }, debug: false };
    writeFileSync(f, withParams(readFileSync(join(built.dir, 'initrd.img')), params));
    return f;
  };
  const r = await bootToHello({ dir: work.dir, name: 'embedded', bootArgs: (port) => kernelArgs('console=ttyS0,115200n8', initrd(port)), uuid, timeoutMs: 360_000 });
  const tail = `\n--- console (last 3000 chars) ---\n${r.console.slice(-3000)}`;
  assert.ok(r.hello, `no hello within the time limit${tail}`);
  assert.equal(r.hello.auth, `Bearer ${TOKEN}`);
  assert.equal(r.hello.body.inventory.smbios.system.uuid, uuid);
  assert.match(r.console, /parameters from \/etc\/lifeboat\/params/, tail);
  assert.match(r.console, /network: 10\.0\.2\.15\/24 on eth0 via 10\.0\.2\.2/, tail);
});
