import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobView } from '../../api/contract.js';
import { initialData } from '../data-state.js';
import { render } from 'ink-testing-library';
import { JobsScreen, jobRow } from './JobsScreen.js';

// Times show in the zone the console runs in: these tests run it in UTC.
process.env.TZ = 'UTC';

const base: JobView = { id: 'j1', type: 'backup', state: 'running', devicePath: '/dev/sdb', createdAt: '2026-11-25T21:00:00.000Z', updatedAt: '2026-11-25T21:00:00.000Z', requestedBy: 'alice' };

test('a running job shows live MB/s now/avg, the LZ4 ratio, new/reused and the ETA', () => {
  const live = { type: 'progress', operation: 'backup', imageId: 'x', bytesDone: 50 << 20, bytesTotal: 100 << 20, bytesNew: 30 << 20, bytesReused: 20 << 20, bytesZero: 0, storedBytes: 15 << 20, chunksDone: 1, chunksTotal: 2, rateBps: 200e6, avgBps: 150e6, ratio: 2, etaSeconds: 90, elapsedMs: 1000 } as const;
  const row = jobRow({ ...base, live }, initialData, 120, false);
  assert.match(row, /50%/);
  assert.match(row, /200\.0\/150\.0/);
  assert.match(row, /30\.0M\/20\.0M/);
  assert.match(row, /x2\.00/);
  assert.match(row, /1m30s|90/);
});

test('a finished job shows its final average, ratio and new/reused from its stats; a failed one its error', () => {
  const done = jobRow({ ...base, state: 'done', stats: { bytesRead: 100e6, bytesZero: 100e6, bytesNew: 80e6, bytesReused: 20e6, compressionRatio: 1.6, durationMs: 2000 } }, initialData, 120, false);
  assert.match(done, /done\s+\S+\s+100%/);
  assert.match(done, /-\/100\.0/, 'average 200 MB in 2 s');
  assert.match(done, /x1\.60/);
  const failed = jobRow({ ...base, state: 'failed', error: 'no space left on the store' }, initialData, 120, false);
  assert.match(failed, /no space left/);
});

test('the selected job shows the log lines the daemon kept (a restarted console), not "no log lines yet"', () => {
  const kept: JobView = { ...base, state: 'cancelled', log: [{ at: '2026-11-25T21:00:05.000Z', level: 'warning', message: 'partition 3 imaged raw' }] };
  const { lastFrame, unmount } = render(<JobsScreen data={initialData} rows={[kept]} selected={0} width={100} height={20} details />);
  assert.match(lastFrame() ?? '', /21:00:05 warning: partition 3 imaged raw/);
  assert.match(lastFrame() ?? '', /by alice {2}created 2026-11-25 21:00:00 UTC/, 'local time with its zone');
  assert.doesNotMatch(lastFrame() ?? '', /no log lines yet/);
  unmount();
});

test('at 80×24 every job row keeps the end of a path, the machine name, the state whole and the ETA', () => {
  const live = { type: 'progress', operation: 'backup', imageId: 'x', bytesDone: 50 << 20, bytesTotal: 100 << 20, bytesNew: 30 << 20, bytesReused: 20 << 20, bytesZero: 0, storedBytes: 15 << 20, chunksDone: 1, chunksTotal: 2, rateBps: 200e6, avgBps: 150e6, ratio: 2, etaSeconds: 90, elapsedMs: 1000 } as const;
  const data = { ...initialData, machines: [{ id: 'm1', name: 'reception-pc-07', macs: ['52:54:00:00:00:01'], createdAt: '', updatedAt: '' }] } as unknown as typeof initialData;
  const rows: JobView[] = [
    { ...base, id: 'j1', devicePath: '/srv/lifeboat/docked/customer-archive/disk-2026-11-25.img', live },
    { ...base, id: 'j2', devicePath: undefined, machineId: 'm1', diskSerial: 'WD-WCC4N7KXXXXXXXXXXXXX', state: 'interrupted', error: 'the daemon stopped' },
    { ...base, id: 'j3', state: 'waiting-for-boot', devicePath: undefined, machineId: 'm1' },
    { ...base, id: 'j4', state: 'cancelling', live },
  ];
  const { lastFrame, unmount } = render(<JobsScreen data={data} rows={rows} selected={0} width={80} height={20} details={false} />);
  const lines = (lastFrame() ?? '').split('\n');
  unmount();
  for (const l of lines) assert.ok(l.length <= 80, `"${l}" is ${l.length} wide`);
  const row = (id: string) => lines.find((l) => l.includes(id === 'j1' ? 'disk-2026-11-25.img' : id === 'j2' ? 'interrupted' : id === 'j3' ? 'waiting' : 'cancelling')) ?? '';
  assert.match(row('j1'), /…\S*disk-2026-11-25\.img +running /, 'the end of the path');
  assert.match(row('j1'), /1m30s$/, 'the ETA, last');
  assert.match(row('j2'), /reception-pc-07:WD-\S* +interrupted +/, 'the machine name first, the state whole');
  assert.match(row('j2'), /the daemon stopped/);
  assert.match(row('j3'), /reception-pc-07 +waiting /);
  assert.match(row('j4'), /\/dev\/sdb +cancelling .*1m30s$/);
  assert.match(lines.find((l) => /TYPE/.test(l)) ?? '', /^ {2}TYPE +TARGET +STATE +DONE +MB\/s now\/avg +ETA$/);
});
