// The operator API's services (src/api/services.ts) over the daemon's real parts: the
// management store, the image store, the job runner, the event hub, the schedule actions.
// Every record leaves through wire-records.ts. main.ts (the composition root) builds it;
// the route tests build it over an in-memory store.
import type { ApplianceStatus, ImageManifest, LocalDevice } from '../api/contract.js';
import type { OperatorServices } from '../api/services.js';
import type { Store } from '../imaging/repo/store.js';
import type { ManagementStore } from '../store/index.js';
import type { EventHub } from './event-hub.js';
import { type ImageSyncer, imageSyncer } from './image-sync.js';
import type { JobRunner } from './job-runner.js';
import { pruneSchedule, startScheduleRun } from './schedule-actions.js';
import { auditToWire, diskToWire, imageToWire, jobToWire, machineToWire, pruneToWire, scheduleRunToWire, scheduleToWire } from './wire-records.js';

export interface DaemonParts {
  db: ManagementStore;
  images: Store;
  runner: JobRunner;
  hub: EventHub;
  version: string;
  dataDir: string;
  startedAt: number;
  appliance: () => Promise<ApplianceStatus>;
  devices: () => Promise<LocalDevice[]>;
  /** After a schedule was added or removed: bring the timers in line; returns problems. */
  schedulesChanged: () => Promise<string[]>;
  /** Mirrors the store into the database (one made here, logging nowhere, when not given). */
  imageSync?: ImageSyncer;
}

export function operatorServices(d: DaemonParts): OperatorServices {
  const { db, images, runner, hub } = d;
  // Images the local CLI wrote into the store show up on the next read, not the next job.
  const sync = d.imageSync ?? imageSyncer(db, images, () => {});
  return {
    info: () => ({ version: d.version, pid: process.pid, startedAt: d.startedAt, dataDir: d.dataDir, store: images.root, activeJobs: runner.active, databaseProblem: db.writeFailure() }),
    appliance: d.appliance,
    devices: d.devices,
    machines: {
      list: async (filter) => (await db.machines.list(filter)).map(machineToWire),
      add: async (m) => machineToWire(await db.machines.add(m)),
      get: async (name) => machineToWire(await db.machines.getByName(name)),
      disksOf: async (id) => (await db.disks.listByMachine(id)).map(diskToWire),
      edit: async (name, patch) => machineToWire(await db.machines.edit(name, patch)),
      remove: async (name) => machineToWire(await db.machines.remove(name)),
    },
    images: {
      list: async () => {
        await sync.ifChanged();
        return (await db.images.list()).map(imageToWire);
      },
      find: async (id) => {
        await sync.ifChanged();
        const r = await db.images.find(id);
        return r ? imageToWire(r) : null;
      },
      // The manifest is the documented on-disk format: it goes out as the store holds it.
      manifest: async (id) => ({ ...(await images.readManifest(id)) }) as ImageManifest,
      remove: async (id) => {
        await images.removeImage(id);
        await sync.sync();
      },
    },
    jobs: {
      list: async (filter) => (await db.jobs.list(filter.state ? { state: filter.state } : {})).map((j) => runner.overlay(jobToWire(j))),
      get: async (id) => runner.overlay(jobToWire(await db.jobs.get(id))),
      progressOf: (id) => hub.progressOf(id),
      submit: async (request) => jobToWire(await runner.submit(request)),
      cancel: async (id, actor) => jobToWire(await runner.cancel(id, actor)),
    },
    schedules: {
      list: async () => (await db.schedules.list()).map(scheduleToWire),
      get: async (name) => scheduleToWire(await db.schedules.get(name)),
      add: async (s) => scheduleToWire(await db.schedules.add(s)),
      remove: async (name) => scheduleToWire(await db.schedules.remove(name)),
      run: async (name, actor, bootDeadlineMs) => scheduleRunToWire(await startScheduleRun({ db, runner }, await db.schedules.get(name), actor, bootDeadlineMs)),
      prune: async (name, actor) => pruneToWire(await pruneSchedule({ db, images }, await db.schedules.get(name), actor)),
      timersChanged: d.schedulesChanged,
    },
    audit: {
      list: async () => (await db.events.list()).map(auditToWire),
      record: async (e) => {
        await db.events.record(e);
      },
    },
    subscribe: (listener) => hub.subscribe(listener),
  };
}
