import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressMeter, emptyCounters } from './progress.js';

test('progress meter: rate over the window, average since start, ETA, throttling', () => {
  const meter = new ProgressMeter('backup', 'id', 0, 3000, 250);
  const c = emptyCounters(1000e6, 100);
  assert.ok(meter.sample(c, 0), 'first sample is emitted');
  c.bytesDone = 50e6;
  assert.equal(meter.sample(c, 100), null, 'throttled');
  c.bytesDone = 100e6;
  const e = meter.sample(c, 1000);
  assert.ok(e);
  assert.equal(e.avgBps, 100e6);
  assert.equal(e.rateBps, 100e6);
  assert.equal(e.etaSeconds, 9);
  // Speed drops: the window rate follows, the average lags.
  c.bytesDone = 110e6;
  meter.sample(c, 2000);
  c.bytesDone = 120e6;
  meter.sample(c, 3000);
  c.bytesDone = 130e6;
  const later = meter.sample(c, 6000);
  assert.ok(later);
  assert.ok(later.rateBps < later.avgBps);
  c.storedBytes = 10;
  c.bytesNew = 25;
  assert.equal(meter.sample(c, 9000, true)?.ratio, 2.5);
});

test('progress meter: done means ETA 0; no progress means unknown ETA', () => {
  const meter = new ProgressMeter('restore', 'id', 0);
  const c = emptyCounters(10, 1);
  assert.equal(meter.sample(c, 0)?.etaSeconds, null);
  c.bytesDone = 10;
  assert.equal(meter.sample(c, 1000, true)?.etaSeconds, 0);
});
