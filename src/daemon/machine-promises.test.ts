import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { operatorApi } from '../api/routes.js';
import type { Machine } from '../api/wire.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { openManagementStore } from '../db/index.js';
import { operatorServices } from './api-services.js';
import { EventHub } from './event-hub.js';
import { JobRunner } from './job-runner.js';

test('GET /v1/machines says per machine what its schedules promise: overdue when the last good backup is older than the last firing', async () => {
  const dir = mkdtempSync(join(tmpdir(), `lifeboat-promises-${process.pid}-`));
  let clock = Date.now() - 3 * 86_400_000; // set up three days ago
  const db = await openManagementStore(null, { now: () => new Date(clock) });
  try {
    const images = await ImageStore.open(join(dir, 'store'), { create: true });
    const hub = new EventHub();
    const runner = new JobRunner(db, images, hub, () => {});
    for (const [i, name] of ['pc-1', 'pc-2', 'pc-3'].entries()) await db.machines.add({ name, macs: [`52:54:00:00:00:0${i + 1}`] });
    await db.schedules.add({ name: 'hourly', target: { machines: ['pc-1', 'pc-2'] }, calendar: 'hourly' });
    const job = await db.jobs.create({ type: 'backup', machineId: (await db.machines.getByName('pc-1')).id, requestedBy: 'timer' });
    clock = Date.now() - 5 * 60_000; // pc-1 backed up five minutes ago
    await db.jobs.transition(job.id, 'start');
    await db.jobs.transition(job.id, 'succeed', { stats: {} });
    clock = Date.now();
    const handle = operatorApi(
      operatorServices({ db, images, runner, hub, version: 'test', dataDir: dir, startedAt: Date.now(), appliance: async () => Promise.reject(new Error('unused')), devices: async () => [], schedulesChanged: async () => [] }),
    );
    const list = (await handle({ method: 'GET', path: '/v1/machines', query: new URLSearchParams(), body: undefined, actor: 'alice' })).body as Machine[];
    const by = new Map(list.map((m) => [m.name, m.backupPromise]));
    assert.equal(by.get('pc-1')?.overdue, false);
    assert.equal(by.get('pc-1')?.schedule, 'hourly');
    assert.equal(by.get('pc-2')?.overdue, true, 'never backed up, and the schedule fired hours ago');
    assert.equal(by.get('pc-2')?.lastGood, null);
    assert.equal(by.get('pc-3'), undefined, 'no schedule backs it up: no promise');
    const one = (await handle({ method: 'GET', path: '/v1/machines/pc-2', query: new URLSearchParams(), body: undefined, actor: 'alice' })).body as Machine;
    assert.equal(one.backupPromise?.overdue, true);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
