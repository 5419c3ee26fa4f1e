// Real block devices (loop devices): back up from one, restore onto one; a mounted target
// and a target with 4096-byte logical sectors are refused before a byte is written; a
// source mounted read-write or holding active swap is refused (its image would be torn).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { lastJson, lifeboat, sh, tempDir } from './helpers/cli.js';
import { attachLoop } from './helpers/system.js';

const ROOT = process.getuid?.() === 0 ? false : 'needs root for loop devices';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('backup from a loop device and restore onto another, byte-identical', { skip: ROOT }, () => {
  const t = tempDir();
  const src = join(t.dir, 'src.img');
  const dst = join(t.dir, 'dst.img');
  sh(`head -c 9M /dev/urandom > ${src} && truncate -s 24M ${src} && truncate -s 32M ${dst}`);
  const a = attachLoop(src);
  const b = attachLoop(dst);
  try {
    const r = lifeboat(['image', 'backup', a.dev, '--store', join(t.dir, 'store'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const image = lastJson<{ id: string; source: { kind: string; size: number } }>(r);
    assert.equal(image.source.kind, 'block');
    assert.equal(image.source.size, 24 << 20);
    const rr = lifeboat(['image', 'restore', image.id, b.dev, '--store', join(t.dir, 'store'), '--yes', '--verify']);
    assert.equal(rr.code, 0, rr.stderr);
    sh('sync');
    assert.equal(sha(readFileSync(dst).subarray(0, 24 << 20)), sha(readFileSync(src)));
  } finally {
    a.detach();
    b.detach();
    t.cleanup();
  }
});

test('a mounted target is refused before a byte is written', { skip: ROOT }, () => {
  const t = tempDir();
  const src = join(t.dir, 'src.img');
  const dst = join(t.dir, 'dst.img');
  sh(`head -c 4M /dev/urandom > ${src} && truncate -s 64M ${dst} && mkfs.ext4 -q -F ${dst}`);
  const b = attachLoop(dst);
  const mnt = join(t.dir, 'mnt');
  sh(`mkdir -p ${mnt} && mount ${b.dev} ${mnt}`);
  try {
    const r = lifeboat(['image', 'backup', src, '--store', join(t.dir, 'store'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const before = sha(readFileSync(dst));
    const rr = lifeboat(['image', 'restore', lastJson<{ id: string }>(r).id, b.dev, '--store', join(t.dir, 'store'), '--yes']);
    assert.equal(rr.code, 1);
    assert.match(rr.stderr, /is mounted at .*: unmount it before restoring/);
    sh('sync');
    assert.equal(sha(readFileSync(dst)), before);
  } finally {
    sh(`umount ${mnt}`);
    b.detach();
    t.cleanup();
  }
});

test('a source mounted read-write or holding active swap is refused; mounted read-only it is imaged', { skip: ROOT }, () => {
  const t = tempDir();
  const src = join(t.dir, 'src.img');
  const store = join(t.dir, 'store');
  sh(`mkdir -p ${t.dir}/tree && head -c 3M /dev/urandom > ${t.dir}/tree/a.bin && truncate -s 64M ${src} && mkfs.ext4 -q -F -d ${t.dir}/tree ${src}`);
  const a = attachLoop(src);
  const mnt = join(t.dir, 'mnt');
  sh(`mkdir -p ${mnt} && mount ${a.dev} ${mnt}`);
  let mounted = true;
  try {
    const rw = lifeboat(['image', 'backup', a.dev, '--store', store]);
    assert.equal(rw.code, 1, rw.stderr);
    assert.match(rw.stderr, new RegExp(`${a.dev} is mounted read-write at ${mnt}: its image would be torn; unmount it \\(or remount it read-only\\)`));
    assert.equal(lifeboat(['image', 'list', '--store', store, '--json']).stdout.trim(), '[]', 'nothing committed');

    sh(`mount -o remount,ro ${mnt}`);
    const ro = lifeboat(['image', 'backup', a.dev, '--store', store, '--json']);
    assert.equal(ro.code, 0, ro.stderr);
    sh(`umount ${mnt}`);
    mounted = false;
    const out = join(t.dir, 'restored.img');
    assert.equal(lifeboat(['image', 'restore', lastJson<{ id: string }>(ro).id, out, '--store', store]).code, 0);
    sh(`e2fsck -fn ${out}`);
    assert.equal(sh(`debugfs -R 'cat /a.bin' ${out} 2>/dev/null | sha256sum`).slice(0, 64), sha(readFileSync(join(t.dir, 'tree', 'a.bin'))));
  } finally {
    if (mounted) sh(`umount ${mnt}`);
    a.detach();
  }

  const swap = join(t.dir, 'swap.img');
  sh(`head -c 16M /dev/zero > ${swap} && chmod 600 ${swap} && mkswap ${swap}`);
  const s = attachLoop(swap);
  sh(`swapon ${s.dev}`);
  try {
    const r = lifeboat(['image', 'backup', s.dev, '--store', store]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${s.dev} holds active swap \\(${s.dev}\\): run \`swapoff ${s.dev}\``));
  } finally {
    sh(`swapoff ${s.dev}`);
    s.detach();
    t.cleanup();
  }
});

test('a target with 4096-byte logical sectors is refused for an image of a 512-byte-sector disk', { skip: ROOT }, () => {
  const t = tempDir();
  const src = join(t.dir, 'src.img');
  const dst = join(t.dir, 'dst.img');
  sh(`head -c 4M /dev/urandom > ${src} && truncate -s 16M ${dst}`);
  const b = attachLoop(dst, { sectorSize: 4096 });
  try {
    const r = lifeboat(['image', 'backup', src, '--store', join(t.dir, 'store'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rr = lifeboat(['image', 'restore', lastJson<{ id: string }>(r).id, b.dev, '--store', join(t.dir, 'store'), '--yes']);
    assert.equal(rr.code, 1);
    assert.match(rr.stderr, /4096-byte sectors .* 512-byte sectors: choose a disk with 512-byte sectors/);
    assert.equal(readFileSync(dst).every((x) => x === 0), true, 'nothing written');
  } finally {
    b.detach();
    t.cleanup();
  }
});
