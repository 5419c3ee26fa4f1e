// One job, as the agent runs it: choose the disk, job/start, then the same engine as
// `lifeboat image` — a backup into the appliance (remote-target.ts) or a restore from it
// (remote-source.ts) — with progress on the way (progress-poster.ts) and the outcome at the
// end: job/finish (a backup's success), job/end (a restore's success and every failure,
// with the stage it stopped at, the error, what to do next and whether the disk was
// written). A job the operator cancelled reports nothing more.
import { availableParallelism } from 'node:os';
import { AGENT_PATHS, type AgentJobSpec, type EndBody, type JobEnd, type StartAnswer } from '../api/agent-wire.js';
import { LifeboatError, userError } from '../errors.js';
import { formatBytes } from '../format.js';
import { type BackupProfile, formatProfile } from '../imaging/backup-profile.js';
import { backupTo } from '../imaging/backup.js';
import { restoreFrom } from '../imaging/restore.js';
import { type AgentApi, isCancelled } from './agent-api.js';
import { chooseDisk, describeDisks, diskIdentity } from './disk-choice.js';
import type { AgentStoreRef } from './http-chunks.js';
import type { DiskInfo } from './inventory.js';
import { ProgressPoster } from './progress-poster.js';
import { remoteSource } from './remote-source.js';
import { remoteTarget } from './remote-target.js';

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
}

export type JobOutcome = { ok: true; end: JobEnd } | { ok: false; cancelled: boolean };

/** Most bytes of a job/start answer (a restore's carries the index in base64). */
const MAX_START_ANSWER = 96 << 20;

type Stage = 'disk' | 'start' | 'read' | 'network' | 'certify' | 'write' | 'finish' | 'end';

function adviceFor(type: AgentJobSpec['type'], stage: Stage, wrote: boolean): string {
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
 * they boot only when chunks go to the appliance). A restore: several frames in flight even on
 * one core.
 */
export const jobWorkers = (type: AgentJobSpec['type']): number => Math.max(type === 'backup' ? 2 : 4, availableParallelism());

/** A backup's threads booted before its first chunk: one per core; the rest join when chunks go to the appliance. */
export const backupWorkersAtStart = (workers: number): number => Math.min(workers, availableParallelism());

export async function runJob(ctx: JobContext): Promise<JobOutcome> {
  const { api, job, log } = ctx;
  const abort = new AbortController();
  const poster = new ProgressPoster(api, log, abort, ctx.progressIntervalMs ?? 500);
  const workers = ctx.workers ?? jobWorkers(job.type);
  let stage: Stage = 'disk';
  let wrote = false;
  try {
    const disk = chooseDisk(ctx.disks, job.disk);
    const path = ctx.devicePath(disk.name);
    log(`job ${job.id}: ${job.type} of disk ${describeDisks([disk])} (${path})`);
    stage = 'start';
    const startedAt = performance.now();
    const start = await api.json<StartAnswer>('POST', AGENT_PATHS.start, { disk: diskIdentity(disk) }, MAX_START_ANSWER);
    if (start?.type !== job.type) throw userError(`the appliance answered job/start of a ${job.type} job with ${JSON.stringify(start?.type)?.slice(0, 40)}: are the agent and the appliance the same version?`);
    if (job.type === 'backup' && start.type === 'backup') {
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
        signal: abort.signal,
        workers,
      });
      stage = 'end';
      await poster.stop();
      log(`restore done: ${formatBytes(report.bytesWritten)} written${report.adapted ? ', partition table adapted to the disk' : ''}${report.grow?.grown ? `, last partition grown with ${report.grow.tool}` : ''}${report.verified ? ', read back and verified' : ''}`);
      const body: EndBody = { ok: true, stage: null, error: null, advice: null, report: { ...report }, wrote: true };
      await api.json('POST', AGENT_PATHS.end, body);
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
    if (stage !== 'end' && stage !== 'finish' && err instanceof LifeboatError && err.kind === 'external' && message.startsWith('the appliance at')) stage = 'network';
    const advice = adviceFor(job.type, stage, wrote);
    log(`FAILED at ${stage}: ${message}`);
    log(advice);
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
