// restore --grow-last through the real CLI: the last partition and its filesystem grow
// to the end of a larger target with the filesystem's own tool, or the CLI says why not.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';
import { withLoop } from './helpers/system.js';

const MiB = 1 << 20;
const ROOT = process.getuid?.() === 0 ? false : 'needs root for loop devices';

function backup(disk: string, store: string): string {
  const r = lifeboat(['image', 'backup', disk, '--store', store, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return lastJson<{ id: string }>(r).id;
}


function partition(disk: string, n: number): { start: number; size: number } {
  const json = JSON.parse(sh(`sfdisk --json ${disk}`)) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number }> } };
  const p = json.partitiontable.partitions.find((x) => x.node.endsWith(String(n)));
  assert.ok(p, `partition ${n}`);
  return { start: p.start * 512, size: p.size * 512 };
}

test('GPT with ext4 last: partition and filesystem grow; sgdisk and e2fsck are clean; files intact', { skip: ROOT }, () => {
  const t = tempDir();
  try {
    const disk = join(t.dir, 'disk.img');
    sh(`truncate -s 128M ${disk} && sgdisk -o -n 1:2048:+16M -t 1:ef00 -n 2:0:+96M -t 2:8300 ${disk}`);
    const p2 = partition(disk, 2);
    sh(`mkdir -p ${t.dir}/tree && head -c 3M /dev/urandom > ${t.dir}/tree/data.bin && truncate -s ${p2.size} ${t.dir}/p2 && mkfs.ext4 -q -F -d ${t.dir}/tree ${t.dir}/p2 && dd if=${t.dir}/p2 of=${disk} bs=1M seek=${p2.start / MiB} conv=notrunc status=none`);
    const want = createHash('sha256').update(readFileSync(`${t.dir}/tree/data.bin`)).digest('hex');
    const store = join(t.dir, 'store');
    const id = backup(disk, store);
    // A new file with --verify: the partition table is read back from the fresh target too.
    const fresh = join(t.dir, 'fresh.img');
    const rf = lifeboat(['image', 'restore', id, fresh, '--store', store, '--verify']);
    assert.equal(rf.code, 0, rf.stderr);
    assert.match(rf.stdout, /read back and verified/);
    assert.match(sh(`sgdisk -v ${fresh}`), /No problems found/);
    const target = join(t.dir, 'big.img');
    sh(`truncate -s 400M ${target}`);
    const r = lifeboat(['image', 'restore', id, target, '--store', store, '--yes', '--verify', '--grow-last', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = lastJson<{ grow: { grown: boolean; tool: string; newSize: number; oldSize: number } }>(r);
    assert.equal(report.grow.grown, true);
    assert.equal(report.grow.tool, 'resize2fs');
    assert.ok(report.grow.newSize > 350 * MiB);
    assert.match(sh(`sgdisk -v ${target}`), /No problems found/);
    const grown = partition(target, 2);
    assert.equal(grown.size, report.grow.newSize);
    withLoop(target, { offset: grown.start, size: grown.size }, (dev) => {
      sh(`e2fsck -fn ${dev}`);
      const blocks = Number(/Block count:\s+(\d+)/.exec(sh(`dumpe2fs -h ${dev} 2>/dev/null`))?.[1]);
      const blockSize = Number(/Block size:\s+(\d+)/.exec(sh(`dumpe2fs -h ${dev} 2>/dev/null`))?.[1]);
      assert.ok(blocks * blockSize > grown.size - 4 * MiB, 'the filesystem fills the grown partition');
      sh(`debugfs -R "dump /data.bin ${t.dir}/out.bin" ${dev} 2>/dev/null`);
    });
    assert.equal(createHash('sha256').update(readFileSync(`${t.dir}/out.bin`)).digest('hex'), want);
  } finally {
    t.cleanup();
  }
});

test('MBR with NTFS as the last primary partition grows with ntfsresize; ntfsfix is clean', { skip: ROOT }, () => {
  const t = tempDir();
  try {
    const disk = join(t.dir, 'disk.img');
    sh(`truncate -s 96M ${disk} && printf 'label: dos\\n,16M,83\\n,64M,7\\n' | sfdisk -q ${disk}`);
    const p2 = partition(disk, 2);
    withLoop(disk, { offset: p2.start, size: p2.size }, (dev) => sh(`mkntfs -q -F -Q ${dev}`));
    const store = join(t.dir, 'store');
    const id = backup(disk, store);
    const target = join(t.dir, 'big.img');
    sh(`truncate -s 200M ${target}`);
    const r = lifeboat(['image', 'restore', id, target, '--store', store, '--yes', '--grow-last']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /partition 2 grown .* ntfs grown with ntfsresize/);
    const grown = partition(target, 2);
    assert.ok(grown.size > 150 * MiB);
    withLoop(target, { offset: grown.start, size: grown.size }, (dev) => {
      sh(`ntfsfix -n ${dev}`);
      const info = sh(`ntfsresize --info -f ${dev} 2>&1`);
      const vol = Number(/Current volume size\s*:\s*(\d+)/.exec(info)?.[1]);
      assert.ok(vol > grown.size - MiB, `volume ${vol} fills the partition ${grown.size}`);
    });
  } finally {
    t.cleanup();
  }
});

test('a FAT last partition is not grown, and the CLI says why', { skip: ROOT }, () => {
  const t = tempDir();
  try {
    const disk = join(t.dir, 'disk.img');
    sh(`truncate -s 64M ${disk} && printf 'label: dos\\n,40M,c\\n' | sfdisk -q ${disk}`);
    const p1 = partition(disk, 1);
    sh(`truncate -s ${p1.size} ${t.dir}/p1 && mkfs.vfat -F 16 ${t.dir}/p1 >/dev/null && dd if=${t.dir}/p1 of=${disk} bs=1M seek=${p1.start / MiB} conv=notrunc status=none`);
    const store = join(t.dir, 'store');
    const id = backup(disk, store);
    const target = join(t.dir, 'big.img');
    sh(`truncate -s 128M ${target}`);
    const r = lifeboat(['image', 'restore', id, target, '--store', store, '--yes', '--grow-last']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing grown: partition 1: FAT cannot be grown/);
    assert.equal(partition(target, 1).size, p1.size, 'the partition keeps its size');
    sh(`dd if=${target} of=${t.dir}/back bs=1M skip=${p1.start / MiB} count=${p1.size / MiB} status=none && fsck.vfat -n ${t.dir}/back`);
  } finally {
    t.cleanup();
  }
});
