// Agent benchmark (issue 15, part of `make bench`): one QEMU machine (SeaBIOS + iPXE, TCG) with
// lab disk A (test/helpers/lab-disks.ts: 256 MiB GPT, ext4 + FAT32 + NTFS, partly used) on the
// lab network of test/helpers/vm-lab.ts (namespace, bridge, the real `lifeboat serve`). Measures
//   - the agent's full backup and an incremental one (disk unchanged): job running → done from
//     the daemon's job record, and the bytes it read and stored;
//   - the anchor in the same VM, same disk, same kernel and NIC: `dd if=/dev/vda bs=4M | lz4 -1
//     | nc <appliance> <port>` into a listener in the namespace (the bench-only /init of
//     agent-bench-init.sh and Debian's lz4 appended to the boot OS initramfs), and the restore
//     anchor `nc | lz4 -d | dd of=/dev/vda`, against the agent's restore of the first image;
//   - the agent's peak RSS (it prints it when its job ends);
//   - QEMU start → agent hello, BIOS (iPXE) and UEFI Secure Boot (OVMF's PXE, shim, GRUB).
// Prints one table. Needs `make build` (dist/) first. Run: node --import tsx test/bench/agent-bench.ts
// `--only=backup|restore|hello` measures one part (a restore needs the full backup's image first;
// its anchor stream is then made with the host's lz4 -1, the same Debian binary the VM runs).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '../../src/api/wire.js';
import { encodeCpio } from '../../src/bootos/cpio.js';
import { REPO, tempDir } from '../helpers/cli.js';
import { makeDiskA } from '../helpers/lab-disks.js';
import { type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const MiB = 1 << 20;
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (ONLY !== undefined && !['backup', 'restore', 'hello'].includes(ONLY)) throw new Error(`--only=${ONLY}: say backup, restore or hello`);
const want = (part: 'backup' | 'restore' | 'hello') => ONLY === undefined || ONLY === part;
const work = tempDir('lifeboat-agent-bench-');
const disk = join(work.dir, 'a.img');
const spec: VmSpec = { name: 'a', mac: '52:54:00:1b:01:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: disk, bus: 'virtio', serial: `BENCH-A-${process.pid}` } };
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const secs = (j: Job) => (Date.parse(j.finishedAt ?? '') - Date.parse(j.startedAt ?? '')) / 1000;
let lab: VmLab | null = null;

async function agentJob(args: string[], vmSpec: VmSpec): Promise<{ job: Job; helloS: number; rssMiB: number; timings: string[] }> {
  if (!lab) throw new Error('no lab');
  const l = lab;
  const cli: ChildProcess = l.cliSpawn([...args, '--wait', '--json']);
  let stdout = '';
  cli.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (c) => r(c)));
  await l.until(async () => (await l.api.jobs({ state: ['waiting-for-boot'] })).length > 0, 30_000, 'the job waits for its boot', []);
  let vm = l.boot(vmSpec);
  try {
    // TCG on a loaded host now and then panics the guest kernel at its timer check ("IO-APIC +
    // timer doesn't work"): that boot is killed and the machine started again, once, said below
    await l.until(async () => /Kernel panic/.test(vm.serial()) || (await l.api.machine(vmSpec.name)).bootStage?.stage === 'agent', 600_000, `${vmSpec.name} boots`, [vm]);
    if (/Kernel panic/.test(vm.serial())) {
      console.log(`agent bench: ${vmSpec.name}'s kernel panicked under TCG (${/Kernel panic[^\n]*/.exec(vm.serial())?.[0]}): booting it again`);
      await vm.kill();
      vm = l.boot(vmSpec);
    }
    const m = await l.hello(vmSpec.name, vm, 600_000);
    const helloS = (Date.parse(m.bootStage?.at ?? '') - vm.startedAt) / 1000;
    const code = await ended;
    const job = JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as Job;
    if (code !== 0 || job?.state !== 'done') throw new Error(`lifeboat ${args.join(' ')} exited ${code}: ${stdout.slice(-1500)}\n${l.diagnostics([vm])}`);
    await l.until(() => !vm.running() || /peak RSS \d+ MiB/.test(vm.serial()), 120_000, 'the agent printed its peak RSS', [vm]);
    const rssMiB = Number(/peak RSS (\d+) MiB/.exec(vm.serial())?.[1]);
    // where the job's seconds went, as the agent printed it (job-run.ts)
    const timings = vm.serial().split('\n').filter((l) => /lifeboat agent: (timings|worker threads|backup took)/.test(l)).map((l) => l.replace(/^.*lifeboat agent: /, '').trim());
    // and the daemon's own account of a backup's finish (its job log)
    const finish = job.log?.find((l) => l.message.startsWith('finish:'))?.message;
    if (finish) timings.push(`appliance ${finish}`);
    return { job, helloS, rssMiB, timings };
  } finally {
    await vm.kill();
  }
}

/** The anchor: the boot OS kernel and initramfs + the bench cpio, booted directly on a tap of the lab's bridge. */
async function anchor(mode: 'backup' | 'restore', stream: string): Promise<{ s: number; bytes: number }> {
  if (!lab) throw new Error('no lab');
  const boot = join(work.dir, 'data/boot/lifeboat');
  const initrd = join(work.dir, 'bench-initrd.img');
  const base = readFileSync(join(boot, 'initrd.img'));
  const extra = encodeCpio([
    { type: 'file', path: 'init', data: readFileSync(join(REPO, 'test/bench/agent-bench-init.sh')), mode: 0o755 },
    { type: 'dir', path: 'usr' }, { type: 'dir', path: 'usr/bin' },
    { type: 'file', path: 'usr/bin/lz4', data: readFileSync('/usr/bin/lz4'), mode: 0o755 },
  ]);
  writeFileSync(initrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), extra]));
  const port = 20000 + (process.pid % 20000);
  // the appliance side, in the namespace: receive into a file, or send the stream, then close
  const listener = spawn('ip', ['netns', 'exec', lab.ns, process.execPath, '--input-type=module', '-e', `
    import { createServer } from 'node:net'; import { createWriteStream, createReadStream } from 'node:fs';
    const [mode, file, host, port] = process.argv.slice(1);
    const server = createServer({ allowHalfOpen: true }, (s) => { server.close();
      if (mode === 'backup') { let n = 0; s.on('data', (d) => (n += d.length)); s.pipe(createWriteStream(file)).on('finish', () => { console.log(n); s.end(); }); }
      else createReadStream(file).pipe(s).on('finish', () => console.log(0)); });
    server.listen(Number(port), host, () => console.log('listening'));`, mode, stream, lab.server, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  listener.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await lab.until(() => out.includes('listening'), 20_000, 'the anchor listener', []);
  const tap = `${lab.tag}tb`;
  execFileSync('bash', ['-c', `ip -n ${lab.ns} tuntap add dev ${tap} mode tap && ip -n ${lab.ns} link set ${tap} master ${lab.bridge} && ip -n ${lab.ns} link set ${tap} up`]);
  const log = join(work.dir, `anchor-${mode}.serial`);
  const qemu = spawn('ip', ['netns', 'exec', lab.ns, 'qemu-system-x86_64', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', '1024',
    '-display', 'none', '-monitor', 'none', '-serial', `file:${log}`, '-no-reboot',
    '-kernel', join(boot, 'vmlinuz'), '-initrd', initrd,
    '-append', `console=ttyS0,115200n8 bench.mode=${mode} bench.host=${lab.server} bench.port=${port} bench.ip=10.219.0.200/24`,
    '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=n0,mac=52:54:00:1b:01:0b`,
    '-drive', `file=${disk},if=none,id=d0,format=raw,cache=unsafe`, '-device', 'virtio-blk-pci,drive=d0'], { stdio: 'ignore' });
  const exited = new Promise((r) => qemu.once('exit', r));
  const timer = setTimeout(() => qemu.kill('SIGKILL'), 600_000);
  await exited;
  clearTimeout(timer);
  listener.kill();
  spawnSync('ip', ['-n', lab.ns, 'link', 'del', tap]);
  const serial = readFileSync(log, 'latin1');
  const m = new RegExp(`bench: ${mode} ([0-9.]+) s rc (\\d+)`).exec(serial);
  if (!m || m[2] !== '0') throw new Error(`the ${mode} anchor did not finish: ${serial.slice(-2000)}`);
  return { s: Number(m[1]), bytes: Number(out.split('\n').filter(Boolean).pop()) };
}

async function main(): Promise<void> {
  prepareBootOs(join(work.dir, 'data'));
  makeDiskA(disk);
  const pristine = join(work.dir, 'a-pristine.img');
  copyFileSync(disk, pristine);
  const diskSha = sha(disk);
  const size = statSync(disk).size;
  lab = await VmLab.start(work.dir);
  lab.cli(['machines', 'add', '--name', 'a', '--mac', spec.mac]);

  // the full backup runs whatever part is measured: a restore needs its image, hello its boot
  const full = await agentJob(['backup', '--machine', 'a', '--label', 'bench: full'], spec);
  console.log(`agent bench: full backup ${secs(full.job).toFixed(1)} s, hello ${full.helloS.toFixed(1)} s, ${JSON.stringify(full.job.stats)}`);
  for (const line of full.timings) console.log(`agent bench: full backup: ${line}`);
  const incr = want('backup') ? await agentJob(['backup', '--machine', 'a', '--label', 'bench: incremental'], spec) : null;
  if (incr) console.log(`agent bench: incremental ${secs(incr.job).toFixed(1)} s, ${JSON.stringify(incr.job.stats)}`);
  for (const line of incr?.timings ?? []) console.log(`agent bench: incremental: ${line}`);
  if (sha(disk) !== diskSha) throw new Error('the backups changed disk A');

  const stream = join(work.dir, 'anchor.lz4');
  let ab: { s: number; bytes: number } | null = null;
  if (want('backup')) {
    ab = await anchor('backup', stream);
    const back = join(work.dir, 'anchor.raw');
    execFileSync('lz4', ['-d', '-q', '-f', stream, back]);
    if (sha(back) !== diskSha) throw new Error('the backup anchor\'s stream does not decompress to disk A');
    console.log(`agent bench: anchor backup ${ab.s} s, ${ab.bytes} bytes`);
  }
  const blank = () => {
    execFileSync('truncate', ['-s', '0', disk]);
    execFileSync('truncate', ['-s', String(size), disk]);
  };
  let ar: { s: number } | null = null;
  let rest: Awaited<ReturnType<typeof agentJob>> | null = null;
  if (want('restore')) {
    if (!ab) execFileSync('lz4', ['-1', '-q', '-f', disk, stream]); // what the VM's `lz4 -1` sends: the same binary
    blank();
    ar = await anchor('restore', stream);
    console.log(`agent bench: anchor restore ${ar.s} s`);
    if (sha(disk) !== diskSha) throw new Error(`the restore anchor did not write disk A back: ${readFileSync(join(work.dir, 'anchor-restore.serial'), 'latin1').slice(-1500)}`);
    blank();
    rest = await agentJob(['restore', '--image', full.job.imageId ?? '', '--machine', 'a', '--yes'], spec);
    if (sha(disk) !== diskSha) throw new Error('the agent\'s restore did not write disk A back byte for byte');
    console.log(`agent bench: restore ${secs(rest.job).toFixed(1)} s (disk A back byte for byte), ${JSON.stringify(rest.job.stats)}`);
    for (const line of rest.timings) console.log(`agent bench: restore: ${line}`);
  }
  const sb = want('hello') ? await agentJob(['backup', '--machine', 'a', '--label', 'bench: secure boot'], { ...spec, firmware: 'uefi-sb' }) : null;

  const st = (j: Job) => j.stats ?? {};
  console.log(`agent bench: disk A ${size / MiB} MiB (GPT, ext4 + FAT32 + NTFS); the agent read ${((st(full.job).bytesRead ?? 0) / MiB).toFixed(1)} MiB of it (used blocks), TCG, 1 vCPU`);
  console.log(JSON.stringify({ full: st(full.job), ...(incr ? { incremental: st(incr.job) } : {}), ...(rest ? { restore: st(rest.job) } : {}) }));
  const row = (what: string, s: number, anchorS: number, extra: string) => console.log(`${what.padEnd(26)} ${s.toFixed(1).padStart(8)} ${anchorS.toFixed(1).padStart(9)} ${(anchorS / s).toFixed(2).padStart(11)}×  ${extra}`);
  console.log(`${'job'.padEnd(26)} ${'agent s'.padStart(8)} ${'anchor s'.padStart(9)} ${'anchor/agent'.padStart(12)}  notes`);
  if (ab) row('full backup', secs(full.job), ab.s, `anchor sent ${(ab.bytes / MiB).toFixed(1)} MiB (dd | lz4 -1 | nc)`);
  if (ab && incr) row('incremental (unchanged)', secs(incr.job), ab.s, `reused ${((st(incr.job).bytesReused ?? 0) / MiB).toFixed(1)} MiB`);
  if (ar && rest) row('restore (blank disk)', secs(rest.job), ar.s, 'anchor: nc | lz4 -d | dd');
  console.log(`agent peak RSS: ${Math.max(full.rssMiB, incr?.rssMiB ?? 0)} MiB backup${rest ? `, ${rest.rssMiB} MiB restore` : ''}`);
  console.log(`QEMU start → hello: BIOS ${[full, incr, rest].flatMap((j) => (j ? [`${j.helloS.toFixed(1)} s`] : [])).join(', ')}${sb ? `; UEFI Secure Boot ${sb.helloS.toFixed(1)} s` : ''}`);
}

main().then(async () => {
  await lab?.stop();
  work.cleanup();
}, async (err: unknown) => {
  console.error(`agent bench failed: ${(err as Error).stack ?? String(err)}`);
  await lab?.stop();
  work.cleanup();
  process.exit(1);
});
