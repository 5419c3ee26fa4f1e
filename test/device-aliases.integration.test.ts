// Red team: every alias of a mounted disk is refused, through root's local commands. The
// kernel decides: a symlink to the device (what /dev/disk/by-id names are), a second device
// node with the same major:minor, the device while a loop device stacked on it is mounted
// (this kernel has no device-mapper; a loop device over a block device is the holder we can
// make here), the disk-image file behind a mounted loop device, and a loop device over part
// of a disk (a partition made with --offset). Nothing is written to any of them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A loop device over `file` (extra: losetup options), detached by the returned function. */
function loop(file: string, extra = ''): { dev: string; detach: () => void } {
  const dev = sh(`losetup -f --show ${extra} ${file}`).trim();
  return { dev, detach: () => sh(`losetup -d ${dev}`) };
}

test('aliases of a mounted disk: symlink, second node, stacked loop device, backing file — restores and backups refused, nothing written', async (t) => {
  const tmp = tempDir(`lifeboat-alias-${process.pid}-`);
  const store = join(tmp.dir, 'store');
  const disk = join(tmp.dir, 'disk.img');
  const mnt = join(tmp.dir, 'mnt');
  sh(`mkdir -p ${mnt} && truncate -s 48M ${disk} && mkfs.ext4 -q -F ${disk}`);
  const small = join(tmp.dir, 'small.img');
  sh(`head -c 2M /dev/urandom > ${small}`);
  const image = lastJson<{ id: string }>(lifeboat(['image', 'backup', small, '--store', store, '--json'])).id;
  const a = loop(disk);
  const cleanups: Array<() => void> = [a.detach];
  try {
    const [major, minor] = sh(`stat -c '%t %T' ${a.dev}`).trim().split(' ').map((h) => parseInt(h, 16));
    const link = join(tmp.dir, 'by-id-link');
    const node = join(tmp.dir, 'second-node');
    sh(`ln -s ${a.dev} ${link} && mknod ${node} b ${major} ${minor}`);

    // The image (2 MiB of random bytes) is nowhere on the disk and its filesystem checks clean.
    const untouched = () => {
      assert.notEqual(createHash('sha256').update(readFileSync(disk).subarray(0, 2 << 20)).digest('hex'), sha(small), 'the image was restored onto it');
      sh(`e2fsck -fn ${disk}`);
    };
    const refuse = (target: string, op: 'restore' | 'backup', why: RegExp) => {
      const r = op === 'restore' ? lifeboat(['image', 'restore', image, target, '--store', store, '--yes']) : lifeboat(['image', 'backup', target, '--store', store]);
      assert.equal(r.code, 1, `${op} ${target} must be refused: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, why, `${op} ${target}`);
    };

    await t.test('mounted directly: the device, a symlink to it and a second node are one disk', () => {
      sh(`mount ${a.dev} ${mnt}`);
      cleanups.unshift(() => sh(`umount ${mnt}`));
      for (const target of [a.dev, link, node]) {
        refuse(target, 'restore', new RegExp(`${target} is mounted at ${mnt}: unmount it before restoring onto it`));
        refuse(target, 'backup', new RegExp(`${target} is mounted read-write at ${mnt}: its image would be torn`));
      }
      refuse(disk, 'restore', new RegExp(`${disk} is mounted at ${mnt} \\(through ${a.dev.slice(5)}, built on it\\) \\(it is the backing file of ${a.dev.slice(5)}\\): unmount it`));
      refuse(disk, 'backup', /is mounted read-write at .*backing file of loop\d+.*would be torn/);
      sh(`umount ${mnt}`);
      cleanups.shift();
      untouched();
    });

    await t.test('a loop device stacked on the disk is mounted: the disk under it is in use', () => {
      const b = loop(a.dev);
      cleanups.unshift(b.detach);
      sh(`mount ${b.dev} ${mnt}`);
      cleanups.unshift(() => sh(`umount ${mnt}`));
      const bName = b.dev.slice('/dev/'.length);
      for (const target of [a.dev, link, node]) {
        refuse(target, 'restore', new RegExp(`${target} is mounted at ${mnt} \\(through ${bName}, built on it\\)`));
        refuse(target, 'backup', new RegExp(`${target} is mounted read-write at ${mnt} \\(through ${bName}`));
      }
      sh(`mount -o remount,ro ${mnt}`);
      const ro = lifeboat(['image', 'backup', link, '--store', store, '--json']);
      assert.equal(ro.code, 0, `mounted read-only above it, a backup may read it: ${ro.stderr}`);
      sh(`umount ${mnt}`);
      cleanups.shift();
      untouched();
    });

    await t.test('unmounted, the same aliases are accepted (the refusals were about the mount)', () => {
      const r = lifeboat(['image', 'restore', image, link, '--store', store, '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(createHash('sha256').update(readFileSync(disk).subarray(0, 2 << 20)).digest('hex'), sha(small));
    });
  } finally {
    for (const c of cleanups) {
      try {
        c();
      } catch {
        // keep cleaning up
      }
    }
    tmp.cleanup();
  }
});

test('a restore never follows a dangling symlink to create a file elsewhere', () => {
  const tmp = tempDir(`lifeboat-alias-${process.pid}-`);
  const store = join(tmp.dir, 'store');
  const small = join(tmp.dir, 'small.img');
  sh(`head -c 1M /dev/urandom > ${small}`);
  try {
    const image = lastJson<{ id: string }>(lifeboat(['image', 'backup', small, '--store', store, '--json'])).id;
    const elsewhere = join(tmp.dir, 'elsewhere');
    sh(`ln -s ${elsewhere} ${tmp.dir}/dangling`);
    const r = lifeboat(['image', 'restore', image, join(tmp.dir, 'dangling'), '--store', store, '--yes']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(sh(`ls ${tmp.dir}`).includes('elsewhere'), false, 'no file created through the symlink');
  } finally {
    tmp.cleanup();
  }
});
