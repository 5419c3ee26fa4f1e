// The operator API's services (src/api/services.ts) over the daemon's real parts: the
// management store, the image store, the job runner, the event hub, the schedule actions.
// Every record leaves through wire-records.ts. main.ts (the composition root) builds it;
// the route tests build it over an in-memory store.
import type { ApplianceStatus, ImageManifest, Job, LocalDevice, Machine, ThroughputHistory } from '../api/contract.js';
import { backupPromises } from '../jobs/index.js';
import type { OperatorServices } from '../api/services.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import { conflictError, userError } from '../errors.js';
import { type ManagementStore, imageFactsFromManifest } from '../db/index.js';
import { importImage } from './image-import.js';
import type { EventHub } from './event-hub.js';
import { type ImageSyncer, imageSyncer } from './image-sync.js';
import type { JobRunner } from './job-runner.js';
import { readPassphraseFile } from './passphrase-file.js';
import { pruneAllImages, pruneSchedule, startScheduleRun } from './schedule-actions.js';
import { auditToWire, diskToWire, imageToWire, jobToWire, machineToWire, mediumToWire, pruneToWire, scheduleRunToWire, scheduleToWire } from './wire-records.js';
import type { MediumTokens } from './medium-tokens.js';

export interface DaemonParts {
  db: ManagementStore;
  images: ImageStore;
  runner: JobRunner;
  hub: EventHub;
  version: string;
  dataDir: string;
  startedAt: number;
  appliance: () => Promise<ApplianceStatus>;
  /** The throughput of the last hour (throughput-history.ts); none kept when absent. */
  throughput?: () => ThroughputHistory;
  devices: () => Promise<LocalDevice[]>;
  /** After a schedule was added or removed: bring the timers in line; returns problems. */
  schedulesChanged: () => Promise<string[]>;
  /** Wake-on-LAN on the boot network (refused when the boot services are off). */
  wake?: (macs: readonly string[]) => Promise<void>;
  /** What is wrong with a machine's fixed address on the boot network (null: fine, or no boot network to check against). */
  fixedAddressProblem?: (ip: string) => string | null;
  /** Mirrors the store into the database (one made here, logging nowhere, when not given). */
  imageSync?: ImageSyncer;
  /** Where `images import` may read stores from: the docked directory, each share's localPath. */
  importRoots?: () => string[];
  /** Boot media tokens, and the agent URL and certificate fingerprint a medium carries by default (null: no boot interface). */
  media?: { tokens: MediumTokens; agent: () => { url: string; fingerprint: string | null } | null; retrySeconds?: number };
}

/** The job with its machine's name, when it has a machine that still exists. */
function withMachineName(j: Job, names: Map<string, string>): Job {
  const name = j.machineId ? names.get(j.machineId) : undefined;
  return name ? { ...j, machineName: name } : j;
}

/** Each machine with what its schedules promise (overdue or not), from its last done backup job. */
async function withPromises(db: ManagementStore, machines: Machine[]): Promise<Machine[]> {
  const schedules = (await db.schedules.list()).filter((s) => s.enabled);
  if (schedules.length === 0 || machines.length === 0) return machines;
  const names = new Map((await db.machines.list({})).map((m) => [m.id, m.name]));
  const lastGood = new Map<string, string>();
  for (const j of await db.jobs.list({ state: 'done', limit: 100_000 })) {
    const name = j.type === 'backup' && j.machineId ? names.get(j.machineId) : undefined;
    if (name && j.finishedAt && !lastGood.has(name)) lastGood.set(name, j.finishedAt); // newest first
  }
  const promises = backupPromises(schedules, machines, lastGood, new Date());
  return machines.map((m) => {
    const p = promises.get(m.name);
    return p ? { ...m, backupPromise: p } : m;
  });
}

export function operatorServices(d: DaemonParts): OperatorServices {
  const { db, images, runner, hub } = d;
  // Images the local CLI wrote into the store show up on the next read, not the next job.
  const sync = d.imageSync ?? imageSyncer(db, images, () => {});
  const checkAddress = (ip: string | null | undefined) => {
    const problem = ip ? (d.fixedAddressProblem?.(ip) ?? null) : null;
    if (problem) throw userError(problem);
  };
  return {
    info: () => ({ version: d.version, pid: process.pid, startedAt: d.startedAt, dataDir: d.dataDir, store: images.root, activeJobs: runner.active, databaseProblem: db.writeFailure() }),
    appliance: d.appliance,
    throughput: async () => d.throughput?.() ?? { intervalSeconds: 10, samples: [] },
    devices: d.devices,
    machines: {
      wake: async (name) => {
        const m = await db.machines.getByName(name);
        if (!d.wake) throw conflictError('Wake-on-LAN goes out on the boot network: the daemon runs without boot services');
        await d.wake(m.macs);
        return { machine: m.name, macs: [...m.macs] };
      },
      list: async (filter) => withPromises(db, (await db.machines.list(filter)).map(machineToWire)),
      add: async (m) => {
        checkAddress(m.fixedAddress);
        return machineToWire(await db.machines.add(m));
      },
      get: async (name) => (await withPromises(db, [machineToWire(await db.machines.getByName(name))]))[0] as Machine,
      disksOf: async (id) => (await db.disks.listByMachine(id)).map(diskToWire),
      edit: async (name, patch) => {
        if (typeof patch.passphraseFile === 'string') readPassphraseFile(patch.passphraseFile); // refused now, not at the next backup
        checkAddress(patch.fixedAddress);
        return machineToWire(await db.machines.edit(name, patch));
      },
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
      setProtected: async (id, value) => imageToWire(await db.images.setProtected(id, value)),
      prune: async (policy, actor, dryRun) => pruneToWire(await pruneAllImages({ db, images }, policy, actor, { dryRun })),
      import: async (id, from) => {
        const r = await importImage(images, id, from, d.importRoots?.() ?? []);
        await db.images.record(imageFactsFromManifest(r.manifest), { location: null });
        await sync.sync();
        return { image: imageToWire(await db.images.get(id)), chunksCopied: r.chunksCopied, chunksPresent: r.chunksPresent };
      },
      remove: async (id) => {
        const record = await db.images.find(id);
        if (record?.location !== undefined) {
          // Kept elsewhere: the appliance forgets it; the files on that disk or share stay.
          await db.images.remove(id);
          return;
        }
        await images.removeImage(id);
        await sync.sync();
      },
    },
    jobs: {
      list: async (filter) => {
        const jobs = await db.jobs.list({ ...(filter.state ? { state: filter.state } : {}), ...(filter.since ? { since: filter.since } : {}), ...(filter.limit ? { limit: filter.limit } : {}) });
        const names = new Map((await db.machines.list({})).map((m) => [m.id, m.name]));
        return jobs.map((j) => withMachineName(runner.overlay(jobToWire(j)), names));
      },
      get: async (id) => {
        const j = runner.overlay(jobToWire(await db.jobs.get(id)));
        return j.machineId ? withMachineName(j, new Map([[j.machineId, (await db.machines.findById(j.machineId))?.name ?? '']])) : j;
      },
      progressOf: (id) => hub.progressOf(id),
      submit: async (request) => jobToWire(await runner.submit(request)),
      cancel: async (id, actor) => jobToWire(await runner.cancel(id, actor)),
    },
    schedules: {
      list: async () => (await db.schedules.list()).map(scheduleToWire),
      get: async (name) => scheduleToWire(await db.schedules.get(name)),
      add: async (s) => {
        if (s.passphraseFile !== undefined) readPassphraseFile(s.passphraseFile); // refused now, not at the first run
        if (s.destination) runner.checkDestination(s.destination); // a share the config does not name: refused now (and again at each run)
        return scheduleToWire(await db.schedules.add(s));
      },
      edit: async (name, patch) => {
        if (typeof patch.passphraseFile === 'string') readPassphraseFile(patch.passphraseFile);
        if (patch.destination) runner.checkDestination(patch.destination);
        return scheduleToWire(await db.schedules.edit(name, patch));
      },
      remove: async (name) => scheduleToWire(await db.schedules.remove(name)),
      run: async (name, actor, bootDeadlineMs) => {
        const result = scheduleRunToWire(await startScheduleRun({ db, runner }, await db.schedules.get(name), actor, bootDeadlineMs));
        const names = new Map((await db.machines.list()).map((m) => [m.id, m.name])); // `schedule run` names each job's machine
        return { ...result, jobs: result.jobs.map((j) => withMachineName(j, names)) };
      },
      prune: async (name, actor, dryRun) => pruneToWire(await pruneSchedule({ db, images }, await db.schedules.get(name), actor, { dryRun })),
      timersChanged: d.schedulesChanged,
    },
    media: {
      list: async () => {
        const names = new Map((await db.machines.list({})).map((m) => [m.id, m.name]));
        return (await db.media.list()).map((m) => mediumToWire(m, m.machineId ? names.get(m.machineId) : undefined));
      },
      create: async ({ machine, server, actor }) => {
        if (!d.media) throw conflictError('this daemon makes no boot media (it runs without the agent API)');
        const agent = d.media.agent();
        const url = server ?? agent?.url;
        if (url === undefined) throw userError('the daemon has no boot interface, so it has no agent URL of its own: give the URL the medium should reach (--server https://<address>:<port>)');
        const { medium, token } = await d.media.tokens.issue({ ...(machine !== undefined ? { machine } : {}), server: url, actor });
        // A server given by the operator is not necessarily this daemon's listener: its fingerprint is the operator's to give (https needs one).
        const fingerprint = server === undefined ? (agent?.fingerprint ?? null) : null;
        return { medium: mediumToWire(medium, machine), params: { url, token, fingerprint, ...(d.media.retrySeconds !== undefined ? { retrySeconds: d.media.retrySeconds } : {}) } };
      },
      revoke: async (id, actor) => {
        if (!d.media) throw conflictError('this daemon makes no boot media (it runs without the agent API)');
        const m = await d.media.tokens.revoke(id, actor);
        return mediumToWire(m, m.machineId ? (await db.machines.findById(m.machineId))?.name : undefined);
      },
    },
    audit: {
      list: async (filter) => (await db.events.list({ ...(filter.since ? { since: filter.since } : {}), ...(filter.limit ? { limit: filter.limit } : {}) })).map(auditToWire),
      record: async (e) => {
        await db.events.record(e);
      },
    },
    subscribe: (listener) => hub.subscribe(listener),
  };
}
