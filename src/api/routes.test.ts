// The operator API's handlers called directly (no socket): validation, errors as
// statuses and bodies, and the machine-job flow, over the daemon's real services (its
// wiring, api-services.ts) on the in-memory management store and a real image store in a
// temporary directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { operatorServices } from '../daemon/api-services.js';
import { EventHub } from '../daemon/event-hub.js';
import { JobRunner } from '../daemon/job-runner.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { type ManagementStore, openManagementStore } from '../db/index.js';
import type { ApiErrorBody, LiveEvent } from './contract.js';
import type { ApiRequest, ApiResponse } from './dispatch.js';
import { operatorApi } from './routes.js';

let dir: string;
let handle: (req: ApiRequest) => Promise<ApiResponse>;
let runner: JobRunner;
let db: ManagementStore;
const events: LiveEvent[] = [];
let timerSyncs = 0;

const call = (method: string, path: string, body?: unknown, actor = 'alice') => handle({ method, path, query: new URLSearchParams(), body, actor });
const call2 = (method: string, pathWithQuery: string) => {
  const [path, q] = pathWithQuery.split('?');
  return handle({ method, path: path as string, query: new URLSearchParams(q ?? ''), body: undefined, actor: 'alice' });
};
const error = (r: { body: unknown }) => (r.body as ApiErrorBody).error;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-routes-'));
  db = await openManagementStore(null);
  const images = await ImageStore.open(join(dir, 'store'), { create: true });
  const hub = new EventHub();
  hub.subscribe((e) => events.push(e));
  runner = new JobRunner(db, images, hub, () => {});
  const services = operatorServices({
    db,
    images,
    runner,
    hub,
    version: 'test',
    dataDir: dir,
    startedAt: Date.now(),
    appliance: async () => {
      throw new Error('not used here');
    },
    devices: async () => [],
    schedulesChanged: async () => {
      timerSyncs++;
      return [];
    },
  });
  handle = operatorApi(services);
});

after(async () => {
  await runner.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('unknown routes are 404, wrong methods 405, bad bodies 400 listing every problem', async () => {
  assert.equal((await call('GET', '/v2/machines')).status, 404);
  assert.equal((await call('GET', '/v1/nothing')).status, 404);
  assert.equal((await call('PUT', '/v1/machines')).status, 405);
  const bad = await call('POST', '/v1/machines', { name: '', macs: [], extra: 1 });
  assert.equal(bad.status, 400);
  assert.equal(error(bad).kind, 'usage');
  assert.ok((error(bad).issues ?? []).length >= 3, JSON.stringify(error(bad)));
  const badJob = await call('POST', '/v1/jobs', { type: 'restore', image: '../../etc/passwd', device: 'relative', confirm: false });
  assert.equal(badJob.status, 400);
  assert.match(error(badJob).message, /image: is not an image id/);
  assert.match(error(badJob).message, /device: must be an absolute path/);
  assert.match(error(badJob).message, /confirm/);
  const both = await call('POST', '/v1/jobs', { type: 'backup', device: '/dev/sdb', machine: 'pc' });
  assert.match(error(both).message, /either a device .* or a machine/);
  const diskOnly = await call('POST', '/v1/jobs', { type: 'backup', device: '/dev/sdb', disk: 'X' });
  assert.equal(diskOnly.status, 400);
});

test('machines: add (audited with the actor), conflict on a duplicate, 404 for an unknown name', async () => {
  const add = await call('POST', '/v1/machines', { name: 'pc-1', macs: ['52:54:00:00:00:01'] });
  assert.equal(add.status, 201);
  assert.equal((await call('POST', '/v1/machines', { name: 'pc-1', macs: ['52:54:00:00:00:02'] })).status, 409);
  assert.equal((await call('GET', '/v1/machines/ghost')).status, 404);
  const show = await call('GET', '/v1/machines/pc-1');
  assert.deepEqual((show.body as { disks: unknown[] }).disks, []);
  const audit = (await call('GET', '/v1/audit')).body as Array<{ actor: string; action: string }>;
  assert.ok(audit.some((e) => e.actor === 'alice' && e.action === 'machine.add'));
});

test('a machine job waits for its boot (event published), holds the machine, and is cancelled cleanly', async () => {
  const created = await call('POST', '/v1/jobs', { type: 'backup', machine: 'pc-1' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const job = created.body as { id: string; state: string; machineId: string };
  assert.equal(job.state, 'waiting-for-boot');
  assert.ok(events.some((e) => e.type === 'job-state' && e.jobId === job.id && e.state === 'waiting-for-boot'));
  assert.equal((await call('POST', '/v1/jobs', { type: 'backup', machine: 'pc-1' })).status, 409, 'one job per machine');
  const waiting = (await call2('GET', '/v1/jobs?state=waiting-for-boot')).body as Array<{ id: string }>;
  assert.deepEqual(waiting.map((j) => j.id), [job.id]);
  const cancelled = await call('POST', `/v1/jobs/${job.id}/cancel`);
  assert.equal((cancelled.body as { state: string }).state, 'cancelled');
  const again = await call('POST', `/v1/jobs/${job.id}/cancel`);
  assert.equal(again.status, 409, 'cancelling twice is a conflict');
  assert.match(error(again).message, /already ended \(cancelled\): nothing to cancel/);
  assert.equal((await call('POST', '/v1/jobs', { type: 'backup', machine: 'nobody-here' })).status, 404);
  assert.equal((await call('POST', '/v1/jobs', { type: 'restore', image: '20261125T180000Z-00000001', machine: 'pc-1', confirm: true })).status, 404, 'unknown image');
});

test('schedules: a bad calendar is refused before anything is stored; add and remove bring the timers in line', async () => {
  const bad = await call('POST', '/v1/schedules', { name: 'x', machines: ['pc-1'], calendar: 'every full moon' });
  assert.equal(bad.status, 400);
  assert.equal(timerSyncs, 0);
  const ok = await call('POST', '/v1/schedules', { name: 'nightly', machines: ['pc-1'], calendar: '*-*-* 02:00', retention: { keepLast: 3 } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.match((ok.body as { nextRun: string }).nextRun, /T02:00:00\.000Z$/);
  assert.equal(timerSyncs, 1);
  const two = await call('POST', '/v1/schedules', { name: 'y', machines: ['pc-1'], group: 'office', calendar: 'daily' });
  assert.match(error(two).message, /exactly one of them/);
  assert.equal((await call('DELETE', '/v1/schedules/nightly')).status, 200);
  assert.equal(timerSyncs, 2);
  assert.equal((await call('POST', '/v1/schedules/nightly/run', {})).status, 404);
});

test('a malformed path is refused before any handler runs: 400 naming the problem, nothing removed', async () => {
  assert.equal((await call('POST', '/v1/machines', { name: 'pc-keep', macs: ['52:54:00:00:00:42'] })).status, 201);
  for (const [method, path] of [
    ['DELETE', '/v1/machines/%'],
    ['DELETE', '/v1/machines/pc-keep%'],
    ['GET', '/v1/images/%E0%A4%A'],
    ['DELETE', '/v1/images/%E0%A4%A'],
  ] as const) {
    const r = await call(method, path);
    assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.match(error(r).message, /is not valid percent-encoding/);
  }
  assert.equal((await call('GET', '/v1/machines/pc-keep')).status, 200, 'the machine is still there');
  const audit = (await call('GET', '/v1/audit')).body as Array<{ action: string; subject: string }>;
  assert.ok(!audit.some((e) => e.action === 'machine.remove' && e.subject === 'pc-keep'));
});
