import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobView, PruneReport } from '../api/contract.js';
import { parseSince, positiveCount } from './client-common.js';
import { durationOf, jobListRow, jobStory, jobSummary } from './job-text.js';
import { pruneText, retentionOf } from './prune-text.js';

// Times are shown in local time with their zone: these cases are written for UTC.
process.env.TZ = 'UTC';

const base: JobView = { id: 'abcdef012345', type: 'backup', state: 'done', machineId: 'm1', machineName: 'pc-1', diskSerial: 'WD-1', imageId: '20261203T010000Z-00000001', createdAt: '2026-12-03T01:00:00.000Z', startedAt: '2026-12-03T01:00:05.000Z', finishedAt: '2026-12-03T01:02:05.000Z', updatedAt: '2026-12-03T01:02:05.000Z', requestedBy: 'timer' };

test('a job list row: machine by name, disk, times, duration, who asked', () => {
  const row = jobListRow({ ...base, stats: { bytesNew: 1 << 20 } });
  assert.deepEqual(row.slice(0, 10), ['abcdef012345', 'backup', 'done', 'pc-1', 'WD-1', '2026-12-03 01:00:00 UTC', '01:00:05 UTC', '01:02:05 UTC', '2m00s', 'timer']);
  assert.equal(jobListRow({ ...base, machineName: undefined } as JobView)[3], 'machine id m1', 'a machine that is gone shows its id, said as such');
  assert.equal(durationOf({ ...base, finishedAt: undefined }, Date.parse('2026-12-03T01:00:35Z')), 30, 'a running job: so far');
  assert.equal(durationOf({ ...base, startedAt: undefined }), null);
  assert.match(jobListRow({ ...base, state: 'cancelled', progress: { bytesDone: 25, bytesTotal: 100, at: '' }, outcome: 'cancelled: no image was made' })[10] ?? '', /^25% reached cancelled: no image/);
});

test('summaries say what the local commands say', () => {
  assert.equal(
    jobSummary({ ...base, stats: { bytesRead: 100 << 20, bytesNew: 10 << 20, storedBytesNew: 5 << 20, compressionRatio: 2, bytesReused: 90 << 20, bytesZero: 0, durationMs: 2000 } }),
    'image 20261203T010000Z-00000001 committed: 100 MiB read, 10.0 MiB new -> 5.00 MiB stored (lz4 2.00x), 90.0 MiB reused, 0 B zero, in 2s, 52.4 MB/s',
  );
  assert.equal(jobSummary({ ...base, type: 'restore', devicePath: '/dev/sdb', machineId: undefined, stats: { bytesTotal: 1 << 30, durationMs: 4000 } }), 'restored image 20261203T010000Z-00000001 onto /dev/sdb: 1.00 GiB in 4s, 268.4 MB/s');
  assert.equal(jobSummary({ ...base, stats: undefined }), 'job abcdef012345 done', 'no figures: no invented ones');
});

test('the story: every field, state changes, log lines, the ending', () => {
  const story = jobStory({ ...base, state: 'failed', error: 'pc-1 did not boot: check Wake-on-LAN', history: [{ state: 'queued', at: base.createdAt }, { state: 'failed', at: base.updatedAt }], log: [{ at: '2026-12-03T01:00:06.000Z', level: 'warning', message: 'partition 3 imaged raw' }], logDropped: 4 });
  assert.match(story, /^machine:\s+pc-1$/m);
  assert.match(story, /^disk:\s+WD-1$/m);
  assert.match(story, /state changes:\n {2}2026-12-03 01:00:00 UTC {2}queued\n {2}2026-12-03 01:02:05 UTC {2}failed/);
  assert.match(story, /log \(the oldest 4 line\(s\) dropped\):\n {2}01:00:06 UTC warning: partition 3 imaged raw/);
  assert.match(story, /\n\nerror: pc-1 did not boot: check Wake-on-LAN$/);
  assert.match(jobStory({ ...base, log: [] }), /log:\n {2}\(no log lines\)/);
});

test('the story of a machine job: the disk its agent chose, the options it was given', () => {
  const story = jobStory({ ...base, type: 'restore', agentDisk: { name: 'nvme0n1', sizeBytes: 1 << 30, logicalSectorSize: 512, physicalSectorSize: 512, serial: 'NV-1', model: 'QEMU NVMe' }, options: { end: 'poweroff', verify: true, verifyFirst: false, growLast: true } });
  assert.match(story, /^agent disk:\s+\/dev\/nvme0n1 serial NV-1 \(QEMU NVMe\), 1\.00 GiB$/m);
  assert.match(story, /^options:\s+verify, no verify first, grow last partition, then poweroff$/m);
});

test('--since and counts: what they take, and a usage error naming the value otherwise', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  assert.equal(parseSince('24h', now), '2026-12-02T12:00:00.000Z');
  assert.equal(parseSince('2w', now), '2026-11-19T12:00:00.000Z');
  assert.equal(parseSince('2026-12-01'), '2026-12-01T00:00:00.000Z');
  assert.equal(parseSince('2026-12-01 08:30Z'), '2026-12-01T08:30:00.000Z');
  for (const bad of ['yesterday', '', '24', '-1h', '2026-13-45', '2026-12-01T25:00Z', '1e3h']) assert.throws(() => parseSince(bad), /--since takes a date or time/, bad);
  assert.equal(positiveCount('--limit')('7'), 7);
  for (const bad of ['0', '-1', '1.5', 'x', '1e3', '99999999999999999999']) assert.throws(() => positiveCount('--limit')(bad), /--limit takes a whole number, at least 1/, bad);
});

test('a prune report in words: each image, its action and the rule that keeps it', () => {
  const report: PruneReport = {
    schedule: 'images',
    removed: ['b'],
    kept: ['a'],
    protectedKept: ['c'],
    dryRun: true,
    gc: { skipped: 'dry run' },
    decisions: [
      { id: 'a', source: '/dev/sdb', completedAt: '2026-12-03T01:00:00Z', action: 'keep', reasons: ['last', 'daily'] },
      { id: 'b', source: '/dev/sdb', completedAt: '2026-12-02T01:00:00Z', action: 'remove', reasons: [] },
      { id: 'c', source: '/dev/sdb', completedAt: '2026-12-01T01:00:00Z', action: 'protected', reasons: ['protected'] },
    ],
  };
  const text = pruneText(report);
  assert.match(text, /\/dev\/sdb\s+a\s+2026-12-03 01:00:00 UTC\s+keep\s+last,daily/);
  assert.match(text, /\/dev\/sdb\s+b\s+\S+ \S+ UTC\s+would remove/);
  assert.match(text, /c\s+\S+ \S+ UTC\s+kept \(protected\)\s*$/m);
  assert.match(text, /^dry run: would remove 1 image\(s\), kept 1 and 1 protected; nothing was removed$/m);
  assert.deepEqual(retentionOf({ keepLast: 2, keepMonthly: 6 }), { keepLast: 2, monthly: 6 });
  assert.equal(retentionOf({}), null);
});
