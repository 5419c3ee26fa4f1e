import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LifeboatError } from '../errors.js';
import { type CpioEntry, decodeCpio, encodeCpio } from './cpio.js';

const sample: CpioEntry[] = [
  { type: 'file', path: 'etc/hello', data: Buffer.from('hi\n'), mode: 0o644 },
  { type: 'dir', path: 'etc' },
  { type: 'symlink', path: 'bin/sh', target: 'busybox' },
  { type: 'dir', path: 'bin' },
  { type: 'file', path: 'bin/busybox', data: Buffer.from('#!fake\n'), mode: 0o755 },
  { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  { type: 'dir', path: 'dev' },
];

test('golden bytes: a directory and a file, fixed header fields, 4-byte padding, trailer', () => {
  const bytes = encodeCpio([{ type: 'file', path: 'a', data: Buffer.from('xyz') }, { type: 'dir', path: 'd' }]);
  const expected =
    '070701' + '00000001' + '000081a4' + '00000000' + '00000000' + '00000001' + '00000000' + '00000003' + '00000000' + '00000000' + '00000000' + '00000000' + '00000002' + '00000000' + 'a\0' + 'xyz\0' +
    '070701' + '00000002' + '000041ed' + '00000000' + '00000000' + '00000002' + '00000000' + '00000000' + '00000000' + '00000000' + '00000000' + '00000000' + '00000002' + '00000000' + 'd\0' +
    '070701' + '00000000' + '00000000' + '00000000' + '00000000' + '00000001' + '00000000' + '00000000' + '00000000' + '00000000' + '00000000' + '00000000' + '0000000b' + '00000000' + 'TRAILER!!!\0' + '\0\0\0';
  assert.equal(bytes.toString('latin1'), expected);
  assert.equal(bytes.length % 4, 0);
});

test('deterministic: the same entries in any order give the same bytes', () => {
  const a = encodeCpio(sample);
  const b = encodeCpio([...sample].reverse());
  assert.ok(a.equals(b));
});

test('the real cpio tool lists and extracts what the writer wrote', () => {
  const bytes = encodeCpio(sample);
  const list = spawnSync('cpio', ['-t', '--quiet'], { input: bytes });
  assert.equal(list.status, 0, list.stderr.toString());
  assert.deepEqual(list.stdout.toString().trim().split('\n'), ['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'etc', 'etc/hello']);
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cpio-'));
  try {
    // No device nodes as a test (needs CAP_MKNOD): extract everything but dev/console.
    const x = spawnSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames', '-f', 'dev/console'], { input: bytes, cwd: dir });
    assert.equal(x.status, 0, x.stderr.toString());
    assert.equal(readFileSync(join(dir, 'etc/hello'), 'utf8'), 'hi\n');
    assert.equal(lstatSync(join(dir, 'bin/busybox')).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(dir, 'bin/sh')), 'busybox');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('round trip through decodeCpio, large and odd-sized data', () => {
  const big = randomBytes(100_001);
  const members = decodeCpio(encodeCpio([...sample, { type: 'file', path: 'big', data: big }]));
  assert.equal(createHash('sha256').update(members.find((m) => m.path === 'big')!.data).digest('hex'), createHash('sha256').update(big).digest('hex'));
  assert.equal(members.length, sample.length + 1);
});

test('unsafe or duplicate paths are refused with the path named', () => {
  for (const path of ['/etc/x', '../x', 'a/../b', 'a//b', '', 'a/./b', 'a\0b']) {
    assert.throws(() => encodeCpio([{ type: 'dir', path }]), (e: unknown) => e instanceof LifeboatError && e.message.includes('not a clean relative path'), path);
  }
  assert.throws(() => encodeCpio([{ type: 'dir', path: 'x' }, { type: 'dir', path: 'x' }]), /appears twice/);
});

test('fuzz: decodeCpio on damaged archives throws only clear errors', () => {
  const good = encodeCpio(sample);
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good);
    const n = 1 + (i % 8);
    for (let k = 0; k < n; k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    const cut = i % 3 === 0 ? b.subarray(0, Math.floor(Math.random() * b.length)) : b;
    try {
      decodeCpio(cut);
    } catch (e) {
      assert.ok(e instanceof LifeboatError && e.message.startsWith('cpio: '), String(e));
    }
  }
});
