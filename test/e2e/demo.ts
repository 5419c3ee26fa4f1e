// make demo: the appliance for real, on embedded defaults, in a few minutes. Builds the boot
// OS, makes two lab machines' disks, starts the daemon and the lab network (a namespace of
// its own: test/helpers/vm-lab.ts), network-boots machine A (SeaBIOS + iPXE) and backs it
// up with live progress, network-boots machine B (UEFI Secure Boot, a larger NVMe disk that
// held other data) and restores A's image onto it, then checks B's disk (sgdisk -v, e2fsck,
// fsck.vfat, ntfsfix, every file equal to A's). Leaves the console one command away.
// Exit 0 only when all of that was done and checked. While the agent cannot back up yet
// (issue 15), it stops after both machines' hellos and says so, exiting 2.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Job, MachineWithDisks } from '../../src/api/wire.js';
import { REPO } from '../helpers/cli.js';
import { checkDisk, compareDiskFiles } from '../helpers/disk-check.js';
import { makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { type Vm, type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const DIR = join(REPO, 'var/demo-lab');
const HELLO_MS = 600_000;
/** How long after the hello a job may stay `booting` before the agent is taken not to run jobs. */
const AGENT_GRACE_MS = 60_000;
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
const note = (text: string) => process.stdout.write(`   ${text}\n`);

class DemoStop extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const specA: VmSpec = { name: 'a', mac: '52:54:00:de:00:0a', firmware: 'bios', uuid: '6c1f0a00-0000-4000-8000-00000000000a', disk: { file: join(DIR, 'a.img'), bus: 'virtio', serial: 'DEMO-A-0001' } };
const specB: VmSpec = { name: 'b', mac: '52:54:00:de:00:0b', firmware: 'uefi-sb', uuid: '6c1f0a00-0000-4000-8000-00000000000b', disk: { file: join(DIR, 'b.img'), bus: 'nvme', serial: 'DEMO-B-0001' } };

function disks(m: MachineWithDisks): string {
  return m.disks.map((d) => `${d.devicePath} ${d.serial ?? '(no serial)'} ${(d.size / (1 << 20)).toFixed(0)} MiB`).join(', ');
}

/** `lifeboat jobs watch <id>` with its live progress on our terminal; true when the job ended done. */
function watch(lab: VmLab, jobId: string): Promise<boolean> {
  const child = spawn(process.execPath, [join(REPO, 'dist/cli/main.js'), 'jobs', 'watch', jobId, '--socket', lab.daemon.socket], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((r) => child.once('exit', (code) => r(code === 0)));
}

/** Creates the machine's job, boots it, waits for its hello; returns the job, the machine and the VM. */
async function bootForJob(lab: VmLab, spec: VmSpec, args: string[], how: string): Promise<{ job: Job; vm: Vm }> {
  const job = lab.cliJson<Job>(args);
  note(`job ${job.id} (${job.type}) waits for ${spec.name} to network-boot`);
  say(`booting ${spec.name}: ${how} (serial console: ${join(DIR, `${spec.name}.serial`)})`);
  const vm = lab.boot(spec);
  const m = await lab.hello(spec.name, vm, HELLO_MS);
  note(`${spec.name}'s agent said hello ${((Date.parse(m.bootStage?.at ?? '') - vm.startedAt) / 1000).toFixed(0)} s after power-on; disks: ${disks(m)}`);
  const recorded = (JSON.parse(lab.cli(['machines', 'show', spec.name, '--json'])) as MachineWithDisks).disks.map((d) => d.serial);
  if (!recorded.includes(spec.disk.serial)) throw new DemoStop(`${spec.name}'s disk serial ${spec.disk.serial} is not recorded (machines show: ${recorded.join(', ')})`, 1);
  return { job, vm };
}

/** Whether the job left `booting` (the agent runs it) within the grace time after the hello. */
async function agentRuns(lab: VmLab, jobId: string): Promise<boolean> {
  const end = Date.now() + AGENT_GRACE_MS;
  while (Date.now() < end) {
    if ((await lab.api.job(jobId)).state !== 'booting') return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

async function demo(lab: VmLab): Promise<void> {
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac, '--notes', 'demo: BIOS, virtio disk']);
  lab.cli(['machines', 'add', '--name', 'b', '--mac', specB.mac, '--notes', 'demo: UEFI Secure Boot, NVMe disk']);
  note(`machines a (${specA.mac}) and b (${specB.mac}) registered by MAC`);

  const a = await bootForJob(lab, specA, ['backup', '--machine', 'a', '--label', 'demo: machine A'], 'SeaBIOS → iPXE → the boot OS over HTTP');
  if (!(await agentRuns(lab, a.job.id))) {
    // The agent of today says hello and stops: show B's way in too, then say where the demo ends.
    note(`job ${a.job.id} is still \`booting\` ${AGENT_GRACE_MS / 1000} s after the hello: this agent does not run jobs`);
    await a.vm.kill();
    lab.cli(['jobs', 'cancel', a.job.id]);
    const b = await bootForJob(lab, specB, ['backup', '--machine', 'b', '--label', 'demo: hello only'], 'OVMF Secure Boot → its own PXE → shim → signed GRUB → the signed kernel over TFTP');
    if (!/Secure boot enabled/.test(b.vm.serial())) throw new DemoStop('B booted, but its kernel did not report Secure Boot enabled', 1);
    await b.vm.kill();
    lab.cli(['jobs', 'cancel', b.job.id]);
    throw new DemoStop('checked: both machines network-booted into the boot OS (A under BIOS, B under UEFI with Secure Boot on) and their agents said hello with their disk serials.\n' +
      'Not done: the backup of A and the restore onto B — the agent\'s backup over the wire is not there yet (issue 15). The demo stops here.', 2);
  }
  say('backing up A into the appliance (live progress from the event stream)');
  if (!(await watch(lab, a.job.id))) throw new DemoStop(`the backup of A did not end done: lifeboat jobs show ${a.job.id} --socket ${lab.daemon.socket}`, 1);
  const imageId = (await lab.api.job(a.job.id)).imageId;
  if (!imageId) throw new DemoStop(`job ${a.job.id} ended done without an image`, 1);
  await lab.until(() => !a.vm.running(), 120_000, 'A rebooted or powered off after its job', [a.vm]);

  const b = await bootForJob(lab, specB, ['restore', '--image', imageId, '--machine', 'b', '--yes'], 'OVMF Secure Boot → its own PXE → shim → signed GRUB → the signed kernel over TFTP');
  say(`restoring image ${imageId} onto B's NVMe disk (live progress)`);
  if (!(await watch(lab, b.job.id))) throw new DemoStop(`the restore onto B did not end done: lifeboat jobs show ${b.job.id} --socket ${lab.daemon.socket}`, 1);
  await lab.until(() => !b.vm.running(), 120_000, 'B rebooted or powered off after its job', [b.vm]);

  say("checking B's disk: partition table, each filesystem, every file against A's");
  const problems = checkDisk(specB.disk.file);
  const differences = compareDiskFiles(specA.disk.file, specB.disk.file);
  for (const p of problems) note(`PROBLEM ${p}`);
  for (const d of differences.slice(0, 40)) note(`DIFFERENT ${d}`);
  if (problems.length > 0 || differences.length > 0) throw new DemoStop(`B's disk failed its checks: ${problems.length} problem(s), ${differences.length} difference(s)`, 1);
  note('sgdisk -v, e2fsck -fn, fsck.vfat -n and ntfsfix -n: clean; every file of ext4, FAT32 and NTFS equals A\'s');
}

async function main(): Promise<number> {
  say('building the boot OS (Debian\'s signed kernel, Node 24, the agent)');
  rmSync(DIR, { recursive: true, force: true });
  prepareBootOs(join(DIR, 'data'), false);
  say('making the lab disks: A 256 MiB (GPT: ext4 + FAT32 + NTFS with files), B 384 MiB (MBR, other data)');
  makeDiskA(specA.disk.file);
  makeDiskB(specB.disk.file, { mib: 384 });
  say('starting the appliance (lifeboat serve: DHCP, TFTP, HTTP boot, the agent API) on a lab network of its own');
  const lab = await VmLab.start(DIR);
  note(`namespace ${lab.ns}, bridge ${lab.bridge} ${lab.server}/24; operator socket ${lab.daemon.socket}`);
  const stop = () => void lab.stop().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let code = 0;
  try {
    await demo(lab);
    say('done: A backed up, its image restored onto B, B checked');
  } catch (err) {
    code = err instanceof DemoStop ? err.code : 1;
    process.stdout.write(`\n${code === 2 ? 'DEMO STOPPED EARLY' : 'DEMO FAILED'}: ${(err as Error).message}\n`);
  }
  process.stdout.write(`\nThe console: npx lifeboat tui --socket ${lab.daemon.socket}\n`);
  if (process.stdin.isTTY) {
    process.stdout.write('The appliance keeps running for it: press Enter here to stop it and remove the lab network.\n');
    const rl = createInterface({ input: process.stdin });
    await new Promise((r) => rl.once('line', r));
    rl.close();
  } else process.stdout.write('(not on a terminal: the appliance stops now; run `make demo` from a terminal to keep it for the console)\n');
  await lab.stop();
  return code;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`make demo: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
