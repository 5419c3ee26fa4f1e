import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LiveEvent } from '../api/contract.js';
import type { ProgressEvent } from '../imaging/progress.js';
import { HISTORY_INTERVAL_MS, HISTORY_LENGTH, ThroughputRecorder, currentRate, decodeHistory, lastHour } from './throughput-history.js';

const T0 = Date.parse('2026-12-03T12:00:00Z');
const progress = (rateBps: number): ProgressEvent => ({ type: 'progress', operation: 'backup', imageId: 'i', bytesDone: 1, bytesTotal: 2, bytesNew: 0, bytesReused: 0, bytesZero: 0, storedBytes: 0, chunksDone: 0, chunksTotal: 1, rateBps, avgBps: rateBps, ratio: 1, etaSeconds: 1, elapsedMs: 1 });

class FakeHub {
  subs = new Set<(e: LiveEvent) => void>();
  subscribe(s: (e: LiveEvent) => void) {
    this.subs.add(s);
    return () => this.subs.delete(s);
  }
  publish(e: LiveEvent) {
    for (const s of this.subs) s(e);
  }
}

test('the current rate sums the jobs that reported lately; a stale or broken rate counts nothing', () => {
  const latest = new Map([
    ['a', { bps: 100e6, at: T0 - 1000 }],
    ['b', { bps: 50e6, at: T0 - 2000 }],
    ['stale', { bps: 999e6, at: T0 - 60_000 }],
    ['nan', { bps: Number.NaN, at: T0 }],
    ['neg', { bps: -5, at: T0 }],
  ]);
  assert.equal(currentRate(latest, T0), 150e6);
  assert.equal(currentRate(new Map(), T0), 0);
});

test('the last hour: older samples go, at most 360 stay', () => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ at: new Date(T0 - i * 5000).toISOString(), bytesPerSecond: i })).reverse();
  const kept = lastHour(many, T0);
  assert.ok(kept.length <= HISTORY_LENGTH);
  assert.ok(kept.every((s) => Date.parse(s.at) > T0 - 3_600_000));
  assert.equal(kept.at(-1)?.bytesPerSecond, 0, 'the newest stays');
});

test('a saved history is hostile input: garbage gives nothing, good samples survive, bad ones are dropped, never a throw', () => {
  assert.deepEqual(decodeHistory('', T0), []);
  assert.deepEqual(decodeHistory('null', T0), []);
  assert.deepEqual(decodeHistory('{"samples": 5}', T0), []);
  const text = JSON.stringify({ samples: [{ at: '2026-12-03T11:59:50Z', bytesPerSecond: 5e6 }, { at: 'yesterday', bytesPerSecond: 1 }, { at: '2026-12-03T11:59:40Z', bytesPerSecond: -1 }, { at: '2026-12-03T11:59:30Z', bytesPerSecond: '7' }, null, 3, { at: '2026-12-03T09:00:00Z', bytesPerSecond: 1 }, { at: '2026-12-03T11:59:00Z', bytesPerSecond: 1e6 }] });
  assert.deepEqual(decodeHistory(text, T0), [{ at: '2026-12-03T11:59:00.000Z', bytesPerSecond: 1e6 }, { at: '2026-12-03T11:59:50.000Z', bytesPerSecond: 5e6 }]);
  // Fuzz: random bytes, and random mutations of a good file.
  for (let i = 0; i < 2000; i++) {
    const junk = i % 2 ? randomBytes(i % 300).toString('latin1') : text.slice(0, i % text.length) + randomBytes(4).toString('latin1') + text.slice((i % text.length) + 3);
    const got = decodeHistory(junk, T0);
    assert.ok(Array.isArray(got) && got.length <= HISTORY_LENGTH);
    for (const s of got) assert.ok(Number.isFinite(s.bytesPerSecond) && s.bytesPerSecond >= 0 && !Number.isNaN(Date.parse(s.at)));
  }
});

test('the recorder samples what the hub reports, saves it, and a new recorder (a restarted daemon) has the hour back', async () => {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-throughput-${process.pid}-`));
  try {
    const file = join(dir, 'throughput-history.json');
    let now = T0;
    const hub = new FakeHub();
    const r = new ThroughputRecorder(file, { now: () => now, intervalMs: 3_600_000 });
    await r.start(hub);
    hub.publish({ type: 'job-progress', jobId: 'j1', progress: progress(120e6) });
    hub.publish({ type: 'job-progress', jobId: 'j2', progress: progress(30e6) });
    now += HISTORY_INTERVAL_MS;
    r.sample();
    hub.publish({ type: 'job-state', jobId: 'j2', state: 'done' });
    hub.publish({ type: 'job-progress', jobId: 'j1', progress: progress(120e6) });
    now += HISTORY_INTERVAL_MS;
    r.sample();
    // j1 stopped reporting (a stalled job): 20 s later it counts nothing.
    now += 2 * HISTORY_INTERVAL_MS;
    r.sample();
    // A job of two seconds that ended before the sample still shows, at its peak.
    hub.publish({ type: 'job-progress', jobId: 'j3', progress: progress(90e6) });
    hub.publish({ type: 'job-progress', jobId: 'j3', progress: progress(70e6) });
    hub.publish({ type: 'job-state', jobId: 'j3', state: 'done' });
    now += HISTORY_INTERVAL_MS;
    r.sample();
    now += HISTORY_INTERVAL_MS;
    r.sample();
    assert.deepEqual(r.view().samples.map((s) => s.bytesPerSecond), [150e6, 120e6, 0, 90e6, 0]);
    await r.stop();
    assert.equal(hub.subs.size, 0, 'it left the hub');
    assert.match(readFileSync(file, 'utf8'), /150000000/);

    now += 60_000;
    const again = new ThroughputRecorder(file, { now: () => now, intervalMs: 3_600_000 });
    await again.start(new FakeHub());
    assert.deepEqual(again.view().samples.map((s) => s.bytesPerSecond), [150e6, 120e6, 0, 90e6, 0]);
    await again.stop();
    // Two hours later none of it is the last hour any more.
    now += 2 * 3_600_000;
    const later = new ThroughputRecorder(file, { now: () => now, intervalMs: 3_600_000 });
    await later.start(new FakeHub());
    assert.deepEqual(later.view().samples, []);
    await later.stop();
    // A damaged file: an empty history, and the daemon starts.
    writeFileSync(file, '{"samples":[{"at":');
    const damaged = new ThroughputRecorder(file, { now: () => now, intervalMs: 3_600_000 });
    await damaged.start(new FakeHub());
    assert.deepEqual(damaged.view().samples, []);
    await damaged.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
