// Schedules with a destination (`schedule add|edit --to`), through the operator API's handlers
// over the daemon's real services (api-services.ts, the job runner, the real share check of
// shares.ts) on an in-memory management store: garbage bodies refused with nothing stored, a
// share checked at save and again at each run, a run's machine jobs carrying the
// destination, `appliance` clearing it; the schedule's prune leaving images kept elsewhere
// alone; a stored record that does not read back left out, reported, and removable.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ApiErrorBody, Job, ScheduleRunResult, ScheduleView } from '../api/contract.js';
import type { ApiRequest, ApiResponse } from '../api/dispatch.js';
import { parseDestination } from '../api/destination.js';
import { operatorApi } from '../api/routes.js';
import { backupImage } from '../imaging/backup.js';
import { ImageStore } from '../imaging/repo/image-store.js';
import { type ManagementStore, imageFactsFromManifest, openManagementStore } from '../db/index.js';
import { operatorServices } from './api-services.js';
import { EventHub } from './event-hub.js';
import { JobRunner } from './job-runner.js';
import { pruneSchedule } from './schedule-actions.js';
import { type ShareConfig, resolveShare } from './shares.js';

let dir: string;
let db: ManagementStore;
let images: ImageStore;
let runner: JobRunner;
let handle: (req: ApiRequest) => Promise<ApiResponse>;
const config: { shares: Record<string, ShareConfig> } = { shares: {} };

const call = (method: string, path: string, body?: unknown) => handle({ method, path, query: new URLSearchParams(), body, actor: 'alice' });
const message = (r: ApiResponse) => (r.body as ApiErrorBody).error.message;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-sched-dest-'));
  writeFileSync(join(dir, 'nas.password'), 'secret\n', { mode: 0o600 });
  config.shares.nas = { type: 'smb', unc: '//192.0.2.10/backups', username: 'backup', passwordFile: join(dir, 'nas.password') };
  db = await openManagementStore(null);
  images = await ImageStore.open(join(dir, 'store'), { create: true, chunkSize: 65536 });
  runner = new JobRunner(db, images, new EventHub(), () => {});
  runner.shareCheck = (name) => void resolveShare(config, name);
  const services = operatorServices({ db, images, runner, hub: new EventHub(), version: 'test', dataDir: dir, startedAt: Date.now(), appliance: () => Promise.reject(new Error('not used')), devices: async () => [], schedulesChanged: async () => [] });
  handle = operatorApi(services);
  for (const [name, mac] of [['pc-1', '52:54:00:00:10:01'], ['pc-2', '52:54:00:00:10:02']]) assert.equal((await call('POST', '/v1/machines', { name, macs: [mac] })).status, 201);
});

after(async () => {
  await runner.stop();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('garbage destinations in a schedule body are refused (400, naming the problem) and nothing is stored', async () => {
  const garbage: unknown[] = [42, null, true, [], ['share:nas'], { kind: 'share', name: 'nas' }, '', 'usb', 'disk:', 'disk:LABEL=', 'disk:LABEL=has space', 'disk:LABEL=seventeen-chars-xx', 'disk:UUID=not-a-uuid', 'disk:PARTUUID=1234', 'share:', 'share:../etc', 'share:-x', `share:${'a'.repeat(64)}`, 'x'.repeat(100_000), 'disk:LABEL=a\u0000b', 'share:nas\n', 'APPLIANCE'];
  for (const destination of garbage) {
    const r = await call('POST', '/v1/schedules', { name: 'g', machines: ['pc-1'], calendar: 'daily', destination });
    assert.equal(r.status, 400, `${JSON.stringify(destination)?.slice(0, 60)}: ${JSON.stringify(r.body).slice(0, 200)}`);
    assert.match(message(r), /destination/);
    const p = await call('PATCH', '/v1/schedules/g', { destination });
    assert.equal(p.status, 400, `patch ${JSON.stringify(destination)?.slice(0, 60)}`);
  }
  // Bodies that are not objects at all, and a destination beside a docked disk or a passphrase file.
  for (const body of [null, 'share:nas', [{ destination: 'share:nas' }], 7]) assert.equal((await call('POST', '/v1/schedules', body)).status, 400, JSON.stringify(body));
  const docked = await call('POST', '/v1/schedules', { name: 'g', devices: ['/dev/sdb'], calendar: 'daily', destination: 'disk:LABEL=LBUSB' });
  assert.equal(docked.status, 400);
  assert.match(message(docked), /disks docked in the appliance are backed up into the appliance/);
  const locked = await call('POST', '/v1/schedules', { name: 'g', machines: ['pc-1'], calendar: 'daily', destination: 'share:nas', passphraseFile: '/etc/lifeboat/pass' });
  assert.match(message(locked), /passphrase file protects images in the appliance's store/);
  assert.deepEqual((await call('GET', '/v1/schedules')).body, [], 'nothing was stored');
});

test('fuzz: random destination texts to add and edit get 201/200 with the parsed form, or 400; never a server error', async () => {
  let seed = 20261203;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const pieces = ['disk:', 'share:', 'LABEL=', 'UUID=', 'label=', 'nas', 'LBUSB', '1A2B-3C4D', '=', ':', '/', '..', ' ', '\u0000', '\u202e', 'é', 'appliance', '0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d'];
  assert.equal((await call('POST', '/v1/schedules', { name: 'fz', machines: ['pc-1'], calendar: 'daily' })).status, 201);
  for (let i = 0; i < 300; i++) {
    const text = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pieces[Math.floor(rnd() * pieces.length)]).join('');
    const expected = (() => {
      try {
        return { ok: true, parsed: parseDestination(text) };
      } catch {
        return { ok: false, parsed: null };
      }
    })();
    const added = await call('POST', '/v1/schedules', { name: 'fz-add', machines: ['pc-1'], calendar: 'daily', destination: text });
    const edited = await call('PATCH', '/v1/schedules/fz', { destination: text });
    const shareOk = !(expected.parsed?.kind === 'share' && expected.parsed.name !== 'nas');
    for (const [r, good] of [[added, 201], [edited, 200]] as const) {
      assert.ok(r.status === 400 || r.status === good, `${JSON.stringify(text)}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(r.status === good, expected.ok && shareOk, `${JSON.stringify(text)}: ${JSON.stringify(r.body).slice(0, 200)}`);
      if (r.status === good) assert.deepEqual((r.body as ScheduleView).destination, expected.parsed ?? undefined);
    }
    if (added.status === 201) assert.equal((await call('DELETE', '/v1/schedules/fz-add')).status, 200);
  }
  assert.equal((await call('DELETE', '/v1/schedules/fz')).status, 200);
});

test('a share is checked against the config when the schedule is saved: an unknown one is refused, nothing stored', async () => {
  const unknown = await call('POST', '/v1/schedules', { name: 'to-nas', machines: ['pc-1'], calendar: 'daily', destination: 'share:tape' });
  assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
  assert.match(message(unknown), /no share named "tape": the config names nas/);
  assert.equal((await call('GET', '/v1/schedules/to-nas')).status, 404);
  const ok = await call('POST', '/v1/schedules', { name: 'to-nas', machines: ['pc-1'], calendar: 'daily', destination: 'share:nas' });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.deepEqual((ok.body as ScheduleView).destination, { kind: 'share', name: 'nas' });
  assert.equal((await call('PATCH', '/v1/schedules/to-nas', { destination: 'share:tape' })).status, 400, 'an edit is checked the same way');
  assert.deepEqual(((await call('GET', '/v1/schedules/to-nas')).body as ScheduleView).destination, { kind: 'share', name: 'nas' }, 'the refused edit changed nothing');
  assert.equal((await call('DELETE', '/v1/schedules/to-nas')).status, 200);
});

test('edit sets, changes and clears (`appliance`) the destination; a docked target or a passphrase file beside one is refused', async () => {
  assert.equal((await call('POST', '/v1/schedules', { name: 'usb', machines: ['pc-1'], calendar: 'daily' })).status, 201);
  let s = (await call('PATCH', '/v1/schedules/usb', { destination: 'disk:UUID=0B5A9C1E-7E8F-4B6A-9D3C-2F1E0A9B8C7D' })).body as ScheduleView;
  assert.deepEqual(s.destination, { kind: 'client-disk', uuid: '0b5a9c1e-7e8f-4b6a-9d3c-2f1e0a9b8c7d' });
  s = (await call('PATCH', '/v1/schedules/usb', { destination: 'disk:LABEL=LBUSB' })).body as ScheduleView;
  assert.deepEqual(s.destination, { kind: 'client-disk', label: 'LBUSB' });
  const toDocked = await call('PATCH', '/v1/schedules/usb', { devices: ['/dev/sdb'] });
  assert.equal(toDocked.status, 400, JSON.stringify(toDocked.body));
  assert.match(message(toDocked), /backs up disks docked in the appliance.*a destination \(--to\) is for machines' backups/);
  writeFileSync(join(dir, 'pass'), 'pass phrase\n', { mode: 0o600 });
  const locked = await call('PATCH', '/v1/schedules/usb', { passphraseFile: join(dir, 'pass') });
  assert.equal(locked.status, 400);
  assert.match(message(locked), /passphrase file protects images in the appliance's store/);
  assert.deepEqual(((await call('GET', '/v1/schedules/usb')).body as ScheduleView).target, { machines: ['pc-1'] }, 'refused edits changed nothing');
  s = (await call('PATCH', '/v1/schedules/usb', { destination: 'appliance' })).body as ScheduleView;
  assert.equal(s.destination, undefined, 'appliance clears it');
  assert.equal((await call('PATCH', '/v1/schedules/usb', { devices: ['/dev/sdb'] })).status, 200, 'without a destination a docked target is fine');
  assert.equal((await call('DELETE', '/v1/schedules/usb')).status, 200);
});

test("a run's machine jobs carry the destination; a share gone from the config fails that run naming the schedule, and nothing else", async () => {
  assert.equal((await call('POST', '/v1/schedules', { name: 'nightly-nas', machines: ['pc-1'], calendar: 'daily', destination: 'share:nas' })).status, 201);
  assert.equal((await call('POST', '/v1/schedules', { name: 'nightly-usb', machines: ['pc-2'], calendar: 'daily', destination: 'disk:LABEL=LBUSB' })).status, 201);
  const run = await call('POST', '/v1/schedules/nightly-usb/run', { bootTimeoutSeconds: 3600 });
  assert.equal(run.status, 201, JSON.stringify(run.body));
  const job = (run.body as ScheduleRunResult).jobs[0] as Job;
  assert.equal(job.state, 'waiting-for-boot');
  assert.deepEqual(job.options?.destination, { kind: 'client-disk', label: 'LBUSB' });
  assert.deepEqual((await db.jobs.get(job.id)).options?.destination, { kind: 'client-disk', label: 'LBUSB' }, 'the job record keeps it');
  assert.equal((await call('POST', `/v1/jobs/${job.id}/cancel`)).status, 200);

  const saved = config.shares.nas as ShareConfig;
  delete config.shares.nas; // the operator took the share out of the config
  try {
    const before = (await db.jobs.list({})).length;
    const refused = await call('POST', '/v1/schedules/nightly-nas/run', {});
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(message(refused), /^schedule nightly-nas sends its backups to share:nas, which this appliance cannot use now: no share named "nas".*lifeboat schedule edit nightly-nas --to/);
    assert.equal((await db.jobs.list({})).length, before, 'no job was created');
    assert.ok((await db.events.list({ subject: 'nightly-nas' })).some((e) => e.action === 'schedule.run' && /no share named/.test(String(e.details?.refused))), 'the refusal is audited');
    // The other schedule and the schedule list go on.
    assert.equal((await call('GET', '/v1/schedules')).status, 200);
    const other = await call('POST', '/v1/schedules/nightly-usb/run', {});
    assert.equal(other.status, 201);
    assert.equal((await call('POST', `/v1/jobs/${((other.body as ScheduleRunResult).jobs[0] as Job).id}/cancel`)).status, 200);
  } finally {
    config.shares.nas = saved;
  }
  const again = await call('POST', '/v1/schedules/nightly-nas/run', {});
  assert.equal(again.status, 201, 'the share back: the run goes');
  const nasJob = (again.body as ScheduleRunResult).jobs[0] as Job;
  assert.deepEqual(nasJob.options?.destination, { kind: 'share', name: 'nas' });
  assert.equal((await call('POST', `/v1/jobs/${nasJob.id}/cancel`)).status, 200);
  for (const n of ['nightly-nas', 'nightly-usb']) assert.equal((await call('DELETE', `/v1/schedules/${n}`)).status, 200);
});

test("a schedule's prune leaves its images on a destination alone (records kept, never considered) and says where its backups go", async () => {
  const s = await db.schedules.add({ name: 'prune-dest', target: { machines: ['pc-1'] }, calendar: 'daily', retention: { keepLast: 1 } });
  const machine = await db.machines.getByName('pc-1');
  const disk = join(dir, 'disk.img');
  const usb = await ImageStore.open(join(dir, 'usb-store'), { create: true, chunkSize: 65536 });
  const made = async (store: ImageStore, fill: number, location?: string) => {
    writeFileSync(disk, Buffer.alloc(128 * 1024, fill));
    const m = await backupImage({ store, source: disk, now: () => Date.now() - (10 - fill) * 60_000 }); // a minute apart: distinct ids, in order
    await db.images.record(imageFactsFromManifest(m), { machineId: machine.id, ...(location ? { location } : {}) });
    const job = await db.jobs.create({ type: 'backup', machineId: machine.id, scheduleId: s.id, requestedBy: 'timer' });
    await db.jobs.transition(job.id, 'start');
    await db.jobs.transition(job.id, 'succeed', { imageId: m.id, stats: {} });
    return m.id;
  };
  const onUsb = [await made(usb, 1, 'client-disk LABEL=LBUSB'), await made(usb, 2, 'client-disk LABEL=LBUSB')];
  const here = [await made(images, 3), await made(images, 4)];
  const edited = await db.schedules.edit('prune-dest', { destination: { kind: 'client-disk', label: 'LBUSB' } });
  const dry = await pruneSchedule({ db, images }, edited, 'alice', { dryRun: true });
  assert.deepEqual(dry.destination, { kind: 'client-disk', label: 'LBUSB' });
  assert.deepEqual(dry.decisions.map((d) => d.id).sort(), [...here].sort(), 'only images in the appliance are considered');
  const real = await pruneSchedule({ db, images }, edited, 'alice');
  assert.deepEqual(real.removed, [here[0]]);
  for (const id of onUsb) assert.equal((await db.images.get(id)).location, 'client-disk LABEL=LBUSB', `${id}: its record stays`);
  assert.deepEqual((await usb.listImages()).images.map((i) => i.id).sort(), [...onUsb].sort(), 'the destination store is untouched');
  await db.schedules.remove('prune-dest');
});

test('a stored schedule that does not read back is left out of the list and reported; the others work; it can be removed', async () => {
  const fileDir = join(dir, 'db');
  let store = await openManagementStore(fileDir);
  await store.machines.add({ name: 'pc-9', macs: ['52:54:00:00:10:09'] });
  await store.schedules.add({ name: 'good', target: { machines: ['pc-9'] }, calendar: 'daily', destination: { kind: 'share', name: 'nas' } });
  await store.close();
  const now = new Date().toISOString();
  const bad = (id: string, name: string, destination: unknown) => `${JSON.stringify({ _id: id, name, target: { machines: ['pc-9'] }, calendar: 'daily', retention: {}, enabled: true, destination, createdAt: now, updatedAt: now })}\n`;
  appendFileSync(join(fileDir, 'schedules.db'), bad('0000000000b1', 'bad-share', { kind: 'share', name: '../../etc' }) + bad('0000000000b2', 'bad-kind', { kind: 'tape' }) + bad('0000000000b3', 'bad-extra', { kind: 'client-disk', label: 'X', uuid: '1A2B-3C4D' }));
  store = await openManagementStore(fileDir);
  try {
    assert.deepEqual((await store.schedules.list()).map((s) => [s.name, s.destination]), [['good', { kind: 'share', name: 'nas' }]]);
    const unreadable = await store.schedules.unreadable();
    assert.deepEqual(unreadable.map((u) => u.name), ['bad-extra', 'bad-kind', 'bad-share']);
    assert.match(unreadable.find((u) => u.name === 'bad-share')?.error ?? '', /schedule destination .*a share is named as in the daemon's config/);
    await assert.rejects(store.schedules.get('bad-kind'), /the stored schedule "bad-kind" does not read back .*lifeboat schedule rm bad-kind/);
    await assert.rejects(store.schedules.edit('bad-kind', { calendar: 'weekly' }), /does not read back/);
    assert.equal((await store.schedules.remove('bad-kind')).name, 'bad-kind');
    assert.deepEqual((await store.schedules.unreadable()).map((u) => u.name), ['bad-extra', 'bad-share']);
    assert.equal((await store.schedules.get('good')).name, 'good');
  } finally {
    await store.close();
  }
});
