import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackupTally } from './backup-tally.js';
import type { BackupOutcome } from './chunk-worker.js';

const r = (outcome: BackupOutcome, length: number, more: { bytesRead?: number; bytesHashed?: number; storedBytes?: number } = {}) => ({
  outcome,
  length,
  bytesRead: more.bytesRead ?? (outcome === 'unused' ? 0 : length),
  bytesHashed: more.bytesHashed ?? 0,
  storedBytes: more.storedBytes ?? 0,
});

test('counts each outcome where it belongs, in any order, and gives the manifest its stats', () => {
  const results = [
    r('unused', 100),
    r('zero', 100, { bytesRead: 40 }),
    r('known', 100, { bytesHashed: 0 }),
    r('known', 100, { bytesHashed: 100 }),
    r('existing', 100, { bytesHashed: 100 }),
    r('new', 100, { bytesHashed: 100, storedBytes: 25 }),
    r('new', 60, { bytesHashed: 60, storedBytes: 15 }),
  ];
  for (const order of [results, [...results].reverse()]) {
    const t = new BackupTally(660, 7);
    for (const x of order) t.add(x);
    assert.equal(t.chunkCount, 7);
    assert.equal(t.imageBytes, 660);
    assert.deepEqual(t.chunks, { zero: 2, unused: 1, reused: 3, new: 2 });
    assert.deepEqual(t.counters, { bytesDone: 660, bytesTotal: 660, bytesNew: 160, bytesReused: 300, bytesZero: 200, storedBytes: 40, chunksDone: 7, chunksTotal: 7 });
    assert.deepEqual(t.stats(1234), {
      bytesRead: 500,
      bytesZero: 200,
      bytesReused: 300,
      bytesNew: 160,
      bytesHashed: 360,
      chunksZero: 2,
      chunksUnused: 1,
      chunksReused: 3,
      chunksNew: 2,
      storedBytesNew: 40,
      compressionRatio: 4,
      durationMs: 1234,
    });
  }
});

test('nothing new: the compression ratio is 1, not a division by zero; a stream starts with no totals', () => {
  const t = new BackupTally(0, null);
  t.add(r('known', 10));
  assert.equal(t.stats(1).compressionRatio, 1);
  assert.equal(t.counters.chunksTotal, 0);
  assert.equal(t.imageBytes, 10);
});
