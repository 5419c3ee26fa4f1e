import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addWork, formatProfile, noWork } from './backup-profile.js';
import { BackupTally } from './backup-tally.js';

test('work times add up over chunks; missing, negative or non-finite times are left out', () => {
  const w = noWork();
  addWork(w, { read: 2, print: 3, wall: 10 });
  addWork(w, { read: 1.5, store: Number.NaN, hash: -4, pack: Infinity });
  addWork(w, undefined);
  assert.deepEqual(w, { read: 3.5, print: 3, hash: 0, pack: 0, store: 0, wall: 10 });
});

test('the tally sums what the worker threads report per chunk', () => {
  const tally = new BackupTally(8, 2);
  tally.add({ length: 4, outcome: 'new', bytesRead: 4, bytesHashed: 4, storedBytes: 2, ms: { read: 1, print: 2, hash: 3, pack: 4, store: 5, wall: 20 } });
  tally.add({ length: 4, outcome: 'known', bytesRead: 4, bytesHashed: 0, storedBytes: 0, ms: { read: 1, print: 2, hash: 0, pack: 0, store: 0, wall: 4 } });
  assert.deepEqual(tally.work, { read: 2, print: 4, hash: 3, pack: 4, store: 5, wall: 24 });
});

test('one line: the stages in order, the later ones given, and what the threads did (CPU time and waiting, or wall time)', () => {
  const base = { begin: 120, workers: 2830, plan: 2710, planCpu: 400, cpu: true, pipeline: 3630, threads: 2, work: { read: 1000, print: 2000, hash: 190, pack: 0, store: 10, wall: 6000 } };
  const line = formatProfile(base, [['index upload', 70], ['appliance finish', 12_345]]);
  assert.equal(
    line,
    'begin 0.12 s, workers 2.83 s, plan (CPU 0.40 s) 2.71 s, chunks 3.63 s, index upload 0.07 s, appliance finish 12.3 s ' +
      '(workers and plan overlap; CPU time of the 2 worker thread(s): read 1.00 s, fingerprint 2.00 s, sha-256 0.19 s, lz4 0.00 s, store 0.01 s, waiting 2.80 s)',
  );
  const wall = formatProfile({ ...base, planCpu: null, cpu: false });
  assert.match(wall, /, plan 2\.71 s, chunks 3\.63 s \(workers and plan overlap; time of the 2 worker thread\(s\): read 1\.00 s, .*store 0\.01 s\)$/);
  assert.doesNotMatch(wall, /waiting/);
});
