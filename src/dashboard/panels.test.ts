import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobView, Machine } from '../api/contract.js';
import { HOUR_SLOTS, agoLabel, attentionLines, attentionTitle, failedJobs, gaugeInput, hourView, overdueMachines, padForChart, storeUsage } from './panels.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();

test('the hour chart: 360 slots of 10 s, samples in their slot, gaps at zero, the live rate last, labels with units', () => {
  const v = hourView([{ at: at(3_590_000), bytesPerSecond: 10e6 }, { at: at(65_000), bytesPerSecond: 80e6 }, { at: at(61_000), bytesPerSecond: 50e6 }, { at: at(4_000_000), bytesPerSecond: 999e6 }, { at: at(-20_000), bytesPerSecond: 999e6 }], NOW, 42e6);
  assert.equal(v.y.length, HOUR_SLOTS);
  assert.equal(v.x.length, HOUR_SLOTS);
  assert.equal(v.y[0], 10, 'an hour ago, in MB/s');
  assert.equal(v.y[HOUR_SLOTS - 7], 80, 'the higher of two samples in one slot');
  assert.equal(v.y.at(-1), 42, 'now: the live rate');
  assert.equal(v.peak, 80, 'older than the hour and from the future: left out');
  assert.equal(v.maxY, 100);
  assert.equal(v.y.filter((y) => y > 0).length, 3);
  assert.deepEqual([v.x[0], v.x[HOUR_SLOTS - 7], v.x.at(-2), v.x.at(-1)], ['-60m', '-1m', '-10s', 'now']);
  assert.ok(v.x.every((l) => l === 'now' || /^-\d+[ms]$/.test(l)), 'every label has its unit');
  assert.deepEqual(hourView([], NOW).maxY, 1, 'an empty chart still has a top');
  assert.equal(agoLabel(0), 'now');
  assert.equal(agoLabel(90_000), '-2m');
});

const job = (over: Partial<JobView>): JobView => ({ id: 'j', type: 'backup', state: 'done', createdAt: at(0), updatedAt: at(0), requestedBy: 'op', ...over });

test('failed and interrupted jobs of the last day, newest first; overdue machines, most overdue first', () => {
  const jobs = [
    job({ id: 'old', state: 'failed', finishedAt: at(2 * 86_400_000), error: 'long ago' }),
    job({ id: 'a', state: 'failed', finishedAt: at(3_600_000), error: 'no space left on the store', devicePath: '/srv/docked/a.img' }),
    job({ id: 'b', state: 'interrupted', finishedAt: at(60_000), machineName: 'pc-7' }),
    job({ id: 'c', state: 'done', finishedAt: at(1000) }),
    job({ id: 'd', state: 'cancelled', finishedAt: at(1000) }),
  ];
  const failed = failedJobs(jobs, (j) => j.machineName ?? j.devicePath ?? '?', NOW);
  assert.deepEqual(failed.map((f) => [f.id, f.target]), [['b', 'pc-7'], ['a', '/srv/docked/a.img']]);
  const m = (name: string, p?: Machine['backupPromise']): Machine => ({ id: name, name, macs: [], createdAt: '', updatedAt: '', ...(p ? { backupPromise: p } : {}) });
  const overdue = overdueMachines([m('fine', { schedule: 's', dueAt: at(0), lastGood: at(0), overdue: false }), m('late', { schedule: 'nightly', dueAt: at(3_600_000), lastGood: null, overdue: true }), m('later', { schedule: 'weekly', dueAt: at(86_400_000), lastGood: at(9 * 86_400_000), overdue: true }), m('none')]);
  assert.deepEqual(overdue.map((o) => o.name), ['later', 'late']);
  const before = process.env.TZ;
  process.env.TZ = 'UTC';
  try {
    assert.equal(attentionTitle(failed, overdue), ' Attention: 2 failed, 2 overdue ');
    assert.deepEqual(attentionLines(failed, overdue), [
      'FAILED 11:59 UTC backup pc-7 (interrupted): no reason given',
      'FAILED 11:00 UTC backup /srv/docked/a.img: no space left on the store',
      'OVERDUE later: last good 11-24 12:00 UTC, weekly due 12:00 UTC',
      'OVERDUE late: last good never, nightly due 11:00 UTC',
    ]);
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
  assert.equal(attentionTitle([], []), ' Attention: none ');
  assert.deepEqual(attentionLines([], []), ['no failed jobs, no overdue machines']);
  // An error text from outside is shown, never obeyed.
  assert.doesNotMatch(attentionLines([{ ...failed[0], error: 'x\x1b[2Jy' } as (typeof failed)[number]], []).join(''), /\x1b/); // eslint-disable-line no-control-regex
});

test('the store gauge is the store against the room it has, not the host filesystem', () => {
  assert.deepEqual(storeUsage(undefined), { percent: 0, label: 'no data', short: 'no data' });
  assert.deepEqual(storeUsage({ storedBytes: 25 * 2 ** 30, fsFreeBytes: 75 * 2 ** 30 }), { percent: 25, label: '25.0 GiB stored, 75.0 GiB free', short: '25.0 GiB stored' });
  assert.equal(storeUsage({ storedBytes: 0, fsFreeBytes: 0 }).percent, 0);
  assert.equal(storeUsage({ storedBytes: 10, fsFreeBytes: -5 }).percent, 100);
});

test('the chart is padded so that its last point (now) lands inside the canvas blessed-contrib draws', () => {
  const v = hourView([{ at: at(0), bytesPerSecond: 5e6 }], NOW);
  for (const width of [60, 100, 120, 200, 400]) {
    const p = padForChart(v, width);
    const total = p.y.length;
    const xOfNow = ((width - 12) / total) * (HOUR_SLOTS - 1) + 12 + 2;
    assert.ok(xOfNow <= width - 2, `canvas ${width}: now at ${xOfNow}`);
    assert.deepEqual(p.y.slice(0, HOUR_SLOTS), v.y, 'the hour itself unchanged');
    assert.ok(p.y.slice(HOUR_SLOTS).every((y) => y === v.y.at(-1)) && p.x.slice(HOUR_SLOTS).every((l) => l === ' '));
    assert.ok(total - HOUR_SLOTS < 40, `canvas ${width}: ${total - HOUR_SLOTS} extra points`);
  }
});

test('the gauge gets 1% as 1%, not as a fraction meaning 100%', () => {
  // blessed-contrib multiplies values below 1.001 by 100.
  const shown = (p: number) => (gaugeInput(p) < 1.001 ? gaugeInput(p) * 100 : gaugeInput(p));
  for (const p of [0, 1, 2, 50, 99, 100]) assert.equal(Math.round(shown(p)), p);
});
