// One job, as the agent runs it: choose the disk, job/start, then the same engine as
// `lifeboat image` — a backup into the appliance (remote-target.ts), into a destination the
// start answer names (destination-backup.ts: a disk attached to this machine or a share;
// reported with job/stored), or a restore from the appliance (remote-source.ts) — with progress on the way (progress-poster.ts) and the outcome at the
// end: job/finish (a backup's success), job/end (a restore's success and every failure,
// with the stage it stopped at, the error, what to do next and whether the disk was
// written). A job the operator cancelled reports nothing more.
import { availableParallelism } from 'node:os';
import { AGENT_PATHS, type AgentJobSpec, type EndBody, type JobEnd, type StartAnswer, isDestinationStart } from '../api/agent-wire.js';
import { LifeboatError, userError } from '../errors.js';
import { formatBytes } from '../format.js';
import { type BackupProfile, formatProfile } from '../imaging/backup-profile.js';
import { backupTo } from '../imaging/backup.js';
import { restoreFrom } from '../imaging/restore.js';
import { type AgentApi, isCancelled } from './agent-api.js';
import { type ShareMounter, backupToDestination, describeDestination } from './destination-backup.js';
import { disksBesideDestination } from './client-disk.js';
import { chooseDisk, describeDisks, diskIdentity } from './disk-choice.js';
import type { AgentStoreRef } from './http-chunks.js';
import type { DiskInfo } from './inventory.js';
import { ProgressPoster } from './progress-poster.js';
import { remoteSource } from './remote-source.js';
import { remoteTarget } from './remote-target.js';
import { StageClock, formatChunkTimes } from './stage-clock.js';

export interface JobContext {
  api: AgentApi;
  /** What worker threads open: the same appliance and token. */
  ref: AgentStoreRef;
  job: AgentJobSpec;
  disks: readonly DiskInfo[];
  /** The device node of a disk (`/dev/<name>` in the boot OS). */
  devicePath: (name: string) => string;
  log: (line: string) => void;
  workers?: number;
  /** Least time between two progress posts (default 500 ms). */
  progressIntervalMs?: number;
  /** The boot OS's root (sysfs of the disks a destination may be on; default `/`). */
  root?: string;
  /** Mounts a share destination (src/agent/share-mount.ts); absent: a share job fails with advice. */
  mountShare?: ShareMounter;
}

export type JobOutcome = { ok: true; end: JobEnd } | { ok: false; cancelled: boolean };

/** Most bytes of a job/start answer (a restore's carries the index in base64). */
const MAX_START_ANSWER = 96 << 20;

type Stage = 'disk' | 'start' | 'destination' | 'read' | 'network' | 'certify' | 'write' | 'finish' | 'stored' | 'end';

function adviceFor(type: AgentJobSpec['type'], stage: Stage, wrote: boolean): string {
  if (stage === 'stored') return 'this disk was not changed; the image was committed on the destination, but the appliance did not record it: check the job at the appliance, and import the image from the destination (`lifeboat images import`) or back up again';
  if (stage === 'destination') return 'nothing was written: check the destination disk (attached, its filesystem label or UUID, writable) or share, then start the backup again from the appliance';
  if (stage === 'finish') return 'this disk was not changed; the appliance may have committed the image before its answer was lost: check the job at the appliance (`lifeboat jobs`) before backing up again';
  if (stage === 'end') return 'the restore itself completed, but the appliance did not hear it: check the job at the appliance before using this disk';
  const net = stage === 'network' ? 'check the network cable and that the appliance is running; then ' : '';
  if (type === 'backup') return `nothing was committed and this disk was not changed: ${net}start the backup again from the appliance`;
  if (!wrote) return `nothing was written: this disk is unchanged; ${net}start the restore again from the appliance`;
  return `this disk is incomplete — do not boot it: ${net}start the restore again from the appliance (the next network boot goes to the local disk until then)`;
}

/**
 * Engine worker threads of a job. A backup: one per core, at least two, so one computes while
 * the other waits for the appliance (a thread takes ~0.1 s of CPU to boot on a real core, and
 * seconds on a slow one, which a small disk's backup does not win back; beyond one per core
 * they boot only when chunks go to the appliance). A restore: the same, all booted at once —
 * two frames in flight on one core (four threads on one vCPU were slower in the bench: each
 * costs its boot and they only take turns).
 */
export const jobWorkers = (_type: AgentJobSpec['type']): number => Math.max(2, availableParallelism());

/** A backup's threads booted before its first chunk: one per core; the rest join when chunks go to the appliance. */
export const backupWorkersAtStart = (workers: number): number => Math.min(workers, availableParallelism());

export async function runJob(ctx: JobContext): Promise<JobOutcome> {
  const { api, job, log } = ctx;
  const abort = new AbortController();
  const poster = new ProgressPoster(api, log, abort, ctx.progressIntervalMs ?? 500);
  const workers = ctx.workers ?? jobWorkers(job.type);
  let stage: Stage = 'disk';
  let wrote = false;
  const clock = new StageClock();
  try {
    const dest = job.type === 'backup' ? job.destination : undefined;
    const unnamed = job.disk.serial === null && job.disk.name === null;
    const candidates = unnamed && dest?.kind === 'client-disk' ? disksBesideDestination(ctx.disks, dest, { root: ctx.root ?? '/', devicePath: ctx.devicePath }) : ctx.disks;
    const disk = chooseDisk(candidates, job.disk);
    const path = ctx.devicePath(disk.name);
    log(`job ${job.id}: ${job.type} of disk ${describeDisks([disk])} (${path})`);
    stage = 'start';
    clock.mark('job/start');
    const startedAt = performance.now();
    const start = await api.json<StartAnswer>('POST', AGENT_PATHS.start, { disk: diskIdentity(disk) }, MAX_START_ANSWER);
    if (start?.type !== job.type) throw userError(`the appliance answered job/start of a ${job.type} job with ${JSON.stringify(start?.type)?.slice(0, 40)}: are the agent and the appliance the same version?`);
    if (job.type === 'backup' && start.type === 'backup' && isDestinationStart(start)) {
      stage = 'destination';
      log(`the image goes to ${describeDestination(start.destination)}`);
      const body = await backupToDestination({
        start,
        disk,
        disks: ctx.disks,
        source: path,
        root: ctx.root ?? '/',
        devicePath: ctx.devicePath,
        log,
        mountShare: ctx.mountShare ?? null,
        onEvent: (e) => {
          if (stage === 'destination' && e.type === 'progress') stage = 'read';
          poster.sink(e);
        },
        signal: abort.signal,
        workers,
        onCommit: () => (stage = 'stored'),
      });
      stage = 'stored';
      await poster.stop();
      await api.json('POST', AGENT_PATHS.stored, body);
      log(`backup done: image ${body.imageId} on ${describeDestination(start.destination)}, ${body.chunkCount} chunks, ${formatBytes(body.stats.bytesNew ?? 0)} new`);
    } else if (job.type === 'backup' && start.type === 'backup' && !isDestinationStart(start)) {
      stage = 'read';
      const startMs = performance.now() - startedAt;
      let took = '';
      const onCommitted = (profile: BackupProfile | undefined, stages: ReadonlyArray<readonly [string, number]>) => {
        if (profile) took = `job/start ${(startMs / 1000).toFixed(2)} s, ${formatProfile(profile, stages)}`;
      };
      const target = remoteTarget({ api, ref: ctx.ref, start, disk: diskIdentity(disk), log, onCommit: () => (stage = 'finish'), onCommitted });
      const done = await backupTo(target, { source: path, onEvent: poster.sink, signal: abort.signal, workers, workersAtStart: backupWorkersAtStart(workers) });
      stage = 'finish';
      await poster.stop();
      const c = poster.last;
      log(`backup done: image ${done.imageId}, ${done.chunkCount} chunks, ${done.chunksNew} new to the store${c ? `; ${formatBytes(c.bytesNew)} new, ${formatBytes(c.bytesReused)} reused, ${formatBytes(c.bytesZero)} empty, ${formatBytes(c.storedBytes)} sent` : ''}`);
      log(`backup took ${((performance.now() - startedAt) / 1000).toFixed(2)} s from job/start: ${took}`);
    } else if (job.type === 'restore' && start.type === 'restore') {
      stage = 'certify';
      clock.mark('agent certify');
      const source = remoteSource(ctx.ref, start);
      const id = (await source.certify()).manifest.id;
      if (!Number.isSafeInteger(start.minTargetBytes) || start.minTargetBytes > disk.sizeBytes) {
        throw userError(`disk ${disk.name} is ${formatBytes(disk.sizeBytes)}; image ${id} needs ${formatBytes(start.minTargetBytes)}: choose a larger disk`);
      }
      const report = await restoreFrom(source, {
        target: path,
        imageId: id,
        verify: job.verify,
        verifyFirst: job.verifyFirst,
        growLast: job.growLast,
        onFirstWrite: () => {
          wrote = true;
          stage = 'write';
          log(`writing image ${id} onto ${path}`);
        },
        onEvent: poster.sink,
        onStage: (s) => clock.mark(s),
        signal: abort.signal,
        workers,
      });
      stage = 'end';
      clock.mark('end report');
      await poster.stop();
      log(`restore done: ${formatBytes(report.bytesWritten)} written${report.adapted ? ', partition table adapted to the disk' : ''}${report.grow?.grown ? `, last partition grown with ${report.grow.tool}` : ''}${report.verified ? ', read back and verified' : ''}`);
      const body: EndBody = { ok: true, stage: null, error: null, advice: null, report: { ...report }, wrote: true };
      await api.json('POST', AGENT_PATHS.end, body);
      log(`timings: ${clock.summary()}`);
      log(`worker threads while writing (summed over ${workers}): ${formatChunkTimes(report.workerMs)}`);
    } else {
      throw userError(`the appliance offered a job of type ${JSON.stringify((job as { type?: unknown }).type)?.slice(0, 40)}, which this agent does not know: update the boot OS`);
    }
    return { ok: true, end: job.end === 'poweroff' ? 'poweroff' : 'reboot' };
  } catch (err) {
    await poster.stop();
    if (isCancelled(err) || poster.cancelled) {
      log(`the job was cancelled at the appliance: stopped${job.type === 'restore' && wrote ? '; this disk is incomplete — do not boot it' : ''}`);
      return { ok: false, cancelled: true };
    }
    const message = err instanceof LifeboatError ? err.message : `internal error (a bug in Lifeboat, please report it): ${(err as Error)?.stack ?? String(err)}`;
    if (stage !== 'end' && stage !== 'finish' && stage !== 'stored' && stage !== 'destination' && err instanceof LifeboatError && err.kind === 'external' && message.startsWith('the appliance at')) stage = 'network';
    const advice = adviceFor(job.type, stage, wrote);
    log(`FAILED at ${stage}: ${message}`);
    log(advice);
    log(`timings: ${clock.summary()}`);
    const body: EndBody = { ok: false, stage, error: message.slice(0, 2000), advice, report: null, wrote };
    try {
      await api.json('POST', AGENT_PATHS.end, body);
      log('the failure was reported to the appliance');
    } catch (e) {
      // A job the appliance refused (job/start) it has failed itself: its token is spent.
      if (e instanceof LifeboatError && /no longer accepts this job's token/.test(e.message)) log('the appliance had already ended the job');
      else log(`the failure could not be reported to the appliance (${(e as Error).message})`);
    }
    return { ok: false, cancelled: false };
  }
}
