import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProgressEvent } from '../imaging/progress.js';
import { progressLine } from './render.js';

const backup: ProgressEvent = { type: 'progress', operation: 'backup', imageId: 'i', bytesDone: 3 * 2 ** 30, bytesTotal: 8 * 2 ** 30, bytesNew: 2 * 2 ** 30, bytesReused: 2 ** 30, bytesZero: 512 * 2 ** 20, storedBytes: 2 ** 30, chunksDone: 3, chunksTotal: 8, rateBps: 412.3e6, avgBps: 400e6, ratio: 1.87, etaSeconds: 521, elapsedMs: 8000 };

test('a wide line shows every field, the bar and the ETA', () => {
  const l = progressLine(backup, 200);
  assert.match(l, /^\[#+\.+\] +38% {2}3\.00 GiB\/8\.00 GiB {2}412\.3 MB\/s {2}new 2\.00 GiB {2}reused 1\.00 GiB {2}zero 512 MiB {2}lz4 1\.87x {2}ETA 8m41s$/);
});

test('narrower, fields drop lowest priority first and the ETA never goes, from 200 down to 16 columns', () => {
  let before = progressLine(backup, 200);
  for (let w = 200; w >= 16; w--) {
    const l = progressLine(backup, w);
    assert.ok(l.length <= w, `${w}: "${l}" is ${l.length} long`);
    assert.match(l, /ETA 8m41s$/, `${w}: "${l}"`);
    assert.match(l, /38%/, `${w}: the percentage stays`);
    // A field shown at this width was shown at every wider one.
    for (const field of ['lz4', 'zero', 'reused', 'new', 'GiB/8', 'MB/s']) if (l.includes(field)) assert.ok(before.includes(field), `${w}: ${field} came back`);
    before = l;
  }
  assert.equal(progressLine(backup, 12), 'ETA 8m41s', 'at 12 columns the ETA alone');
  assert.match(progressLine(backup, 80), /412\.3 MB\/s/, '80 columns keep MB/s');
  assert.doesNotMatch(progressLine(backup, 80), /zero/, '80 columns drop the zero bytes');
});

test('a restore (no backup figures) and a stream of unknown size keep their ETA too', () => {
  const restore: ProgressEvent = { ...backup, operation: 'restore', etaSeconds: null };
  assert.match(progressLine(restore, 40), /ETA --$/);
  const stream: ProgressEvent = { ...backup, bytesTotal: 0 };
  assert.doesNotMatch(progressLine(stream, 200), /%|\[/);
  assert.match(progressLine(stream, 30), /ETA 8m41s$/);
  assert.doesNotMatch(progressLine(backup, Infinity, false), /\[/, 'plain lines have no bar');
});
