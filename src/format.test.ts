import test from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatDuration, formatLocalTime, formatRate, mbps, shortBytes } from './format.js';

test('sizes: binary units, three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(2 * 1024 ** 3), '2.00 GiB');
  assert.equal(formatBytes(250 * 1024 ** 3), '250 GiB');
  assert.equal(shortBytes(1536), '1.50K');
  assert.equal(shortBytes(0), '0B');
  assert.equal(shortBytes(-5), '0B');
});

test('rates: decimal MB/s with one decimal', () => {
  assert.equal(mbps(123_456_789), '123.5');
  assert.equal(mbps(-1), '0.0');
  assert.equal(mbps(Number.NaN), '0.0');
  assert.equal(formatRate(1_500_000), '1.5 MB/s');
});

test('durations: s, m+s, h+m, d+h; unknown stays unknown', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(61), '1m01s');
  assert.equal(formatDuration(521), '8m41s');
  assert.equal(formatDuration(7322), '2h02m');
  assert.equal(formatDuration(90000), '1d01h');
  assert.equal(formatDuration(null), '--');
  assert.equal(formatDuration(Infinity, '-'), '-');
  assert.equal(formatDuration(-3), '--');
});

test('times: local time with the zone named, in the zone the process runs in', () => {
  const before = process.env.TZ;
  try {
    process.env.TZ = 'UTC';
    assert.equal(formatLocalTime('2026-12-03T14:04:05Z'), '2026-12-03 14:04 UTC');
    assert.equal(formatLocalTime('2026-12-03T14:04:05Z', { seconds: true }), '2026-12-03 14:04:05 UTC');
    process.env.TZ = 'America/New_York';
    assert.equal(formatLocalTime('2026-12-03T14:04:05Z'), '2026-12-03 09:04 EST');
    assert.equal(formatLocalTime('not a time'), '?');
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
});
