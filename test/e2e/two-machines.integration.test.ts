// Two machines at once on the lab network (test/helpers/vm-lab.ts), as the agent lab needs them:
//   A: SeaBIOS + QEMU's iPXE ROM on virtio-net, disk A (GPT: ext4 + FAT32 + NTFS) on virtio-blk;
//   B: OVMF with Secure Boot and Microsoft's keys, q35 + SMM, virtio-net without ROM so OVMF's
//      own PXE runs (shim → signed GRUB → the signed kernel over TFTP), a larger NVMe disk that
//      held other data.
// Both are registered by MAC and given a job, and powered on together; both must reach the
// agent's hello, each with its disk's serial and SMBIOS UUID recorded (`lifeboat machines show <name> --json`), and each
// console must show its own path (the hello accepted; Secure Boot enabled on B).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { MachineWithDisks } from '../../src/api/wire.js';
import { tempDir } from '../helpers/cli.js';
import { makeDiskA, makeDiskB } from '../helpers/lab-disks.js';
import { VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const work = tempDir('lifeboat-2vm-');
let lab: VmLab;

before(async () => {
  prepareBootOs(join(work.dir, 'data'));
  makeDiskA(join(work.dir, 'a.img'));
  makeDiskB(join(work.dir, 'b.img'), { mib: 384 });
  lab = await VmLab.start(work.dir);
});

after(async () => {
  await lab?.stop();
  work.cleanup();
});

test('A (BIOS, iPXE, virtio) and B (UEFI Secure Boot, OVMF PXE, NVMe) reach the agent\'s hello at the same time, disk serials recorded', { timeout: 900_000 }, async () => {
  const serialA = `LAB-A-${process.pid}`;
  const serialB = `LAB-B-${process.pid}`;
  lab.cli(['machines', 'add', '--name', 'a', '--mac', '52:54:00:1a:00:0a']);
  lab.cli(['machines', 'add', '--name', 'b', '--mac', '52:54:00:1a:00:0b']);
  const jobA = lab.cliJson<{ id: string }>(['backup', '--machine', 'a']);
  const jobB = lab.cliJson<{ id: string }>(['backup', '--machine', 'b']);
  const [uuidA, uuidB] = [randomUUID(), randomUUID()];
  const a = lab.boot({ name: 'a', mac: '52:54:00:1a:00:0a', firmware: 'bios', uuid: uuidA, disk: { file: join(work.dir, 'a.img'), bus: 'virtio', serial: serialA } });
  const b = lab.boot({ name: 'b', mac: '52:54:00:1a:00:0b', firmware: 'uefi-sb', uuid: uuidB, disk: { file: join(work.dir, 'b.img'), bus: 'nvme', serial: serialB } });
  try {
    const [helloA, helloB] = await Promise.all([lab.hello('a', a, 840_000), lab.hello('b', b, 840_000)]);
    const seconds = (m: MachineWithDisks, t0: number) => ((Date.parse(m.bootStage?.at ?? '') - t0) / 1000).toFixed(1);
    console.log(`# QEMU start → hello under TCG, both at once: A (BIOS) ${seconds(helloA, a.startedAt)} s, B (UEFI Secure Boot) ${seconds(helloB, b.startedAt)} s`);
    // both boots shared the network at once: each machine was powered on before either hello
    // (an agent that runs its job may have finished it and rebooted since: QEMU then exits)
    const first = Math.min(Date.parse(helloA.bootStage?.at ?? ''), Date.parse(helloB.bootStage?.at ?? ''));
    assert.ok(a.startedAt < first && b.startedAt < first, 'both machines booted at the same time');
    const showA = JSON.parse(lab.cli(['machines', 'show', 'a', '--json'])) as MachineWithDisks;
    const showB = JSON.parse(lab.cli(['machines', 'show', 'b', '--json'])) as MachineWithDisks;
    assert.deepEqual(showA.disks.map((d) => [d.serial, d.size, d.devicePath]), [[serialA, 256 << 20, '/dev/vda']]);
    assert.deepEqual(showB.disks.map((d) => [d.serial, d.size, d.devicePath]), [[serialB, 384 << 20, '/dev/nvme0n1']]);
    assert.deepEqual([showA.systemUuid, showB.systemUuid], [uuidA, uuidB]);
    assert.ok(showA.inventory?.nics?.some((n) => n.mac === '52:54:00:1a:00:0a'), 'A\'s NIC in its inventory');
    assert.ok(showB.inventory?.nics?.some((n) => n.mac === '52:54:00:1a:00:0b'), 'B\'s NIC in its inventory');
    await lab.until(() => /hello accepted/.test(a.serial()) && /hello accepted/.test(b.serial()), 60_000, 'both consoles show the accepted hello');
    // A: iPXE (it writes to the screen only) fetched its script over HTTP; B: shim over TFTP, Secure Boot on
    assert.match(lab.daemon.log(), /"type":"script","peer":"[0-9.]+","mac":"52:54:00:1a:00:0a","action":"boot-os","mode":"job"/);
    assert.match(lab.daemon.log(), /"file":"shimx64.efi"/);
    assert.match(b.serial(), /Secure boot enabled/);
    assert.doesNotMatch(a.serial(), /Secure boot enabled/);
  } finally {
    // cancelled while the agents still answer (an agent that runs its job stops at the 409);
    // a job that already ended (an agent fast enough to finish its backup) is left as it is
    for (const id of [jobA.id, jobB.id]) {
      if (!['done', 'failed', 'cancelled', 'interrupted'].includes((await lab.api.job(id)).state)) await lab.api.cancelJob(id);
    }
    await a.kill();
    await b.kill();
  }
});
