// `schedule show` and a schedule's prune report (`schedule run --dry-run`) in words: the
// destination is shown, escaped like every field that comes from the daemon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PruneReport, ScheduleView } from '../api/contract.js';
import { pruneText } from './prune-text.js';
import { scheduleText } from './schedule.js';

const view: ScheduleView = { id: 'a1b2c3d4e5f6', name: 'nightly', target: { machines: ['pc-1'] }, calendar: 'daily', retention: { keepLast: 3 }, enabled: true, createdAt: '2026-12-01T00:00:00Z', updatedAt: '2026-12-01T00:00:00Z', nextRun: null };

test('schedule show says where the backups go: the appliance, a client disk, a share (control characters escaped)', () => {
  assert.match(scheduleText(view), /^to: +appliance$/m);
  const usb = scheduleText({ ...view, destination: { kind: 'client-disk', label: 'LBUSB' } });
  assert.match(usb, /^to: +disk:LABEL=LBUSB \(its images there are not pruned: retention prunes the appliance's store\)$/m);
  assert.match(scheduleText({ ...view, destination: { kind: 'client-disk', uuid: '1a2b-3c4d' } }), /^to: +disk:UUID=1a2b-3c4d /m);
  const hostile = scheduleText({ ...view, destination: { kind: 'share', name: 'nas\u001b[2J\nkeeps: everything' } });
  assert.ok(!hostile.includes('\u001b'), 'no escape sequence reaches the terminal');
  assert.match(hostile, /^to: +share:nas\\x1b\[2J\\nkeeps: everything /m, 'a line break stays on its line');
  assert.equal(hostile.split('\n').filter((l) => l.startsWith('keeps:')).length, 1);
});

test('a schedule prune report names the destination whose images it leaves alone', () => {
  const report: PruneReport = { schedule: 'nightly', removed: [], kept: [], protectedKept: [], decisions: [], dryRun: true, gc: { skipped: 'dry run' } };
  assert.doesNotMatch(pruneText(report), /backups go to/);
  const text = pruneText({ ...report, destination: { kind: 'share', name: 'nas' } });
  assert.match(text, /^backups go to share:nas: the images there are not pruned \(retention prunes the appliance's store only\)$/m);
  assert.ok(!pruneText({ ...report, destination: { kind: 'share', name: 'n\u0007as' } }).includes('\u0007'));
});
