// Machine jobs while an agent runs them: the lifecycle after the boot. `start` moves a job
// from waiting-for-boot (or booting) to running, with the disk the agent chose (checked
// against the job's); a backup opens its chunk session, a restore certifies and holds its
// image. Every request marks the agent alive; one silent for too long fails its job with
// advice. An operator's cancel marks the job cancelling: the agent's next request is told so
// (409), and the job ends cancelled when the agent says it stopped (`end`) or after a
// timeout. A job ends exactly once: its token is revoked and what it held (session, image
// hold) released whatever way it ended. Daemon stop interrupts what runs.
import type { DiskIdentity, EndBody, FinishAnswer, FinishBody, ProgressBody, StartAnswer, StoredBody } from '../api/agent-wire.js';
import type { JobDestination } from '../api/destination.js';
import { type ShareResolver, destinationStart, storedImageFacts, storedLocation } from './agent-destination.js';
import { LifeboatError } from '../errors.js';
import { type Job, type ManagementStore, imageFactsFromManifest } from '../db/index.js';
import { ProgressMeter } from '../imaging/progress.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import type { AgentTokens } from './agent-tokens.js';
import { AgentRefusal } from './agent-http.js';
import { BackupUpload } from './agent-backup.js';
import { RestoreServe } from './agent-restore.js';
import type { AgentConfig } from './config.js';
import type { EventHub } from './event-hub.js';
import { syncImages } from './image-sync.js';
import { endingOf } from './job-runner.js';
import { diskMismatch, parentOf } from './agent-disk.js';

export interface AgentJob {
  readonly jobId: string;
  readonly type: 'backup' | 'restore';
  readonly machine: { id: string; name: string };
  readonly disk: DiskIdentity;
  readonly answer: StartAnswer;
  readonly backup: BackupUpload | null;
  readonly restore: RestoreServe | null;
  /** A backup into a destination (the agent writes the image there and reports it with job/stored). */
  readonly destination: JobDestination | null;
  readonly label: string | null;
  lastSeen: number;
  cancelling: boolean;
  cancelTimer: NodeJS.Timeout | null;
  /** A restore reported bytes written: stopping now leaves the target incomplete. */
  wrote: boolean;
  readonly meter: ProgressMeter;
}

type Log = (message: string, fields?: Record<string, unknown>) => void;

export class AgentJobs {
  private readonly jobs = new Map<string, AgentJob>();
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    private readonly o: {
      db: ManagementStore;
      images: ImageStore;
      hub: EventHub;
      tokens: AgentTokens;
      config: AgentConfig;
      /** The runner's jobs waiting for a boot: the agent started this one (its deadline is off; its passphrase, if any). */
      claimWaiting: (jobId: string) => { passphrase?: string; problem?: string };
      /** A share destination's name → what the agent mounts (src/daemon/shares.ts); absent: no shares. */
      resolveShare?: ShareResolver;
      log: Log;
      now?: () => number;
    },
  ) {
    this.watchdog = setInterval(() => void this.silent(), Math.max(250, Math.min(15_000, o.config.silenceMs / 4)));
    this.watchdog.unref();
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** The running job of a token's scope; a cancelled one answers 409, an ended or unknown one 401. Marks the agent alive. */
  running(jobId: string, opts: { ending?: boolean } = {}): AgentJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new AgentRefusal(409, 'the job has not started: POST job/start first');
    job.lastSeen = this.now();
    this.o.tokens.renewJob(jobId);
    if (job.cancelling && !opts.ending) throw new AgentRefusal(409, 'the operator cancelled the job: stop and report nothing more', { cancelled: true });
    return job;
  }

  get count(): number {
    return this.jobs.size;
  }

  /** An agent runs this job (it started). */
  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** Throws 409 `cancelled` when the job is being cancelled (any request of its agent but `end`). */
  assertNotCancelled(jobId: string): void {
    if (this.jobs.get(jobId)?.cancelling) throw new AgentRefusal(409, 'the operator cancelled the job: stop and report nothing more', { cancelled: true });
  }

  /** Starts in progress: a retry that arrives meanwhile waits for the same answer. */
  private readonly starting = new Map<string, Promise<StartAnswer>>();

  /** POST job/start: the job runs on the disk the agent chose. Asked again (a retry), the same answer. */
  async start(jobId: string, disk: DiskIdentity): Promise<StartAnswer> {
    const pending = this.starting.get(jobId);
    if (pending) {
      await pending.catch(() => {});
      return this.start(jobId, disk);
    }
    const started = this.startOnce(jobId, disk);
    this.starting.set(jobId, started);
    try {
      return await started;
    } finally {
      this.starting.delete(jobId);
    }
  }

  private async startOnce(jobId: string, disk: DiskIdentity): Promise<StartAnswer> {
    const known = this.jobs.get(jobId);
    if (known) {
      this.running(jobId);
      if (known.disk.name !== disk.name || known.disk.serial !== disk.serial || known.disk.sizeBytes !== disk.sizeBytes) throw new AgentRefusal(409, `the job already runs on disk ${known.disk.name}: it cannot move to ${disk.name}`);
      return known.answer;
    }
    const job = await this.o.db.jobs.get(jobId);
    if (job.type !== 'backup' && job.type !== 'restore') throw new AgentRefusal(409, `a ${job.type} job has nothing for an agent to do`);
    if (job.state !== 'waiting-for-boot' && job.state !== 'booting') throw new AgentRefusal(job.state === 'cancelling' ? 409 : 401, `the job is ${job.state}: it cannot start again`);
    const m = await this.o.db.machines.getById(job.machineId as string);
    const { passphrase, problem } = this.o.claimWaiting(jobId);
    const mismatch = diskMismatch(job, disk, m.name) ?? problem ?? null;
    if (mismatch) throw await this.failBeforeStart(job, mismatch);
    let backup: BackupUpload | null = null;
    let restore: RestoreServe | null = null;
    const destination = job.type === 'backup' ? (job.options?.destination ?? null) : null;
    let answer: StartAnswer;
    try {
      if (destination) {
        answer = destinationStart(destination, { host: m.name, label: job.label ?? null, resolveShare: this.o.resolveShare ?? null });
      } else if (job.type === 'backup') {
        const parentId = parentOf((await this.o.db.images.list({ machineId: m.id })).filter((i) => i.location === undefined), { machineId: m.id, disk, chunkSize: this.o.images.config.chunkSize });
        const parent: Manifest | null = parentId ? await this.o.images.readManifest(parentId).catch(() => null) : null;
        backup = await BackupUpload.open({ store: this.o.images, disk, parent, label: job.label ?? null, host: m.name, ...(passphrase !== undefined ? { passphrase } : {}) });
      } else {
        restore = await RestoreServe.open({ store: this.o.images, imageId: job.imageId as string, disk, ...(passphrase !== undefined ? { passphrase } : {}) });
      }
    } catch (err) {
      if (!(err instanceof LifeboatError) || err.kind === 'bug') throw err;
      throw await this.failBeforeStart(job, err.message, err.kind === 'integrity' ? 422 : 409);
    }
    answer ??= (backup?.answer ?? restore?.answer) as StartAnswer;
    const entry: AgentJob = { jobId, type: job.type, machine: { id: m.id, name: m.name }, disk, answer, backup, restore, destination, label: job.label ?? null, lastSeen: this.now(), cancelling: false, cancelTimer: null, wrote: false, meter: new ProgressMeter(job.type, backup?.imageId ?? (job.imageId as string), this.now()) };
    this.jobs.set(jobId, entry);
    try {
      const started = await this.o.db.jobs.transition(jobId, 'start', { agentDisk: { name: disk.name, sizeBytes: disk.sizeBytes, logicalSectorSize: disk.logicalSectorSize, physicalSectorSize: disk.physicalSectorSize, ...(disk.model ? { model: disk.model } : {}), ...(disk.serial ? { serial: disk.serial } : {}) } });
      this.o.hub.publish({ type: 'job-state', jobId, state: started.state });
    } catch (err) {
      this.jobs.delete(jobId);
      await backup?.close();
      restore?.close();
      throw err;
    }
    const what = destination ? `into ${storedLocation(destination)}` : backup ? `image ${backup.imageId}${backup.answer.parent ? ` against ${backup.answer.parent.id}` : ' (full)'}` : `image ${job.imageId}`;
    this.note(jobId, 'info', `${m.name}: the agent started the ${job.type} on /dev/${disk.name}${disk.serial ? ` (serial ${disk.serial})` : ''}: ${what}`);
    this.o.log('agent job started', { job: jobId, machine: m.name, disk: disk.name });
    return answer;
  }

  /** A job that cannot start on what the agent reported fails at once (its agent then reboots into the local disk's next boot). */
  private async failBeforeStart(job: Job, error: string, status = 409): Promise<AgentRefusal> {
    await this.failWaiting(job, error);
    return new AgentRefusal(status, error);
  }

  private async failWaiting(job: Job, error: string): Promise<void> {
    this.o.tokens.revokeJob(job.id);
    const failed = await this.o.db.jobs.transition(job.id, 'fail', { error, ...endingOf(job, { type: job.type as 'backup', requestedBy: job.requestedBy, ...(job.imageId ? { imageId: job.imageId } : {}) }, 'fail', { targetExisted: true, writing: false }) }).catch(() => null);
    if (failed) this.o.hub.publish({ type: 'job-state', jobId: job.id, state: failed.state, error });
  }

  /** POST job/progress: live progress for every client, a checkpoint in the database. */
  progress(job: AgentJob, counters: ProgressBody): void {
    if (job.type === 'restore' && counters.bytesDone > 0) job.wrote = true;
    const e = job.meter.sample(counters, this.now()); // at most 4 a second to every client, however often the agent reports
    if (!e) return;
    this.o.hub.publish({ type: 'job-progress', jobId: job.jobId, progress: e });
    void this.o.db.jobs.checkpoint(job.jobId, { bytesDone: counters.bytesDone, bytesTotal: counters.bytesTotal }).catch(() => {});
  }

  /** POST job/finish: the backup's image is checked and committed; the job is done. A refusal fails the job. */
  async finish(job: AgentJob, body: FinishBody): Promise<FinishAnswer> {
    const backup = job.backup;
    if (!backup) throw new AgentRefusal(409, 'a restore ends with job/end, not job/finish');
    if (backup.finishing) throw new AgentRefusal(409, 'the backup is already finishing');
    let result: Awaited<ReturnType<BackupUpload['finish']>>;
    try {
      result = await backup.finish(body);
    } catch (err) {
      if (!(err instanceof LifeboatError) || err.kind === 'bug') throw err;
      await this.end(job, 'fail', { error: `the backup was refused at finish: ${err.message}` });
      throw new AgentRefusal(err.kind === 'integrity' ? 422 : 409, err.message);
    }
    const { manifest, stages } = result;
    const recording = performance.now();
    await this.o.db.images.record(imageFactsFromManifest(manifest), { machineId: job.machine.id }).catch((err: Error) => this.note(job.jobId, 'warning', `image ${manifest.id} is committed but the database refused it: ${err.message}`));
    await syncImages(this.o.db, this.o.images, (_l, msg, fields) => this.o.log(msg, fields)).catch(() => null);
    const ms = (v: number) => `${Math.round(v)} ms`;
    const { frames, ms: checking } = backup.checked;
    this.note(job.jobId, 'info', `finish: ${[...stages, ['database', performance.now() - recording] as const].map(([k, v]) => `${k} ${ms(v)}`).join(', ')}; ${frames} frame(s) checked (decode + SHA-256) during the backup, ${ms(checking)} in all`);
    const last = job.meter.sample({ bytesDone: manifest.diskSize, bytesTotal: manifest.diskSize, bytesNew: manifest.stats.bytesNew, bytesReused: manifest.stats.bytesReused, bytesZero: manifest.stats.bytesZero, storedBytes: manifest.stats.storedBytesNew, chunksDone: manifest.chunkCount, chunksTotal: manifest.chunkCount }, this.now(), true);
    if (last) this.o.hub.publish({ type: 'job-progress', jobId: job.jobId, progress: last });
    const stats: Record<string, number> = {};
    for (const [k, v] of Object.entries(manifest.stats)) if (typeof v === 'number' && Number.isFinite(v)) stats[k] = v;
    Object.assign(stats, backup.frameFigures); // the wire's own figures: a resumed upload sends no frame twice
    await this.end(job, 'succeed', { stats, imageId: manifest.id, ...(job.cancelling ? { outcome: 'the backup finished before the cancel took effect' } : {}) });
    return result.answer;
  }

  /** POST job/stored: a backup into a destination committed there; the appliance records the image with its location. */
  async stored(job: AgentJob, body: StoredBody): Promise<void> {
    const destination = job.destination;
    if (!destination) throw new AgentRefusal(409, 'this backup goes into the appliance: it ends with job/finish');
    let facts: ReturnType<typeof storedImageFacts>;
    try {
      facts = storedImageFacts(body, { disk: job.disk, host: job.machine.name, label: job.label });
    } catch (err) {
      if (!(err instanceof LifeboatError) || err.kind === 'bug') throw err;
      await this.end(job, 'fail', { error: `the agent's report of the image was refused: ${err.message}` });
      throw new AgentRefusal(422, err.message);
    }
    const location = storedLocation(destination);
    try {
      await this.o.db.images.record(facts, { machineId: job.machine.id, location });
    } catch (err) {
      if (!(err instanceof LifeboatError) || err.kind === 'bug') throw err;
      await this.end(job, 'fail', { error: `image ${facts.id} is on ${location}, but the database refused its record: ${err.message}` });
      throw new AgentRefusal(422, err.message);
    }
    this.note(job.jobId, 'info', `${job.machine.name}: image ${facts.id} committed on ${location}${facts.parent ? ` (incremental to ${facts.parent})` : ' (full)'}; \`lifeboat images import ${facts.id} --from <dir>\` brings it into the appliance`);
    const stats: Record<string, number> = {};
    for (const [k, v] of Object.entries(body.stats)) if (Number.isFinite(v)) stats[k] = v;
    await this.end(job, 'succeed', { stats, imageId: facts.id, ...(job.cancelling ? { outcome: 'the backup finished before the cancel took effect' } : {}) });
  }

  /** POST job/end: how the job ended at the agent. A backup's success is job/finish, never this. */
  async agentEnded(job: AgentJob, body: EndBody): Promise<void> {
    if (job.type === 'backup' && body.ok) throw new AgentRefusal(400, 'a backup ends well with job/finish; job/end reports only a failure');
    if (job.backup?.finishing) throw new AgentRefusal(409, 'the backup is finishing');
    if (job.type === 'restore' && body.wrote) job.wrote = true;
    const report: Record<string, number> = {};
    for (const [k, v] of Object.entries(body.report ?? {})) if (typeof v === 'number' && Number.isFinite(v)) report[k] = v;
    if (job.cancelling) return void (await this.end(job, 'cancel', {}));
    if (body.ok) return void (await this.end(job, 'succeed', { stats: report }));
    const error = `the agent on ${job.machine.name} failed${body.stage ? ` at ${body.stage}` : ''}: ${body.error ?? 'no reason given'}${body.advice ? ` — ${body.advice}` : ''}`;
    await this.end(job, 'fail', { error, ...(Object.keys(report).length ? { stats: report } : {}) });
  }

  /**
   * POST job/end before job/start: the agent failed before it began (no such disk, a
   * driver missing…). The job fails with what the agent said; its next boot is the local disk.
   */
  async endBeforeStart(jobId: string, body: EndBody): Promise<void> {
    const job = await this.o.db.jobs.get(jobId);
    if (job.state !== 'waiting-for-boot' && job.state !== 'booting') throw new AgentRefusal(401, `the job is ${job.state}: nothing to end`);
    if (body.ok) throw new AgentRefusal(400, 'the job has not started: job/end before job/start reports only a failure');
    const m = await this.o.db.machines.getById(job.machineId as string);
    this.o.claimWaiting(jobId);
    const error = `the agent on ${m.name} failed before the job started${body.stage ? ` (at ${body.stage})` : ''}: ${body.error ?? 'no reason given'}${body.advice ? ` — ${body.advice}` : ''}`;
    await this.failWaiting(job, error);
  }

  /** A misbehaving agent (a false digest, an oversized frame…): its own job fails with the reason. */
  async misbehaved(job: AgentJob, reason: string): Promise<void> {
    await this.end(job, 'fail', { error: `the agent on ${job.machine.name} sent what the appliance refused: ${reason}` });
  }

  /** The operator cancels: the job is cancelling until its agent says it stopped, or the timeout. Null: no agent runs it. */
  async cancel(jobId: string): Promise<Job | null> {
    const job = this.jobs.get(jobId);
    if (!job) return null;
    if (!job.cancelling) {
      job.cancelling = true;
      const cancelling = await this.o.db.jobs.transition(jobId, 'request-cancel').catch(() => null);
      if (cancelling) this.o.hub.publish({ type: 'job-state', jobId, state: cancelling.state });
      const timedOut = () => {
        // A finish under way ends the job itself (done, or failed): never cut it in the middle.
        if (job.backup?.finishing) return void (job.cancelTimer = setTimeout(timedOut, 1000));
        void this.end(job, 'cancel', {}, `the agent did not confirm within ${Math.round(this.o.config.cancelMs / 1000)} s`).catch(() => {});
      };
      job.cancelTimer = setTimeout(timedOut, this.o.config.cancelMs);
      job.cancelTimer.unref();
    }
    return this.o.db.jobs.get(jobId);
  }

  /** Fails every running job whose agent has been silent too long. */
  private async silent(): Promise<void> {
    const now = this.now();
    for (const job of [...this.jobs.values()]) {
      if (now - job.lastSeen < this.o.config.silenceMs || job.backup?.finishing) continue;
      const minutes = this.o.config.silenceMs / 60_000;
      const error = `the agent on ${job.machine.name} went silent: no request for ${minutes >= 1 ? `${Math.round(minutes)} min` : `${Math.round(this.o.config.silenceMs / 1000)} s`} (last at ${new Date(job.lastSeen).toISOString()}); check the machine's console and its network link, then start the job again`;
      await this.end(job, 'fail', { error }).catch(() => {});
    }
  }

  /** Daemon stop: every running agent job is interrupted. */
  async stop(): Promise<void> {
    clearInterval(this.watchdog);
    await Promise.all([...this.jobs.values()].map((job) => this.end(job, 'interrupt', { error: 'the daemon stopped while the agent ran the job: start it again' }).catch(() => {})));
  }

  /** Ends a job once: off the map, token revoked, what it held released, the state written and published. */
  private async end(job: AgentJob, event: 'succeed' | 'fail' | 'cancel' | 'interrupt', details: { error?: string; stats?: Record<string, number>; imageId?: string; outcome?: string }, why?: string): Promise<void> {
    if (this.jobs.get(job.jobId) !== job) return;
    this.jobs.delete(job.jobId);
    if (job.cancelTimer) clearTimeout(job.cancelTimer);
    this.o.tokens.revokeJob(job.jobId);
    await job.backup?.close().catch(() => {});
    job.restore?.close();
    const record = await this.o.db.jobs.get(job.jobId);
    const ending = event === 'succeed' ? {} : endingOf(record, { type: job.type, requestedBy: record.requestedBy, devicePath: `/dev/${job.disk.name} of ${job.machine.name}`, ...(record.imageId ? { imageId: record.imageId } : {}) }, event, { targetExisted: true, writing: job.wrote });
    const reached = this.o.hub.progressOf(job.jobId);
    const progress = event !== 'succeed' && reached && reached.bytesTotal > 0 ? { progress: { bytesDone: Math.min(reached.bytesDone, reached.bytesTotal), bytesTotal: reached.bytesTotal } } : {};
    const ended = await this.o.db.jobs.transition(job.jobId, event, { ...ending, ...details, ...progress });
    this.o.hub.publish({ type: 'job-state', jobId: job.jobId, state: ended.state, ...(ended.error ? { error: ended.error } : {}) });
    if (why) this.note(job.jobId, 'warning', `cancelled: ${why}`);
    this.o.log(`agent job ${ended.state}`, { job: job.jobId, machine: job.machine.name, ...(ended.error ? { error: ended.error } : {}) });
  }

  private note(jobId: string, level: 'info' | 'warning' | 'error', message: string): void {
    const at = new Date().toISOString();
    this.o.hub.publish({ type: 'log', jobId, level, message, at });
    void this.o.db.jobs.appendLog(jobId, { level, message, at }).catch(() => {});
  }
}
