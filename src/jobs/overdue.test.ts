import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCalendar } from './calendar.js';
import { backupPromises, previousElapse } from './overdue.js';

const now = new Date('2026-12-03T12:00:00Z');
const sched = (over: Partial<Parameters<typeof backupPromises>[0][number]> = {}) => ({ name: 'nightly', calendar: '*-*-* 22:00:00 UTC', enabled: true, createdAt: '2026-11-01T00:00:00Z', target: { machines: ['pc-1', 'pc-2', 'pc-3'] }, ...over });
const machines = [{ name: 'pc-1' }, { name: 'pc-2' }, { name: 'pc-3', group: 'office' }, { name: 'pc-4', group: 'office' }];

test('previousElapse: the last firing at or before a time', () => {
  assert.equal(previousElapse(parseCalendar('*-*-* 22:00:00 UTC'), now)?.toISOString(), '2026-12-02T22:00:00.000Z');
  assert.equal(previousElapse(parseCalendar('Mon *-*-* 03:00:00 UTC'), now)?.toISOString(), '2026-11-30T03:00:00.000Z');
  assert.equal(previousElapse(parseCalendar('*-*-01 00:00:00 UTC'), now)?.toISOString(), '2026-12-01T00:00:00.000Z');
  assert.equal(previousElapse(parseCalendar('2030-01-01 UTC'), now), null);
});

test('a machine is overdue when its last good backup is older than the last firing (past the grace); covered by group too', () => {
  const good = new Map([
    ['pc-1', '2026-12-02T22:40:00Z'], // after last night's firing: fine
    ['pc-2', '2026-12-01T22:30:00Z'], // missed last night
  ]);
  const p = backupPromises([sched(), sched({ name: 'office', target: { group: 'office' } })], machines, good, now);
  assert.deepEqual(p.get('pc-1'), { schedule: 'nightly', dueAt: '2026-12-02T22:00:00.000Z', lastGood: '2026-12-02T22:40:00Z', overdue: false });
  assert.equal(p.get('pc-2')?.overdue, true);
  assert.equal(p.get('pc-3')?.overdue, true, 'never backed up');
  assert.equal(p.get('pc-4')?.schedule, 'office');
  assert.equal(p.get('pc-4')?.overdue, true);
});

test('no promise: a disabled schedule, one created after its last firing, a firing within the grace, docked-disk schedules', () => {
  assert.equal(backupPromises([sched({ enabled: false })], machines, new Map(), now).size, 0);
  assert.equal(backupPromises([sched({ createdAt: '2026-12-03T08:00:00Z' })], machines, new Map(), now).size, 0);
  assert.equal(backupPromises([sched({ calendar: '*-*-* 11:00:00 UTC', createdAt: '2026-12-03T10:30:00Z' })], machines, new Map(), now).size, 0, 'fired an hour ago: within the 2 h grace');
  assert.equal(backupPromises([sched({ target: { devices: ['/dev/sdb'] } })], machines, new Map(), now).size, 0);
  assert.equal(backupPromises([sched({ calendar: 'garbage' })], machines, new Map(), now).size, 0);
});
