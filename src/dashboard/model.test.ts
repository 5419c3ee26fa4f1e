import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApplianceStatus, AuditEvent, JobView, LiveEvent } from '../api/contract.js';
import type { ProgressEvent } from '../imaging/progress.js';
import {
  type DashboardAction,
  type DashboardState,
  LOG_LENGTH,
  SERIES_LENGTH,
  STALE_PROGRESS_MS,
  fitTail,
  formatEta,
  initialState,
  jobColumnWidths,
  jobRows,
  logLines,
  niceCeil,
  reduce,
  reductionLines,
  statusLine,
  storeGauge,
  throughputView,
} from './model.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

function progress(over: Partial<ProgressEvent> = {}): ProgressEvent {
  return {
    type: 'progress',
    operation: 'backup',
    imageId: '20261125T100000Z-0000abcd',
    bytesDone: 50e6,
    bytesTotal: 200e6,
    bytesNew: 50e6,
    bytesReused: 0,
    bytesZero: 0,
    storedBytes: 40e6,
    chunksDone: 12,
    chunksTotal: 48,
    rateBps: 25e6,
    avgBps: 20e6,
    ratio: 1.25,
    etaSeconds: 6,
    elapsedMs: 2000,
    ...over,
  };
}

function job(id: string, state: JobView['state'], over: Partial<JobView> = {}): JobView {
  return { id, type: 'backup', state, devicePath: `/dev/${id}`, createdAt: '2026-11-25T09:59:00Z', updatedAt: '2026-11-25T09:59:00Z', requestedBy: 'ops', ...over };
}

function appliance(store: Partial<ApplianceStatus['store']> = {}): ApplianceStatus {
  return {
    version: '0.1.0',
    node: 'v20.20.2',
    hostname: 'lifeboat-1',
    uptimeSeconds: 3725,
    dataDir: '/var/lib/lifeboat',
    socket: '/run/lifeboat/api.sock',
    services: [],
    interfaces: [],
    dhcpMode: 'off',
    store: { path: '/var/lib/lifeboat/store', fsBytes: 1000e9, fsFreeBytes: 250e9, images: 3, chunks: 1200, storedBytes: 30e9, logicalBytes: 96e9, reduction: 3.2, ...store },
    jobs: { active: 0, running: 0 },
  };
}

const live = (event: LiveEvent, now = T0): DashboardAction => ({ type: 'live', event, now });
const run = (actions: DashboardAction[], from: DashboardState = initialState()) => actions.reduce(reduce, from);

test('the throughput chart sums the rates of running jobs, one sample per tick', () => {
  const cases: Array<{ name: string; actions: DashboardAction[]; samples: number[] }> = [
    { name: 'nothing running', actions: [{ type: 'tick', now: T0 }], samples: [0] },
    {
      name: 'two running jobs add up',
      actions: [
        live({ type: 'job-progress', jobId: 'a', progress: progress({ rateBps: 25e6 }) }),
        live({ type: 'job-progress', jobId: 'b', progress: progress({ rateBps: 10e6 }) }),
        { type: 'tick', now: T0 + 1000 },
      ],
      samples: [35e6],
    },
    {
      name: 'a job that ended stops counting',
      actions: [
        live({ type: 'job-progress', jobId: 'a', progress: progress({ rateBps: 25e6 }) }),
        live({ type: 'job-progress', jobId: 'b', progress: progress({ rateBps: 10e6 }) }),
        { type: 'tick', now: T0 + 1000 },
        live({ type: 'job-state', jobId: 'b', state: 'done' }, T0 + 1500),
        { type: 'tick', now: T0 + 2000 },
      ],
      samples: [35e6, 25e6],
    },
    {
      name: 'progress older than the stale limit counts zero',
      actions: [live({ type: 'job-progress', jobId: 'a', progress: progress({ rateBps: 25e6 }) }), { type: 'tick', now: T0 + STALE_PROGRESS_MS }, { type: 'tick', now: T0 + STALE_PROGRESS_MS + 1 }],
      samples: [25e6, 0],
    },
    {
      name: 'losing the daemon drops the progress we held',
      actions: [live({ type: 'job-progress', jobId: 'a', progress: progress({ rateBps: 25e6 }) }), { type: 'disconnected', message: 'gone' }, { type: 'tick', now: T0 + 1000 }],
      samples: [0],
    },
    {
      name: 'a queued job has no rate',
      actions: [{ type: 'jobs', jobs: [job('q', 'queued')], now: T0 }, { type: 'tick', now: T0 }],
      samples: [0],
    },
  ];
  for (const c of cases) assert.deepEqual(run(c.actions).throughput, c.samples, c.name);
});

test('the series keeps the last three minutes, padded with zeros, in MB/s with a chart top never 0', () => {
  let s = initialState();
  assert.equal(throughputView(s).maxY, 1, 'an empty chart still has a top');
  assert.equal(throughputView(s).y.length, SERIES_LENGTH);
  s = reduce(s, live({ type: 'job-progress', jobId: 'a', progress: progress({ rateBps: 42e6 }) }));
  for (let i = 0; i < SERIES_LENGTH + 10; i++) s = reduce(s, { type: 'tick', now: T0 + i * 10 }); // within the stale limit
  assert.equal(s.throughput.length, SERIES_LENGTH);
  const v = throughputView(s);
  assert.equal(v.now, 42);
  assert.equal(v.maxY, 100, '42 MB/s * 1.2 rounds up to 100');
  assert.equal(v.x[0], '-2:59');
  assert.equal(v.x[v.x.length - 1], '-0:00');
  const short = throughputView(reduce(initialState(), { type: 'tick', now: T0 }), 10);
  assert.deepEqual(short.y, Array(10).fill(0));
});

test('niceCeil picks 1, 2 or 5 times a power of ten', () => {
  const cases: Array<[number, number]> = [
    [0, 1],
    [0.3, 0.5],
    [1, 1],
    [1.01, 2],
    [3, 5],
    [7, 10],
    [120, 200],
    [501, 1000],
  ];
  for (const [v, want] of cases) assert.equal(niceCeil(v), want, `niceCeil(${v})`);
});

test('the jobs table shows active jobs with progress, rate and ETA, and drops ended ones', () => {
  let s = run([{ type: 'jobs', jobs: [job('aaaaaaaa1', 'running'), job('bbbbbbbb2', 'queued', { type: 'restore' }), job('cccccccc3', 'done')], now: T0 }]);
  assert.deepEqual(jobRows(s), [
    ['backup', '/dev/aaaaaaaa1', 'running', '-', '-', '-', 'aaaaaaaa'],
    ['restore', '/dev/bbbbbbbb2', 'queued', '-', '-', '-', 'bbbbbbbb'],
  ]);
  s = reduce(s, live({ type: 'job-progress', jobId: 'aaaaaaaa1', progress: progress({ bytesDone: 150e6, bytesTotal: 200e6, rateBps: 31.25e6, etaSeconds: 95 }) }));
  assert.deepEqual(jobRows(s)[0], ['backup', '/dev/aaaaaaaa1', 'running', '75%', '31.3', '1m35s', 'aaaaaaaa']);
  // A fresh snapshot without live progress keeps what the stream told us.
  s = reduce(s, { type: 'jobs', jobs: [job('aaaaaaaa1', 'running'), job('bbbbbbbb2', 'running', { type: 'restore' })], now: T0 + 500 });
  assert.equal(jobRows(s)[0]?.[3], '75%');
  assert.equal(jobRows(s)[1]?.[2], 'running');
  s = reduce(s, live({ type: 'job-state', jobId: 'aaaaaaaa1', state: 'done' }));
  assert.deepEqual(
    jobRows(s).map((r) => r[6]),
    ['bbbbbbbb'],
  );
});

test('a long target keeps its end', () => {
  const path = `/srv/${'very-long-directory/'.repeat(4)}disk.img`;
  const s = run([{ type: 'jobs', jobs: [job('a', 'running', { devicePath: path })], now: T0 }]);
  const shown = jobRows(s, 44)[0]?.[1] ?? '';
  assert.equal(shown.length, 44);
  assert.ok(shown.startsWith('...') && shown.endsWith('directory/disk.img'), shown);
  assert.equal(fitTail('short', 44), 'short');
});

test('the jobs table columns fit the terminal: the target takes what is left, within limits', () => {
  const cases: Array<[number, number]> = [
    [76, 22], // an 80-column terminal
    [116, 60], // 120 columns: capped
    [40, 12], // too narrow: the target keeps a readable minimum
  ];
  for (const [width, target] of cases) {
    const w = jobColumnWidths(width);
    assert.equal(w.length, 7);
    assert.equal(w[1], target, `width ${width}`);
    if (target > 12 && target < 60) assert.equal(w.reduce((a, b) => a + b, 0) + 7, width, 'the columns fill the table exactly');
  }
});

test('progress of a job not in the last snapshot still shows, with what we know of it', () => {
  let s = run([{ type: 'jobs', jobs: [job('x1', 'done', { devicePath: '/srv/disk.img' })], now: T0 }]);
  s = reduce(s, live({ type: 'job-progress', jobId: 'x1', progress: progress() }));
  assert.deepEqual(jobRows(s)[0]?.slice(0, 4), ['backup', '/srv/disk.img', 'running', '25%']);
  const unknown = reduce(initialState(), live({ type: 'job-progress', jobId: 'y2', progress: progress({ operation: 'verify' }) }));
  assert.deepEqual(jobRows(unknown)[0]?.slice(0, 3), ['verify', '?', 'running']);
});

test('the events log merges audit events (once each) with live state changes and warnings, in time order', () => {
  const audit = (seq: number, at: string, action: string, subject: string): AuditEvent => ({ id: `e${seq}`, seq, at, actor: 'ops', action, subject, details: {} });
  let s = run([{ type: 'jobs', jobs: [job('job12345xyz', 'running', { devicePath: '/srv/a.img' })], now: T0 }]);
  // Newest first, as the daemon sends them.
  s = reduce(s, { type: 'audit', events: [audit(2, '2026-11-25T09:59:00.000Z', 'job.backup', 'job12345xyz'), audit(1, '2026-11-25T09:58:00.000Z', 'machine.add', 'pc-01')] });
  s = reduce(s, live({ type: 'log', jobId: 'job12345xyz', level: 'warning', message: 'sector 7 unreadable', at: '2026-11-25T10:00:00.000Z' }));
  s = reduce(s, live({ type: 'job-state', jobId: 'job12345xyz', state: 'done' }, T0 + 1000));
  s = reduce(s, { type: 'audit', events: [audit(2, '2026-11-25T09:59:00.000Z', 'job.backup', 'job12345xyz'), audit(1, '2026-11-25T09:58:00.000Z', 'machine.add', 'pc-01')] });
  const text = logLines(s).map((l) => l.slice(9));
  assert.deepEqual(text, ['ops: machine.add pc-01', 'ops: job.backup job12345xyz', 'WARNING backup job12345 /srv/a.img: sector 7 unreadable', 'backup job12345 /srv/a.img: done']);
  assert.ok(logLines(s).every((l) => /^\d\d:\d\d:\d\d /.test(l)));
  // A job the dashboard learns of only after its state line is named once it knows it.
  let later = reduce(s, live({ type: 'job-state', jobId: 'zz', state: 'failed', error: 'disk vanished' }, T0 + 2000));
  assert.match(logLines(later).at(-1) ?? '', / ERROR job zz: failed: disk vanished$/);
  later = reduce(later, { type: 'jobs', jobs: [job('zz', 'failed', { type: 'verify', devicePath: undefined, imageId: '20261125T100000Z-0000abcd' })], now: T0 + 2100 });
  assert.match(logLines(later).at(-1) ?? '', / ERROR verify zz 20261125T100000Z-0000abcd: failed: disk vanished$/);
});

test('the events log keeps only the newest lines', () => {
  let s = initialState();
  for (let i = 0; i < LOG_LENGTH + 5; i++) s = reduce(s, live({ type: 'log', level: 'info', message: `m${i}`, at: new Date(T0 + i * 1000).toISOString() }));
  assert.equal(s.log.length, LOG_LENGTH);
  assert.equal(s.log[0]?.text, 'm5');
  assert.equal(s.log.at(-1)?.text, `m${LOG_LENGTH + 4}`);
});

test('the store gauge and the reduction box come from the appliance status', () => {
  assert.deepEqual(storeGauge(initialState()), { percent: 0, label: 'no data', short: 'no data' });
  assert.deepEqual(reductionLines(initialState()), ['no data yet']);
  const cases: Array<{ store: Partial<ApplianceStatus['store']>; percent: number; label: string; short: string; first: string }> = [
    // The store's own usage: 27.9 GiB of chunks with 233 GiB free for more (the host filesystem's 75% full is not the store's).
    { store: {}, percent: 11, label: '27.9 GiB stored, 233 GiB free', short: '27.9 GiB stored', first: 'reduction  3.20 : 1' },
    { store: { fsBytes: 100, fsFreeBytes: 100, reduction: 0, logicalBytes: 0, storedBytes: 0 }, percent: 0, label: '0 B stored, 100 B free', short: '0 B stored', first: 'reduction  -' },
    { store: { fsBytes: 100, fsFreeBytes: 0, reduction: 12.4, storedBytes: 60 }, percent: 100, label: '60 B stored, 0 B free', short: '60 B stored', first: 'reduction  12 : 1' },
  ];
  for (const c of cases) {
    const s = reduce(initialState(), { type: 'appliance', status: appliance(c.store) });
    assert.deepEqual(storeGauge(s), { percent: c.percent, label: c.label, short: c.short });
    assert.equal(reductionLines(s)[0], c.first);
  }
  const s = reduce(initialState(), { type: 'appliance', status: appliance() });
  assert.deepEqual(reductionLines(s).slice(1), ['logical    89.4 GiB', 'stored     27.9 GiB', 'images     3   chunks 1200']);
});

test('the status line says whether we are live, reconnecting, and what the appliance route answered', () => {
  let s = initialState();
  assert.match(statusLine(s), /^connecting\.\.\./);
  s = reduce(s, { type: 'connected' });
  s = reduce(s, { type: 'appliance-error', message: 'not available (the daemon answered 404)' });
  assert.match(statusLine(s), /^live {2}\|/);
  assert.match(statusLine(s), /appliance status: not available \(the daemon answered 404\)/);
  s = reduce(s, { type: 'appliance', status: appliance() });
  assert.doesNotMatch(statusLine(s), /appliance status/);
  assert.match(statusLine(s), /lifeboat-1 {2}lifeboat 0\.1\.0 {2}up 1h02m/);
  s = reduce(s, { type: 'disconnected', message: 'the daemon closed the event stream' });
  assert.match(statusLine(s), /^reconnecting\.\.\. \(the daemon closed the event stream\)/);
  s = reduce(s, { type: 'connected' });
  assert.match(statusLine(s), /^live/);
});

test('formatting of durations', () => {
  assert.equal(formatEta(null), '-');
  assert.equal(formatEta(Infinity), '-');
  assert.equal(formatEta(59.4), '59s');
  assert.equal(formatEta(61), '1m01s');
  assert.equal(formatEta(7322), '2h02m');
  assert.equal(formatEta(90000), '1d01h');
});

test('log lines, job targets and the status line show escape sequences and bidi overrides escaped', () => {
  let s = initialState();
  s = reduce(s, live({ type: 'log', level: 'warning', message: 'lab\u001b[2J\u001b]0;PWN\u0007gel \u202eexe', at: '2026-11-25T10:00:00.000Z' }));
  const line = logLines(s).at(-1) ?? '';
  assert.ok(line.endsWith('lab\\x1b[2J\\x1b]0;PWN\\x07gel \\u{202e}exe'), line);
  assert.equal(fitTail('/dev/\u001bc', 20), '/dev/\\x1bc');
  s = reduce(s, { type: 'disconnected', message: 'gone\u0007' });
  assert.ok(!statusLine(s).includes(String.fromCharCode(7)));
});
