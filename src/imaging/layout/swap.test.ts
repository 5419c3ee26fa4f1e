import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { probeSwap, swapUsage } from './swap.js';
import { type BlockReader, LayoutProblem, bufferReader } from './types.js';
import { withTempDir as withTempDirIn } from '../../../test/helpers/fixtures.js';

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const withTempDir = (fn: (dir: string) => void | Promise<void>) => withTempDirIn('lifeboat-swap-', fn);

function makeSwap(dir: string, name: string, size: number, args: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  run('mkswap', [...args, path]);
  return path;
}

test('mkswap area: header page only, label and UUID', withTempDir(async (dir) => {
  const uuid = '0123abcd-1111-2222-3333-444455556666';
  const path = makeSwap(dir, 's.img', 10 << 20, ['-L', 'lifeboat-sw', '-U', uuid]);
  const reader = bufferReader(readFileSync(path));
  assert.equal(await probeSwap(reader), true);
  const usage = await swapUsage(reader);
  assert.deepEqual(usage, {
    fsType: 'swap', blockSize: 4096, totalBytes: 10 << 20, usedBytes: 4096,
    used: [{ start: 0, length: 4096 }], label: 'lifeboat-sw', uuid,
  });
}));

test('free space wiped with garbage: blkid and swaplabel still read the area', withTempDir(async (dir) => {
  const path = makeSwap(dir, 's.img', 8 << 20, ['-L', 'keep']);
  const before = run('blkid', ['-o', 'export', path]);
  const image = readFileSync(path);
  const usage = await swapUsage(bufferReader(image));
  const wiped = Buffer.alloc(image.length, 0xa5);
  for (const e of usage.used) image.copy(wiped, e.start, e.start, e.start + e.length);
  writeFileSync(path, wiped);
  assert.equal(run('blkid', ['-o', 'export', path]), before);
  assert.match(run('swaplabel', [path]), /LABEL: keep/);
  assert.equal(usage.uuid, /UUID=(\S+)/.exec(before)?.[1]);
}));

test('64 KiB page size (mkswap -p 65536)', withTempDir(async (dir) => {
  const path = makeSwap(dir, 'p.img', 8 << 20, ['-p', '65536']);
  const usage = await swapUsage(bufferReader(readFileSync(path)));
  assert.equal(usage.blockSize, 65536);
  assert.deepEqual(usage.used, [{ start: 0, length: 65536 }]);
  assert.equal(usage.totalBytes, 8 << 20);
  assert.equal(usage.label, undefined);
  assert.match(usage.uuid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
}));

function synthetic(size: number, magic: string): Buffer {
  const buf = Buffer.alloc(size);
  buf.write(magic, 4096 - 10, 'latin1');
  return buf;
}

test('big-endian header, version 0 header, and the last page bound', async () => {
  const be = synthetic(1 << 20, 'SWAPSPACE2');
  be.writeUInt32BE(1, 1024);
  be.writeUInt32BE(255, 1028);
  be.write('bigend', 1052);
  const usage = await swapUsage(bufferReader(be));
  assert.equal(usage.totalBytes, 1 << 20);
  assert.equal(usage.label, 'bigend');
  assert.equal(usage.uuid, undefined);

  const v0 = await swapUsage(bufferReader(synthetic(1 << 20, 'SWAP-SPACE')));
  assert.deepEqual(v0.used, [{ start: 0, length: 4096 }]);
  assert.equal(v0.totalBytes, 1 << 20);

  const tooLong = synthetic(1 << 20, 'SWAPSPACE2');
  tooLong.writeUInt32LE(1, 1024);
  tooLong.writeUInt32LE(256, 1028);
  await assert.rejects(swapUsage(bufferReader(tooLong)), (e: unknown) => e instanceof LayoutProblem && /last page 256/.test(e.message));

  const badVersion = synthetic(1 << 20, 'SWAPSPACE2');
  badVersion.writeUInt32LE(2, 1024);
  await assert.rejects(swapUsage(bufferReader(badVersion)), LayoutProblem);
});

test('not swap: zeros, a hibernation image, a device smaller than a page', async () => {
  for (const buf of [Buffer.alloc(1 << 20), synthetic(1 << 20, 'S1SUSPEND\0'), Buffer.alloc(100)]) {
    const reader = bufferReader(buf);
    assert.equal(await probeSwap(reader), false);
    await assert.rejects(swapUsage(reader), (e: unknown) => e instanceof LayoutProblem && e.subject === 'swap');
  }
});

/** A reader over `base` with a few bytes replaced; any read outside it fails the test (not a LayoutProblem). */
function patchedReader(base: Buffer, patches: Array<[number, number]>): BlockReader {
  return {
    size: base.length,
    async read(offset: number, length: number): Promise<Buffer> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > base.length) {
        throw new Error(`parser read outside the device: ${length} bytes at ${offset}`);
      }
      const out = Buffer.from(base.subarray(offset, offset + length));
      for (const [at, value] of patches) if (at >= offset && at < offset + length) out[at - offset] = value;
      return out;
    },
  };
}

test('fuzz: mutated headers only ever yield a usage or a LayoutProblem', withTempDir(async (dir) => {
  const image = readFileSync(makeSwap(dir, 'f.img', 1 << 20, ['-L', 'fuzz']));
  let seed = 0x5eed;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const hot = [1024, 1028, 1029, 1030, 1031, 4086, 4090, 4095];
  let ok = 0;
  for (let i = 0; i < 3000; i++) {
    const patches: Array<[number, number]> = [];
    for (let k = 1 + rand(4); k > 0; k--) {
      const at = rand(2) === 0 ? (hot[rand(hot.length)] ?? 0) : 1024 + rand(3072);
      patches.push([at, [0, 0xff, 0x80, rand(256)][rand(4)] ?? 0]);
    }
    try {
      const usage = await swapUsage(patchedReader(image, patches));
      assert.ok(usage.totalBytes <= image.length && usage.usedBytes === usage.blockSize);
      ok++;
    } catch (e) {
      if (!(e instanceof LayoutProblem)) throw e;
    }
  }
  assert.ok(ok > 0);
}));
