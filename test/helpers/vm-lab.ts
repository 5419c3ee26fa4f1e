// The two-machine QEMU lab: a network namespace with a bridge, the real `lifeboat serve`
// on it with its boot services (full DHCP, TFTP, HTTP boot, the agent API) and the real boot
// OS in its boot root, and QEMU machines (TCG) on taps of that bridge, each booting with its
// own firmware (firmware.ts) from its own NIC, with one disk (virtio-blk or NVMe) carrying a
// serial, its serial console in a file. Every name carries the process id (parallel runs never
// collide); stop() kills the machines, stops the daemon and deletes the namespace (taps and
// bridge go with it). Used by the lab tests and by `make demo`.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.js';
import type { MachineWithDisks } from '../../src/api/wire.js';
import { CLI, REPO } from './cli.js';
import { type TestDaemon, startDaemon } from './daemon.js';
import { type FirmwareKind, firmwareArgs } from './firmware.js';

/**
 * The boot OS into `<dataDir>/boot`: Debian's signed kernel set, the signed UEFI chain for boot
 * media (var/kernels/efi, which `lifeboat bootmedia` needs), Node 24 and the agent bundle (each
 * cached under var/ between runs), then `lifeboat bootos build` (loaders included). Every lab
 * test calls this, so none depends on another test having fetched something first.
 */
export function prepareBootOs(dataDir: string, quiet = true): void {
  const out = quiet ? 'ignore' : 'inherit';
  for (const script of ['kernels/build.sh', 'kernels/efi.sh', 'src/bootos/node-runtime.sh']) execFileSync('bash', [join(REPO, script)], { stdio: ['ignore', out, 'inherit'] });
  execFileSync(process.execPath, [CLI, 'bootos', 'build', '--data-dir', dataDir, '--cache', join(REPO, 'var/cache/bootos')], { stdio: ['ignore', out, 'inherit'] });
}

export interface VmSpec {
  name: string;
  mac: string;
  firmware: FirmwareKind;
  /** the machine's one disk: a raw file, on virtio-blk or NVMe, with this serial */
  disk: { file: string; bus: 'virtio' | 'nvme'; serial: string };
  /** more disks (virtio-blk, never booted from), e.g. a USB-like disk a backup is stored on */
  extraDisks?: Array<{ file: string; serial: string }>;
  /** its SMBIOS system UUID (QEMU gives none unless told) */
  uuid?: string;
  memoryMiB?: number;
  /** a boot medium (ISO) in a CD drive, booted first (before the network) */
  cdrom?: string;
}

export interface Vm {
  readonly spec: VmSpec;
  /** its tap on the lab's bridge (in the lab's namespace): `ip link set <tap> down` cuts its network */
  readonly tap: string;
  /** when QEMU started (ms since the epoch) */
  readonly startedAt: number;
  /** the serial console so far, firmware ANSI sequences blanked */
  serial(): string;
  /** QEMU's exit code (the guest rebooted or powered off: -no-reboot) */
  readonly exited: Promise<number | null>;
  running(): boolean;
  /** SIGKILL (a machine losing power), then its tap is removed */
  kill(): Promise<void>;
}

export class VmLab {
  readonly tag = `lv${process.pid % 100000}`;
  readonly ns = `${this.tag}n`;
  readonly bridge = `${this.tag}br`;
  readonly server = '10.219.0.1';
  readonly api: ApiClient;
  private readonly vms: Vm[] = [];
  private taps = 0;

  private constructor(readonly dir: string, readonly daemon: TestDaemon) {
    this.api = new ApiClient(daemon.socket);
  }

  /**
   * Namespace, bridge and daemon (the boot OS must already be in `<dir>/data/boot`: prepareBootOs).
   * `config`: daemon settings beside the docked directory (e.g. `{ agent: { silenceMinutes: 0.5 } }`).
   * `net.dhcp`: 'full' (default): the daemon hands out the addresses; 'proxy': the LAN's DHCP
   * server is dnsmasq (in a namespace of its own, 10.219.0.2, on a veth into the bridge) and
   * the daemon answers only the boot (ProxyDHCP).
   */
  static async start(dir: string, config: Record<string, unknown> = {}, net: { dhcp?: 'full' | 'proxy' } = {}): Promise<VmLab> {
    const tag = `lv${process.pid % 100000}`;
    const [ns, bridge, site] = [`${tag}n`, `${tag}br`, `${tag}d`];
    const dataDir = join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    const proxy = net.dhcp === 'proxy';
    let dnsmasq: ChildProcess | null = null;
    sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    try {
      sh(`ip -n ${ns} link add ${bridge} type bridge && ip -n ${ns} addr add 10.219.0.1/24 dev ${bridge} && ip -n ${ns} link set ${bridge} up`);
      if (proxy) dnsmasq = await startDnsmasq(dir, ns, bridge, site, tag);
      const configFile = join(dir, 'lab-daemon-config.json');
      writeFileSync(configFile, JSON.stringify({ dockedDir: dir, ...config }));
      const dhcpArgs = proxy ? ['--dhcp', 'proxy'] : ['--dhcp', 'full', '--dhcp-range', '10.219.0.100-10.219.0.150'];
      const daemon = await startDaemon(dir, { dataDir, config: configFile, netns: ns, args: ['--interface', bridge, ...dhcpArgs, '--http-port', '8080'] });
      const lab = new VmLab(dir, daemon);
      lab.dnsmasq = dnsmasq;
      return lab;
    } catch (err) {
      dnsmasq?.kill('SIGKILL');
      spawnSync('ip', ['netns', 'del', site]);
      spawnSync('ip', ['netns', 'del', ns]);
      throw err;
    }
  }

  /** The LAN's DHCP server in proxy mode (dnsmasq), and its log so far (its leases). */
  private dnsmasq: ChildProcess | null = null;
  dnsmasqLog(): string {
    return this.dnsmasq ? ((this.dnsmasq as ChildProcess & { log?: string }).log ?? '') : '';
  }

  /** `lifeboat …` against this lab's daemon; throws with its stderr when it fails. */
  cli(args: string[]): string {
    const r = spawnSync(process.execPath, [CLI, ...args, '--socket', this.daemon.socket], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`lifeboat ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout.slice(-2000)}`);
    return r.stdout;
  }

  /** The last line of `lifeboat … --json` as JSON. */
  cliJson<T>(args: string[]): T {
    return JSON.parse(this.cli([...args, '--json']).trim().split('\n').pop() as string) as T;
  }

  /** `lifeboat …` in the background, its output to ours (live progress) or piped. */
  cliSpawn(args: string[], inherit = false): ChildProcess {
    return spawn(process.execPath, [CLI, ...args, '--socket', this.daemon.socket], { stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'] });
  }

  /** A QEMU machine on a new tap of the bridge, network-booting first (its disk second). */
  boot(spec: VmSpec): Vm {
    const tap = `${this.tag}t${this.taps++}`;
    sh(`ip -n ${this.ns} tuntap add dev ${tap} mode tap && ip -n ${this.ns} link set ${tap} master ${this.bridge} && ip -n ${this.ns} link set ${tap} up`);
    const log = join(this.dir, `${spec.name}.serial`);
    writeFileSync(log, '');
    const uefi = spec.firmware !== 'bios';
    const diskDev = spec.disk.bus === 'nvme' ? `nvme,drive=d0,serial=${spec.disk.serial},bootindex=2` : `virtio-blk-pci,drive=d0,serial=${spec.disk.serial},bootindex=2`;
    const args = [
      'netns', 'exec', this.ns, 'qemu-system-x86_64',
      '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', String(spec.memoryMiB ?? 1024),
      '-display', 'none', '-monitor', 'none', '-serial', `file:${log}`, '-no-reboot',
      ...firmwareArgs(spec.firmware, join(this.dir, `${spec.name}-vars.fd`)),
      ...(spec.uuid ? ['-smbios', `type=1,uuid=${spec.uuid},manufacturer=Lifeboat Lab,product=lab-${spec.name}`] : []),
      '-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`,
      // UEFI: romfile= (none), so OVMF's own PXE boots; BIOS: QEMU's iPXE option ROM
      '-device', `virtio-net-pci,netdev=n0,mac=${spec.mac},bootindex=1${uefi ? ',romfile=' : ''}`,
      '-drive', `file=${spec.disk.file},if=none,id=d0,format=raw,cache=unsafe`, '-device', diskDev,
      ...(spec.extraDisks ?? []).flatMap((d, k) => ['-drive', `file=${d.file},if=none,id=x${k},format=raw,cache=unsafe`, '-device', `virtio-blk-pci,drive=x${k},serial=${d.serial}`]),
      ...(spec.cdrom ? ['-drive', `file=${spec.cdrom},if=none,id=cd0,media=cdrom,readonly=on`, '-device', 'ide-cd,drive=cd0,bootindex=0'] : []),
    ];
    const qemu = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let done = false;
    const exited = new Promise<number | null>((r) => qemu.once('exit', (code) => {
      done = true;
      r(code);
    }));
    const ns = this.ns;
    const vm: Vm = {
      spec,
      tap,
      startedAt: Date.now(),
      // eslint-disable-next-line no-control-regex -- firmware consoles draw with ANSI sequences
      serial: () => (existsSync(log) ? readFileSync(log, 'latin1').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ' ') : '') + (stderr ? `\n[qemu stderr] ${stderr}` : ''),
      exited,
      running: () => !done,
      kill: async () => {
        if (!done) qemu.kill('SIGKILL');
        await exited;
        spawnSync('ip', ['-n', ns, 'link', 'del', tap]);
      },
    };
    this.vms.push(vm);
    return vm;
  }

  /** Waits for `what`, polling; on timeout fails with the machines' consoles and the daemon's log. */
  async until(what: () => boolean | Promise<boolean>, ms: number, label: string, vms: Vm[] = this.vms): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out after ${Math.round(ms / 1000)} s: ${label}\n${this.diagnostics(vms)}`);
  }

  /** The tail of each machine's console and of the daemon's log. */
  diagnostics(vms: Vm[] = this.vms): string {
    return [...vms.map((v) => `--- ${v.spec.name} serial (last 2500) ---\n${v.serial().slice(-2500)}`), `--- daemon (last 2000) ---\n${this.daemon.log().slice(-2000)}`].join('\n');
  }

  /**
   * Resolves when `machine` said hello from the boot of `vm` (its boot stage reached the agent
   * after `vm` started). Fails at once when the machine stopped, or when the boot OS's /init
   * reported a failure on the console (it then waits there for ever).
   */
  async hello(machine: string, vm: Vm, ms: number): Promise<MachineWithDisks> {
    let seen: MachineWithDisks | null = null;
    let failed = '';
    await this.until(async () => {
      const m = await this.api.machine(machine);
      if (m.bootStage?.stage === 'agent' && Date.parse(m.bootStage.at) >= vm.startedAt - 1000) seen = m;
      failed = BOOT_OS_FAILED.exec(vm.serial())?.[0] ?? '';
      return seen !== null || failed !== '' || !vm.running();
    }, ms, `${machine} said hello`, [vm]);
    if (!seen) throw new Error(`${vm.spec.name} ${failed ? `failed in the boot OS before its agent said hello: ${failed}` : 'stopped before its agent said hello'}\n${this.diagnostics([vm])}`);
    return seen;
  }

  async stop(): Promise<void> {
    for (const vm of this.vms) await vm.kill();
    await this.daemon.stop();
    if (this.dnsmasq && this.dnsmasq.exitCode === null) {
      const gone = new Promise((r) => this.dnsmasq?.once('exit', r));
      this.dnsmasq.kill('SIGTERM');
      await gone;
    }
    spawnSync('ip', ['netns', 'del', `${this.tag}d`]);
    spawnSync('ip', ['netns', 'del', this.ns]);
  }
}

/**
 * dnsmasq as the LAN's DHCP server (addresses 10.219.0.100–150, no DNS) in namespace `site`,
 * on a veth whose other end is a port of the lab's bridge; resolves once it serves.
 */
async function startDnsmasq(dir: string, ns: string, bridge: string, site: string, tag: string): Promise<ChildProcess> {
  const [inLab, inSite] = [`${tag}dl`, `${tag}ds`];
  sh(`ip netns add ${site} && ip -n ${site} link set lo up`);
  sh(`ip -n ${ns} link add ${inLab} type veth peer name ${inSite} netns ${site} && ip -n ${ns} link set ${inLab} master ${bridge} && ip -n ${ns} link set ${inLab} up`);
  sh(`ip -n ${site} addr add 10.219.0.2/24 dev ${inSite} && ip -n ${site} link set ${inSite} up`);
  const proc = spawn('ip', [
    'netns', 'exec', site, 'dnsmasq', '--keep-in-foreground', '--log-facility=-', '--log-dhcp', '--conf-file=/dev/null', '--port=0', '--user=root', '--group=root',
    `--interface=${inSite}`, '--bind-interfaces', '--dhcp-range=10.219.0.100,10.219.0.150,255.255.255.0,1h', '--no-ping',
    `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { log?: string };
  proc.log = '';
  proc.stderr?.on('data', (d: Buffer) => (proc.log += d.toString()));
  for (let t = 0; t < 100 && !/DHCP, IP range/.test(proc.log) && proc.exitCode === null; t++) await new Promise((r) => setTimeout(r, 100));
  if (!/DHCP, IP range 10\.219\.0\.100/.test(proc.log)) {
    proc.kill('SIGKILL');
    throw new Error(`dnsmasq did not start in ${site}: ${proc.log}`);
  }
  return proc;
}

/** What the boot OS's /init prints when a stage failed (it then waits: no reboot loop). */
const BOOT_OS_FAILED = /lifeboat: FAILED at [^\r\n]*/;

function sh(command: string): void {
  const r = spawnSync('bash', ['-c', command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} failed (${r.status}): ${r.stderr}`);
}
