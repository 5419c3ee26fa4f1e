// Opening and closing the management database: a directory of NeDB datafiles (one per
// collection), or the same collections in memory. See index.ts for the invariants.
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeSystemError, integrityError } from '../errors.js';
import type { StoreContext, Tables } from './context.js';
import { type DatafileReport, type Inspection, applyRepair, describeProblems, inspectDatafile, needsExplicitRepair, needsRepair } from './datafile.js';
import { type Disks, disksCollection } from './disks.js';
import { DEFAULT_EVENTS_CAP, type Events, eventsCollection } from './events.js';
import { type Images, imagesCollection } from './images.js';
import { type Jobs, jobsCollection } from './jobs.js';
import { leasesCollection } from './leases.js';
import type { LeaseStore } from '../boot/dhcp/lease-store.js';
import { type Machines, machinesCollection } from './machines.js';
import { type Media, mediaCollection } from './media.js';
import { type Schedules, schedulesCollection } from './schedules.js';
import { type SettingsStore, settingsCollection } from './settings.js';
import { Health, type IndexSpec, Mutex, Table } from './table.js';

export const COLLECTIONS = ['machines', 'disks', 'images', 'jobs', 'schedules', 'settings', 'events', 'leases', 'media'] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

const INDEXES: Record<CollectionName, IndexSpec[]> = {
  machines: [{ field: 'name', unique: true }, { field: 'macs', unique: true }, { field: 'group' }, { field: 'fixedAddress', unique: true, sparse: true }],
  disks: [{ field: 'machineId' }],
  images: [{ field: 'machineId' }],
  jobs: [{ field: 'state' }, { field: 'machineId' }],
  schedules: [{ field: 'name', unique: true }],
  settings: [],
  events: [{ field: 'seq', unique: true }],
  leases: [{ field: 'address' }],
  media: [{ field: 'tokenDigest', unique: true }],
};

export const DEFAULT_AUTOCOMPACTION_MS = 30 * 60 * 1000;

export interface OpenOptions {
  /** Drop damaged lines (after keeping a copy of the file) instead of refusing to open. */
  repair?: boolean;
  /** How many audit events to keep (default 10 000). */
  eventsCap?: number;
  /** How often each datafile is rewritten from memory (default 30 min; NeDB's minimum is 5 s). */
  autocompactionMs?: number;
  now?: () => Date;
  /** Gets one message per repair or recovery the open did, for the daemon's log. */
  onWarning?: (message: string) => void;
}

export interface ManagementStore {
  /** The datafile directory, or null in memory. */
  readonly dir: string | null;
  readonly machines: Machines;
  readonly disks: Disks;
  readonly images: Images;
  readonly jobs: Jobs;
  readonly schedules: Schedules;
  readonly settings: SettingsStore;
  readonly events: Events;
  /** DHCP leases (full mode), kept across restarts. */
  readonly leases: LeaseStore;
  /** Boot media and their hashed tokens, kept across restarts. */
  readonly media: Media;
  /** What the datafile check found and did, one report per file (none in memory). */
  readonly datafiles: readonly DatafileReport[];
  /** Why writes are refused (an earlier write failed: a full disk…), or null while the database is writable. */
  writeFailure(): string | null;
  /** Rewrites every datafile from memory now. */
  compact(): Promise<void>;
  /** Waits for pending writes, compacts, stops the timers. Later calls fail as bugs. Idempotent. */
  close(): Promise<void>;
}

export const datafileName = (name: CollectionName) => `${name}.db`;

/**
 * Opens the management database in `dir` (created if missing) or in memory (null).
 * Refuses, with an integrity error naming every damaged file and line, when a datafile
 * has damaged lines, unless `repair` is set; see datafile.ts for the policy.
 */
export async function openManagementStore(dir: string | null, options: OpenOptions = {}): Promise<ManagementStore> {
  const now = options.now ?? (() => new Date());
  const warn = options.onWarning ?? (() => {});
  const root = dir === null ? null : resolve(dir);
  const reports: DatafileReport[] = [];

  if (root !== null) {
    try {
      await mkdir(root, { recursive: true, mode: 0o750 });
    } catch (err) {
      throw describeSystemError(err, `management database directory ${root}`);
    }
    const inspections: Inspection[] = [];
    for (const name of COLLECTIONS) inspections.push(await inspectDatafile(join(root, datafileName(name))));
    const refused = options.repair ? [] : inspections.filter((i) => needsExplicitRepair(i.report));
    if (refused.length > 0) {
      const lines = refused.flatMap((i) => describeProblems(i.report));
      throw integrityError(
        [
          `the management database in ${root} has damaged lines, so it was not opened (nothing was changed):`,
          ...lines,
          'Fix or delete those lines by hand, or open it with repair (`lifeboat serve --repair-db`), which keeps a copy of each file as <name>.db.corrupt-<time> and drops the damaged lines.',
        ].join('\n'),
      );
    }
    for (const inspection of inspections) {
      const { report } = inspection;
      if (report.restoredFromTemp) warn(`${report.file} was missing; NeDB's temp file ${report.file}~ from an interrupted compaction was put in its place`);
      if (needsRepair(report)) {
        await applyRepair(inspection, now());
        warn([`repaired ${report.file} (original kept as ${report.copy}):`, ...describeProblems(report)].join('\n'));
      }
      reports.push(report);
    }
  }

  const health = new Health();
  const opened: Partial<Tables> = {};
  try {
    for (const name of COLLECTIONS) {
      // Each key gets the table of its own document type; TypeScript cannot follow that through the loop.
      (opened as Record<string, unknown>)[name] = await Table.open(name, root === null ? null : join(root, datafileName(name)), health, INDEXES[name]);
    }
  } catch (err) {
    for (const t of Object.values(opened)) t.stopAutocompaction();
    throw err;
  }
  const tables = opened as Tables;
  const ctx: StoreContext = { tables, lock: new Mutex(), health, now };

  const events = await eventsCollection(ctx, options.eventsCap ?? DEFAULT_EVENTS_CAP);
  const leases = await leasesCollection(ctx);
  const all = Object.values(tables);
  for (const t of all) t.setAutocompaction(options.autocompactionMs ?? DEFAULT_AUTOCOMPACTION_MS);

  let closing: Promise<void> | null = null;
  return {
    dir: root,
    machines: machinesCollection(ctx),
    disks: disksCollection(ctx),
    images: imagesCollection(ctx),
    jobs: jobsCollection(ctx),
    schedules: schedulesCollection(ctx),
    settings: settingsCollection(ctx),
    events,
    leases,
    media: mediaCollection(ctx),
    datafiles: reports,

    writeFailure: () => health.failure?.message ?? null,

    async compact() {
      health.assertOpen();
      await ctx.lock.run(async () => {
        for (const t of all) await t.compact();
      });
    },

    close() {
      closing ??= ctx.lock.run(async () => {
        for (const t of all) t.stopAutocompaction();
        try {
          for (const t of all) await t.compact();
        } finally {
          health.closed = true;
        }
      });
      return closing;
    },
  };
}
