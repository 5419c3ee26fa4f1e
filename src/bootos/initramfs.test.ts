import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeCpio } from './cpio.js';
import { type InitramfsInputs, buildInitramfs, paramsArchive, withParams } from './initramfs.js';
import { missingModules } from './kernel-set.js';
import { decodeParams } from './params.js';

const V = '6.1.0-99-amd64';
const inputs: InitramfsInputs = {
  kernel: {
    kernelVersion: V,
    package: `linux-image-${V}`,
    vmlinuz: Buffer.from('kernel'),
    moduleCount: 2,
    files: [
      { path: `lib/modules/${V}/kernel/a.ko`, data: randomBytes(5000) },
      { path: `lib/modules/${V}/kernel/b.ko`, data: randomBytes(3000) },
      { path: `lib/modules/${V}/modules.dep`, data: Buffer.from('kernel/a.ko: kernel/b.ko\nkernel/b.ko:\n') },
      { path: `lib/modules/${V}/modules.alias`, data: Buffer.from('alias pci:v00001AF4d* a\n') },
    ],
  },
  node: randomBytes(200_000),
  libraries: [{ path: '/lib64/ld-linux-x86-64.so.2', data: Buffer.from('ld') }, { path: '/lib/x86_64-linux-gnu/libc.so.6', data: Buffer.from('libc') }],
  busybox: Buffer.from('busybox'),
  agent: Buffer.from('agent'),
  chunkWorker: Buffer.from('worker'),
  lz4Addon: Buffer.from('addon'),
  addonLibraries: [{ path: '/lib/x86_64-linux-gnu/liblz4.so.1', data: Buffer.from('liblz4') }],
  init: Buffer.from('#!/bin/busybox sh\n'),
  udhcpcScript: Buffer.from('#!/bin/sh\n'),
  buildInfo: 'test',
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const kind of ['zstd', 'xz'] as const) {
  test(`${kind}: two builds give the same bytes; the real decompressor and cpio read every member`, async () => {
    const a = await buildInitramfs(inputs, { compression: { kind, level: 3 }, cacheDir: null });
    const b = await buildInitramfs(inputs, { compression: { kind, level: 3 }, cacheDir: null });
    assert.equal(sha(a.bytes), sha(b.bytes));
    // the zstd/xz tool reads the concatenation as one stream, as the kernel reads consecutive archives
    assert.ok(execFileSync(kind, ['-d', '-c'], { input: a.bytes }).length > inputs.node.length);
    // Each archive is one compressed stream; decompress them one by one as the kernel does.
    const first = a.bytes.subarray(0, a.segments[0]!.bytes.length);
    const second = a.bytes.subarray(a.segments[0]!.bytes.length);
    const runtime = decodeCpio(execFileSync(kind, ['-d', '-c'], { input: first }));
    const system = decodeCpio(execFileSync(kind, ['-d', '-c'], { input: second }));
    assert.ok(runtime.find((m) => m.path === 'usr/bin/node')!.data.equals(inputs.node));
    assert.ok(runtime.some((m) => m.path === 'lib64/ld-linux-x86-64.so.2'));
    assert.deepEqual(system.filter((m) => m.path.endsWith('.ko')).map((m) => m.path), [`lib/modules/${V}/kernel/a.ko`, `lib/modules/${V}/kernel/b.ko`]);
    const init = system.find((m) => m.path === 'init')!;
    assert.equal(init.mode & 0o777, 0o755);
    assert.ok(system.some((m) => m.path === 'dev/console' && (m.mode & 0o170000) === 0o020000));
    // The agent keeps dist/'s layout: the bundle finds its worker beside it and the codec in ../native.
    const file = (path: string) => system.find((m) => m.path === path)?.data.toString();
    assert.equal(file('usr/lib/lifeboat/dist/agent/agent.cjs'), 'agent');
    assert.equal(file('usr/lib/lifeboat/dist/agent/chunk-worker.cjs'), 'worker');
    assert.equal(file('usr/lib/lifeboat/dist/native/lz4.node'), 'addon');
    assert.equal(file('lib/x86_64-linux-gnu/liblz4.so.1'), 'liblz4');
    const list = execFileSync('cpio', ['-t', '--quiet'], { input: execFileSync(kind, ['-d', '-c'], { input: second }) }).toString();
    assert.match(list, /^init$/m);
  });
}

test('the appended parameters archive carries the embedded params file', () => {
  const p = { url: 'http://10.0.2.2:8080', token: 'tok_0123456789abcdef', fingerprint: null, network: null, debug: false };
  const members = decodeCpio(paramsArchive(p));
  const appended = withParams(Buffer.from('12345'), p);
  assert.equal(appended.indexOf('070701'), 8, 'an uncompressed archive starts at a multiple of 4, after zeros');
  assert.deepEqual(decodeParams(members.find((m) => m.path === 'etc/lifeboat/params')!.data.toString()), p);
});

test('module set check: every module modules.dep names must be present', () => {
  assert.deepEqual(missingModules('kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko:\n', new Set(['kernel/a.ko', 'kernel/b.ko'])), ['kernel/c.ko']);
  assert.deepEqual(missingModules('kernel/a.ko: kernel/b.ko\nkernel/b.ko:\n', new Set(['kernel/a.ko', 'kernel/b.ko'])), []);
});
