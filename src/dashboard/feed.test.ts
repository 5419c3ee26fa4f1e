import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DaemonUnreachable } from '../api/client.js';
import type { ApplianceStatus, LiveEvent } from '../api/contract.js';
import { notFoundError } from '../errors.js';
import { type DashboardApi, runFeed } from './feed.js';
import type { DashboardAction } from './model.js';

/** A daemon in memory that can go away and come back; `streams` counts event-stream connections. */
function fakeDaemon(opts: { appliance?: () => Promise<ApplianceStatus> } = {}) {
  let up = true;
  let emit: ((e: LiveEvent) => void) | null = null;
  let hang: (() => void) | null = null;
  const down = () => Promise.reject(new DaemonUnreachable('the lifeboat daemon is not reachable', 'down'));
  const f = {
    streams: 0,
    set up(v: boolean) {
      up = v;
      if (!v) emit = null; // like the real client: a stream to a daemon that exited just goes quiet
    },
    emit: (e: LiveEvent) => emit?.(e),
    api: {
      health: () => (up ? Promise.resolve({ ok: true }) : down()),
      jobs: () => (up ? Promise.resolve([]) : down()),
      audit: () => (up ? Promise.resolve([]) : down()),
      throughput: () => (up ? Promise.resolve({ intervalSeconds: 10, samples: [{ at: '2026-12-03T12:00:00.000Z', bytesPerSecond: 5e6 }] }) : down()),
      machines: () => (up ? Promise.resolve([{ id: 'm1', name: 'pc-late', macs: [], createdAt: '', updatedAt: '', backupPromise: { schedule: 'nightly', dueAt: '2026-12-02T22:00:00.000Z', lastGood: null, overdue: true } }]) : down()),
      appliance: opts.appliance ?? (() => (up ? Promise.reject(notFoundError('no route GET /v1/appliance')) : down())),
      events: (onEvent: (e: LiveEvent) => void, signal?: AbortSignal) => {
        if (!up) return down();
        f.streams++;
        emit = onEvent;
        return new Promise<void>((resolve) => {
          hang = resolve;
          signal?.addEventListener('abort', () => resolve(), { once: true });
        });
      },
    } as unknown as DashboardApi,
    hangUp: () => hang?.(),
  };
  return f;
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('the feed connects, reports a missing appliance route, notices the daemon going and coming back, and stops on abort', async () => {
  const daemon = fakeDaemon();
  const actions: DashboardAction[] = [];
  const abort = new AbortController();
  const done = runFeed(daemon.api, (a) => actions.push(a), abort.signal, { tickMs: 10, retryMs: 10, probeMs: 15, applianceEveryMs: 1000 });
  const kinds = () => actions.map((a) => a.type);
  await until('connected', () => kinds().includes('connected'));
  await until('the appliance error', () => kinds().includes('appliance-error'));
  const err = actions.find((a) => a.type === 'appliance-error');
  assert.match(err?.type === 'appliance-error' ? err.message : '', /no route GET \/v1\/appliance \(404\)/);
  assert.deepEqual(kinds().slice(kinds().indexOf('jobs'), kinds().indexOf('connected') + 1), ['jobs', 'audit', 'connected'], 'the snapshot comes before "connected"');

  daemon.emit({ type: 'job-state', jobId: 'j1', state: 'running' });
  await until('the live event and a fresh jobs list', () => actions.some((a) => a.type === 'live') && kinds().lastIndexOf('jobs') > kinds().indexOf('live'));

  daemon.up = false;
  await until('disconnected (found by the probe)', () => kinds().includes('disconnected'));
  const ticks = kinds().filter((k) => k === 'tick').length;
  await until('ticks go on while disconnected', () => kinds().filter((k) => k === 'tick').length > ticks + 2);
  daemon.up = true;
  await until('connected again', () => kinds().lastIndexOf('connected') > kinds().indexOf('disconnected'));
  assert.equal(daemon.streams, 2);

  daemon.hangUp(); // the stream ends without the daemon going away: reconnect at once
  await until('a third stream', () => daemon.streams === 3);

  abort.abort();
  await done;
  const after = actions.length;
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(actions.length, after, 'nothing is dispatched after the feed stopped');
});

test('the feed passes the appliance status on when the route answers', async () => {
  const status = { hostname: 'box' } as ApplianceStatus;
  const daemon = fakeDaemon({ appliance: () => Promise.resolve(status) });
  const actions: DashboardAction[] = [];
  const abort = new AbortController();
  const done = runFeed(daemon.api, (a) => actions.push(a), abort.signal, { tickMs: 1000, probeMs: 1000 });
  await until('the appliance status', () => actions.some((a) => a.type === 'appliance' && a.status === status));
  abort.abort();
  await done;
});

test('the feed reads the hour of throughput and the machines on connecting and again every few seconds', async () => {
  const daemon = fakeDaemon();
  const actions: DashboardAction[] = [];
  const abort = new AbortController();
  const done = runFeed(daemon.api, (a) => actions.push(a), abort.signal, { tickMs: 1000, probeMs: 1000, historyEveryMs: 20 });
  await until('the history', () => actions.some((a) => a.type === 'history' && a.history.samples[0]?.bytesPerSecond === 5e6));
  await until('the machines', () => actions.some((a) => a.type === 'machines' && a.machines[0]?.name === 'pc-late'));
  await until('read again', () => actions.filter((a) => a.type === 'history').length >= 3);
  abort.abort();
  await done;
});
