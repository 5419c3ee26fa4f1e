// What `lifeboat schedule run` asks the daemon to do: start a schedule's backups (one
// job per machine — each waits for its machine to boot — or per docked device), and
// afterwards prune that schedule's images by its retention policy and collect garbage.
// Which images go is decided by the pure prune(); this file only does the effects.
// A schedule prunes only images its own jobs made, per source disk, never a protected
// one: a manual backup is kept until an operator removes it; and only images in the
// appliance's store: one its jobs sent to a destination (a client's disk, a share) has a
// location and is never pruned here.
import type { ImageStore } from '../imaging/repo/image-store.js';
import { type GcReport, collectGarbage } from '../imaging/repo/gc.js';
import { type RetentionPolicy, prune } from '../jobs/index.js';
import type { ImageRecord, Job, ManagementStore, Schedule } from '../db/index.js';
import { type JobDestination, destinationText } from '../api/destination.js';
import { LifeboatError } from '../errors.js';
import type { JobRunner } from './job-runner.js';
import { syncImages } from './image-sync.js';

export interface ScheduleRunResult {
  schedule: string;
  jobs: Job[];
  /** Targets whose job could not be created (busy disk, missing device…), with why. */
  refused: Array<{ target: string; error: string }>;
}

export interface PruneDecision {
  id: string;
  /** The disk it came from (machine and disk, or the device path). */
  source: string;
  completedAt: string;
  action: 'keep' | 'remove' | 'protected';
  /** Which rules keep it (last, daily, weekly, monthly, no-policy, future). */
  reasons: string[];
}

export interface PruneReport {
  /** The schedule pruned, or "images" for `images prune`. */
  schedule: string;
  /** Removed (or, in a dry run, what would be). */
  removed: string[];
  kept: string[];
  /** Protected images the policy would have removed. */
  protectedKept: string[];
  /** Every image considered, newest first per source: what the policy does with it and why. */
  decisions: PruneDecision[];
  dryRun: boolean;
  gc: GcReport | { skipped: string };
  /** The schedule's destination: what its jobs wrote there is not pruned. */
  destination?: JobDestination;
}

export async function startScheduleRun(deps: { db: ManagementStore; runner: JobRunner }, schedule: Schedule, actor: string, bootDeadlineMs: number): Promise<ScheduleRunResult> {
  const { db, runner } = deps;
  const result: ScheduleRunResult = { schedule: schedule.name, jobs: [], refused: [] };
  const label = `schedule ${schedule.name}`;
  // The schedule's passphrase file (read when each job runs); without one a machine's own setting applies.
  const protection = schedule.passphraseFile !== undefined ? { passphraseFile: schedule.passphraseFile } : {};
  const destination = schedule.destination ? { destination: schedule.destination } : {};
  if (schedule.destination) {
    if ('devices' in schedule.target) throw new LifeboatError('user', `schedule ${schedule.name} backs up docked disks but names a destination (${destinationText(schedule.destination)}): docked disks are backed up into the appliance; \`lifeboat schedule edit ${schedule.name} --to appliance\``);
    // Checked when it was saved; the config may have changed since (a share removed): this run fails, saying so.
    try {
      deps.runner.checkDestination(schedule.destination);
    } catch (err) {
      await db.events.record({ actor, action: 'schedule.run', subject: schedule.name, details: { refused: (err as Error).message } });
      throw new LifeboatError('user', `schedule ${schedule.name} sends its backups to ${destinationText(schedule.destination)}, which this appliance cannot use now: ${(err as Error).message}; fix the daemon's config or \`lifeboat schedule edit ${schedule.name} --to <destination>\``);
    }
  }
  let targets: Array<{ target: string; submit: () => Promise<Job> }>;
  if ('devices' in schedule.target) {
    targets = schedule.target.devices.map((devicePath) => ({ target: devicePath, submit: () => runner.submit({ type: 'backup', devicePath, label, scheduleId: schedule.id, ...protection, requestedBy: actor }) }));
  } else {
    const names = 'machines' in schedule.target ? schedule.target.machines : (await db.machines.list({ group: schedule.target.group })).map((m) => m.name);
    if (names.length === 0) throw new LifeboatError('user', `schedule ${schedule.name} names group ${'group' in schedule.target ? schedule.target.group : ''}, which has no machines: add some with \`lifeboat machines edit <name> --group …\``);
    targets = names.map((machine) => ({ target: machine, submit: () => runner.submit({ type: 'backup', machine, label, scheduleId: schedule.id, bootDeadlineMs, ...protection, ...destination, requestedBy: actor }) }));
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

/** Images grouped by the disk they came from (a machine's disk, or a device path). */
function bySource(images: ImageRecord[]): Map<string, ImageRecord[]> {
  const groups = new Map<string, ImageRecord[]>();
  for (const image of images) {
    const key = image.machineId ? `${image.machineId}:${image.diskSerial ?? image.sourcePath}` : image.sourcePath;
    groups.set(key, [...(groups.get(key) ?? []), image]);
  }
  return groups;
}

/** The images a schedule's own jobs made, grouped by the disk they came from. */
async function imagesOfSchedule(db: ManagementStore, schedule: Schedule): Promise<ImageRecord[]> {
  const made = new Set((await db.jobs.list({ scheduleId: schedule.id, state: 'done', limit: 100_000 })).flatMap((j) => (j.imageId ? [j.imageId] : [])));
  return (await db.images.list()).filter((i) => made.has(i.id) && i.location === undefined); // retention prunes the appliance's store only
}

export interface PruneOptions {
  dryRun?: boolean;
  now?: Date;
}

/** Prunes a schedule's own images by its retention policy (then gc); a dry run only says what it would do. */
export async function pruneSchedule(deps: { db: ManagementStore; images: ImageStore }, schedule: Schedule, actor: string, options: PruneOptions = {}): Promise<PruneReport> {
  const report = await pruneImages(deps, { subject: schedule.name, images: await imagesOfSchedule(deps.db, schedule), policy: schedule.retention, actor, action: 'schedule.prune' }, options);
  return schedule.destination ? { ...report, destination: schedule.destination } : report;
}

/** Prunes every image in the store by a policy given now (`images prune`), per source disk. */
export async function pruneAllImages(deps: { db: ManagementStore; images: ImageStore }, policy: RetentionPolicy, actor: string, options: PruneOptions = {}): Promise<PruneReport> {
  if (Object.values(policy).every((v) => v === undefined)) throw new LifeboatError('user', 'say what to keep: --keep-last, --keep-daily, --keep-weekly and/or --keep-monthly (without a policy nothing would be pruned)');
  return pruneImages(deps, { subject: 'images', images: (await deps.db.images.list()).filter((i) => i.location === undefined), policy, actor, action: 'images.prune' }, options);
}

async function pruneImages(
  deps: { db: ManagementStore; images: ImageStore },
  what: { subject: string; images: ImageRecord[]; policy: RetentionPolicy; actor: string; action: string },
  options: PruneOptions,
): Promise<PruneReport> {
  const { db, images } = deps;
  const dryRun = options.dryRun === true;
  const report: PruneReport = { schedule: what.subject, removed: [], kept: [], protectedKept: [], decisions: [], dryRun, gc: { skipped: dryRun ? 'dry run' : 'nothing was removed' } };
  const names = new Map((await db.machines.list({})).map((m) => [m.id, m.name]));
  try {
    for (const group of bySource(what.images).values()) {
      const decision = prune(group.map((i) => ({ id: i.id, completedAt: i.completedAt })), what.policy, options.now ?? new Date());
      const first = group[0] as ImageRecord;
      const source = first.machineId ? `${names.get(first.machineId) ?? first.machineId} ${first.diskSerial ?? first.sourcePath}` : first.sourcePath;
      const at = (id: string) => group.find((i) => i.id === id)?.completedAt ?? '';
      for (const k of decision.keep) {
        report.kept.push(k.id);
        report.decisions.push({ id: k.id, source, completedAt: at(k.id), action: 'keep', reasons: [...k.reasons] });
      }
      for (const id of decision.remove) {
        if (group.find((i) => i.id === id)?.protected) {
          report.protectedKept.push(id);
          report.decisions.push({ id, source, completedAt: at(id), action: 'protected', reasons: ['protected'] });
          continue;
        }
        if (!dryRun) {
          try {
            await images.removeImage(id);
          } catch (err) {
            // A restore, verify or export is reading it: kept this time, the next prune removes it.
            if (!(err instanceof LifeboatError && err.kind === 'conflict')) throw err;
            report.decisions.push({ id, source, completedAt: at(id), action: 'keep', reasons: [`in use: ${err.message}`] });
            continue;
          }
        }
        report.decisions.push({ id, source, completedAt: at(id), action: 'remove', reasons: [] });
        report.removed.push(id);
      }
    }
  } finally {
    // Whatever was removed before a failure is recorded: the database follows the store.
    if (report.removed.length > 0 && !dryRun) {
      await syncImages(db, images, () => {});
      await db.events.record({ actor: what.actor, action: what.action, subject: what.subject, details: { removed: report.removed } });
    }
  }
  report.decisions.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : b.completedAt.localeCompare(a.completedAt)));
  if (report.removed.length > 0 && !dryRun) {
    try {
      report.gc = await collectGarbage(images);
    } catch (err) {
      // A backup holds the store (another schedule, an operator): the gc timer frees the space later.
      report.gc = { skipped: (err as Error).message };
    }
  }
  return report;
}
