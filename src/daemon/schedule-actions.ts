// What `lifeboat schedule run` asks the daemon to do: start a schedule's backups (one
// job per machine — each waits for its machine to boot — or per docked device), and
// afterwards prune that schedule's images by its retention policy and collect garbage.
// Which images go is decided by the pure prune(); this file only does the effects.
// A schedule prunes only images its own jobs made, per source disk, never a protected
// one: a manual backup is kept until an operator removes it.
import type { Store } from '../imaging/repo/store.js';
import { type GcReport, collectGarbage } from '../imaging/repo/gc.js';
import { prune } from '../jobs/index.js';
import { type ImageRecord, type Job, type ManagementStore, type Schedule } from '../store/index.js';
import { LifeboatError } from '../errors.js';
import type { JobRunner } from './job-runner.js';
import { syncImages } from './image-sync.js';

export interface ScheduleRunResult {
  schedule: string;
  jobs: Job[];
  /** Targets whose job could not be created (busy disk, missing device…), with why. */
  refused: Array<{ target: string; error: string }>;
}

export interface PruneReport {
  schedule: string;
  removed: string[];
  kept: string[];
  /** Protected images the policy would have removed. */
  protectedKept: string[];
  gc: GcReport | { skipped: string };
}

export async function startScheduleRun(deps: { db: ManagementStore; runner: JobRunner }, schedule: Schedule, actor: string, bootDeadlineMs: number): Promise<ScheduleRunResult> {
  const { db, runner } = deps;
  const result: ScheduleRunResult = { schedule: schedule.name, jobs: [], refused: [] };
  const label = `schedule ${schedule.name}`;
  let targets: Array<{ target: string; submit: () => Promise<Job> }>;
  if ('devices' in schedule.target) {
    targets = schedule.target.devices.map((devicePath) => ({ target: devicePath, submit: () => runner.submit({ type: 'backup', devicePath, label, scheduleId: schedule.id, requestedBy: actor }) }));
  } else {
    const names = 'machines' in schedule.target ? schedule.target.machines : (await db.machines.list({ group: schedule.target.group })).map((m) => m.name);
    if (names.length === 0) throw new LifeboatError('user', `schedule ${schedule.name} names group ${'group' in schedule.target ? schedule.target.group : ''}, which has no machines: add some with \`lifeboat machines edit <name> --group …\``);
    targets = names.map((machine) => ({ target: machine, submit: () => runner.submit({ type: 'backup', machine, label, scheduleId: schedule.id, bootDeadlineMs, requestedBy: actor }) }));
  }
  await db.schedules.markRun(schedule.name);
  await db.events.record({ actor, action: 'schedule.run', subject: schedule.name, details: { targets: targets.map((t) => t.target) } });
  for (const t of targets) {
    try {
      result.jobs.push(await t.submit());
    } catch (err) {
      result.refused.push({ target: t.target, error: (err as Error).message });
    }
  }
  return result;
}

/** The images a schedule's own jobs made, grouped by the disk they came from. */
async function imagesBySource(db: ManagementStore, schedule: Schedule): Promise<Map<string, ImageRecord[]>> {
  const made = new Set((await db.jobs.list({ scheduleId: schedule.id, state: 'done', limit: 100_000 })).flatMap((j) => (j.imageId ? [j.imageId] : [])));
  const groups = new Map<string, ImageRecord[]>();
  for (const image of await db.images.list()) {
    if (!made.has(image.id)) continue;
    const key = image.machineId ? `${image.machineId}:${image.diskSerial ?? image.sourcePath}` : image.sourcePath;
    groups.set(key, [...(groups.get(key) ?? []), image]);
  }
  return groups;
}

export async function pruneSchedule(deps: { db: ManagementStore; images: Store }, schedule: Schedule, actor: string, now = new Date()): Promise<PruneReport> {
  const { db, images } = deps;
  const report: PruneReport = { schedule: schedule.name, removed: [], kept: [], protectedKept: [], gc: { skipped: 'nothing was removed' } };
  try {
    for (const group of (await imagesBySource(db, schedule)).values()) {
      const decision = prune(group.map((i) => ({ id: i.id, completedAt: i.completedAt })), schedule.retention, now);
      report.kept.push(...decision.keep.map((k) => k.id));
      for (const id of decision.remove) {
        if (group.find((i) => i.id === id)?.protected) {
          report.protectedKept.push(id);
          continue;
        }
        await images.removeImage(id);
        report.removed.push(id);
      }
    }
  } finally {
    // Whatever was removed before a failure is recorded: the database follows the store.
    if (report.removed.length > 0) {
      await syncImages(db, images, () => {});
      await db.events.record({ actor, action: 'schedule.prune', subject: schedule.name, details: { removed: report.removed } });
    }
  }
  if (report.removed.length > 0) {
    try {
      report.gc = await collectGarbage(images);
    } catch (err) {
      // A backup holds the store (another schedule, an operator): the gc timer frees the space later.
      report.gc = { skipped: (err as Error).message };
    }
  }
  return report;
}
