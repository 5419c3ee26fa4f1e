// diffTrees, the pure part of the disk comparison: every kind of difference is named once,
// with its path, and equal trees give nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FileEntry, type FileTree, diffTrees } from './disk-check.js';

const file = (size: number, sha256: string): FileEntry => ({ kind: 'file', size, sha256 });

test('equal trees: no difference', () => {
  const t: FileTree = new Map<string, FileEntry>([['/a', { kind: 'dir' }], ['/a/b.txt', file(3, 'aa'.repeat(32))], ['/l', { kind: 'symlink', target: 'a/b.txt' }]]);
  assert.deepEqual(diffTrees(t, new Map(t)), []);
});

test('each difference is named with its path: missing, extra, changed content, changed kind, changed link', () => {
  const a: FileTree = new Map<string, FileEntry>([
    ['/gone.txt', file(1, '11'.repeat(32))],
    ['/same.txt', file(2, '22'.repeat(32))],
    ['/changed.bin', file(4, '33'.repeat(32))],
    ['/was-dir', { kind: 'dir' }],
    ['/link', { kind: 'symlink', target: 'x' }],
  ]);
  const b: FileTree = new Map<string, FileEntry>([
    ['/same.txt', file(2, '22'.repeat(32))],
    ['/changed.bin', file(4, '44'.repeat(32))],
    ['/was-dir', file(0, '55'.repeat(32))],
    ['/link', { kind: 'symlink', target: 'y' }],
    ['/new.txt', file(5, '66'.repeat(32))],
  ]);
  assert.deepEqual(diffTrees(a, b, 'p1 '), [
    'p1 /gone.txt: only in the first (file of 1 bytes, sha256 1111111111111111…)',
    'p1 /changed.bin: differs: file of 4 bytes, sha256 3333333333333333… vs file of 4 bytes, sha256 4444444444444444…',
    'p1 /was-dir: differs: directory vs file of 0 bytes, sha256 5555555555555555…',
    'p1 /link: differs: symlink to x vs symlink to y',
    'p1 /new.txt: only in the second (file of 5 bytes, sha256 6666666666666666…)',
  ]);
});
