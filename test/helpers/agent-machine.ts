// A client machine for the agent on the host: a root with the boot parameters file and a
// sysfs tree naming its disks (what the boot OS would show), and disk-image files made
// with sgdisk and mkfs that stand for the disks (the agent's devicePath maps a name to one).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sh } from './cli.js';
import { withLoop } from './system.js';

const MiB = 1 << 20;

function put(root: string, path: string, content: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
}

/**
 * A root for runAgent (or the bundle with LIFEBOAT_AGENT_ROOT), as a network boot gives it:
 * proc/cmdline, one virtio disk per entry in sys/block, and dev/<name> → `path` when given.
 */
export function machineRoot(dir: string, params: string, disks: Array<{ name: string; serial: string; sizeBytes: number; path?: string }>): string {
  const root = join(dir, `root-${Math.random().toString(16).slice(2)}`);
  put(root, 'proc/cmdline', `console=ttyS0 ${params}\n`);
  mkdirSync(join(root, 'sys/block'), { recursive: true });
  disks.forEach((d, k) => {
    const dev = join(root, `sys/devices/pci/virtio${k}/block/${d.name}`);
    put(root, `sys/devices/pci/virtio${k}/block/${d.name}/serial`, d.serial);
    put(root, `sys/devices/pci/virtio${k}/block/${d.name}/size`, String(d.sizeBytes / 512));
    put(root, `sys/devices/pci/virtio${k}/block/${d.name}/removable`, '0');
    symlinkSync(join(root, `sys/devices/pci/virtio${k}`), join(dev, 'device'));
    symlinkSync(dev, join(root, 'sys/block', d.name));
    if (d.path) {
      mkdirSync(join(root, 'dev'), { recursive: true });
      symlinkSync(d.path, join(root, 'dev', d.name));
    }
  });
  return root;
}

/** Partition 2 of a disk file (bytes). */
export function partition(disk: string, n: number): { start: number; size: number } {
  const json = JSON.parse(sh(`sfdisk --json ${disk}`)) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number }> } };
  const p = json.partitiontable.partitions.find((x) => x.node.endsWith(String(n)));
  assert.ok(p, `partition ${n} of ${disk}`);
  return { start: p.start * 512, size: p.size * 512 };
}

/** A GPT disk (64 MiB by default): an empty 8 MiB EFI partition and ext4 holding `files` (name → content). */
export function makeDisk(dir: string, name: string, files: Record<string, Buffer>, mib = 64): string {
  const disk = join(dir, `${name}.img`);
  sh(`truncate -s ${mib}M ${disk} && sgdisk -o -n 1:2048:+8M -t 1:ef00 -n 2:0:+${mib - 16}M -t 2:8300 ${disk}`);
  const p2 = partition(disk, 2);
  const tree = join(dir, `${name}-tree`);
  mkdirSync(tree, { recursive: true });
  for (const [f, data] of Object.entries(files)) writeFileSync(join(tree, f), data);
  sh(`truncate -s ${p2.size} ${dir}/${name}-p2 && mkfs.ext4 -q -F -d ${tree} ${dir}/${name}-p2 && dd if=${dir}/${name}-p2 of=${disk} bs=1M seek=${p2.start / MiB} conv=notrunc status=none && rm ${dir}/${name}-p2`);
  return disk;
}

/** sgdisk -v and e2fsck -fn are clean on `disk`, and partition 2 holds exactly `files`. */
export function checkDisk(disk: string, files: Record<string, Buffer>, scratch: string): void {
  assert.match(sh(`sgdisk -v ${disk}`), /No problems found/);
  const p2 = partition(disk, 2);
  withLoop(disk, { offset: p2.start, size: p2.size }, (dev) => {
    sh(`e2fsck -fn ${dev}`);
    for (const [f, data] of Object.entries(files)) {
      const out = join(scratch, `out-${f}`);
      sh(`debugfs -R "dump /${f} ${out}" ${dev} 2>/dev/null`);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      assert.equal(sha(readFileSync(out)), sha(data), `${f} on ${disk}`);
    }
  });
}
