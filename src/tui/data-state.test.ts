import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobView, LiveEvent } from '../api/contract.js';
import type { ProgressEvent } from '../imaging/progress.js';
import { RATE_HISTORY, dataReducer, initialData, needsRefresh } from './data-state.js';

const job = (id: string, state: JobView['state'] = 'queued'): JobView => ({ id, type: 'backup', state, createdAt: '2026-11-25T10:00:00Z', updatedAt: '2026-11-25T10:00:00Z', requestedBy: 'op', devicePath: '/dev/sdb' });
const progress = (rateBps: number, bytesDone = 10): ProgressEvent => ({ type: 'progress', operation: 'backup', imageId: 'i', bytesDone, bytesTotal: 100, bytesNew: 5, bytesReused: 5, bytesZero: 0, storedBytes: 3, chunksDone: 1, chunksTotal: 10, rateBps, avgBps: rateBps, ratio: 1.7, etaSeconds: 9, elapsedMs: 1000 });
const ev = (event: LiveEvent) => ({ type: 'event' as const, event, at: '2026-11-25T10:00:05.000Z' });

describe('dataReducer', () => {
  const loaded = dataReducer(initialData, { type: 'loaded', at: 1, names: ['jobs', 'appliance'], lists: { jobs: [job('a'), job('b', 'done')] }, errors: { appliance: 'the daemon answered 404' } });

  it('progress makes a queued job running, keeps live figures and a capped rate history', () => {
    let s = loaded;
    for (let i = 0; i < RATE_HISTORY + 5; i++) s = dataReducer(s, ev({ type: 'job-progress', jobId: 'a', progress: progress(i) }));
    const a = s.jobs.find((j) => j.id === 'a');
    assert.equal(a?.state, 'running');
    assert.equal(a?.live?.rateBps, RATE_HISTORY + 4);
    assert.equal(s.rates.a?.length, RATE_HISTORY);
    assert.equal(s.rates.a?.[0], 5);
    assert.equal(s.errors.appliance, 'the daemon answered 404');
  });

  it('state changes and log events land in the job log; jobless logs in the system log', () => {
    let s = dataReducer(loaded, ev({ type: 'job-state', jobId: 'a', state: 'failed', error: 'disk vanished' }));
    s = dataReducer(s, ev({ type: 'log', jobId: 'a', level: 'warning', message: 'slow disk', at: 'x' }));
    s = dataReducer(s, ev({ type: 'log', level: 'info', message: 'daemon up', at: 'y' }));
    assert.equal(s.jobs.find((j) => j.id === 'a')?.state, 'failed');
    assert.deepEqual(s.logs.a?.map((l) => l.message), ['now failed: disk vanished', 'slow disk']);
    assert.equal(s.logs.a?.[0]?.level, 'error');
    assert.deepEqual(s.systemLog.map((l) => l.message), ['daemon up']);
  });

  it('a re-fetched job list keeps the live figures of running jobs the stream reported', () => {
    const s = dataReducer(loaded, ev({ type: 'job-progress', jobId: 'a', progress: progress(7) }));
    const again = dataReducer(s, { type: 'loaded', at: 2, names: ['jobs'], lists: { jobs: [job('a', 'running')] }, errors: {} });
    assert.equal(again.jobs[0]?.live?.rateBps, 7);
    assert.deepEqual(again.errors, { appliance: 'the daemon answered 404' }, 'a load of other lists keeps the appliance error');
    const fixed = dataReducer(again, { type: 'loaded', at: 3, names: ['appliance'], lists: {}, errors: {} });
    assert.deepEqual(fixed.errors, {});
  });

  it('asks for a refresh on state changes and on progress of a job it does not know', () => {
    assert.equal(needsRefresh({ type: 'job-state', jobId: 'a', state: 'done' }, loaded), true);
    assert.equal(needsRefresh({ type: 'job-progress', jobId: 'a', progress: progress(1) }, loaded), false);
    assert.equal(needsRefresh({ type: 'job-progress', jobId: 'zz', progress: progress(1) }, loaded), true);
  });
});
