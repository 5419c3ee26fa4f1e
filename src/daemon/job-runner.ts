// Runs the jobs the appliance can do by itself: backup, restore and verify on disks
// docked in the appliance (or disk-image files), with the image engine, live progress
// to every client through the EventHub, the job document written on state changes and
// at most every 10 s. A job's device passes the operator-safety policy (device-policy.ts)
// before the job exists, and is recorded by the kernel's name for it. One job per disk (the
// database refuses a second); cancel marks the job `cancelling`, aborts the engine and
// answers with how the job really ended, in words (`outcome`, `targetIncomplete`); stop()
// interrupts what runs so the next start finds it recorded.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LifeboatError } from '../errors.js';
import { backupImage } from '../imaging/backup.js';
import { describeDisk } from '../imaging/disk.js';
import { formatBytes } from '../format.js';
import { type Manifest, checkPassphrase } from '../imaging/repo/manifest.js';
import { sweepTemp } from '../imaging/repo/gc.js';
import type { ImageStore } from '../imaging/repo/image-store.js';
import { restoreImage } from '../imaging/restore.js';
import { verifyImage } from '../imaging/verify.js';
import type { EngineEvent } from '../imaging/progress.js';
import { type JobDestination, destinationText } from '../api/destination.js';
import type { Job, ManagementStore } from '../db/index.js';
import type { EventHub } from './event-hub.js';
import { syncImages } from './image-sync.js';
import { type DevicePolicyConfig, checkJobDevice } from './device-policy.js';
import { readPassphraseFile } from './passphrase-file.js';

export interface DeviceJobRequest {
  type: 'backup' | 'restore' | 'verify';
  devicePath?: string;
  /** A machine's name: the job waits for it to boot into Lifeboat (the boot services run it). */
  machine?: string;
  /** With machine: a disk serial or device path; none = every disk of the machine. */
  disk?: string;
  scheduleId?: string;
  /** With machine: fail the job when the machine has not booted within this many ms. */
  bootDeadlineMs?: number;
  imageId?: string;
  label?: string;
  /** Never stored or logged: handed to the engine (a backup keeps only its scrypt verifier). */
  passphrase?: string;
  /** A backup without `passphrase`: the file (a schedule's or machine's setting) whose first line protects it, read when the job runs. */
  passphraseFile?: string;
  verify?: boolean;
  /** Check every chunk before the first write; unset: only when the target holds partitions. */
  verifyFirst?: boolean;
  /** A restore onto a larger disk enlarges the last partition and its filesystem. */
  growLast?: boolean;
  /** A machine's job: what the machine does after it (default reboot). */
  end?: 'reboot' | 'poweroff';
  /** A machine's backup: where it goes (absent: the appliance). */
  destination?: JobDestination;
  requestedBy: string;
}

/** What the agent side (agent-jobs.ts) does for the runner: jobs running on a machine's agent. */
export interface AgentJobControl {
  /** Cancels the job when an agent runs it (null: not an agent's job). */
  cancel(jobId: string): Promise<Job | null>;
  /** Interrupts every running agent job. */
  stop(): Promise<void>;
  /** How many jobs agents run now. */
  readonly count: number;
}

export class JobRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Jobs waiting for their machine to boot, with the timer that fails them at their deadline. */
  private readonly waiting = new Map<string, NodeJS.Timeout | null>();

  /** Sends Wake-on-LAN to a machine whose job now waits for its boot (the boot services set it). */
  wakeMachine: ((macs: readonly string[]) => Promise<void>) | null = null;
  /**
   * Checks a backup's share destination before a job exists (main.ts sets it from the
   * daemon's `shares` config: an unknown name throws a clear error). Null: no share is known.
   */
  shareCheck: ((name: string) => void) | null = null;
  /** Jobs an agent runs (main.ts sets it). */
  agentJobs: AgentJobControl | null = null;
  /** Passphrases of machine jobs, in memory only until their agent starts them (never stored: a restart interrupts these jobs anyway). */
  private readonly secrets = new Map<string, string>();

  constructor(
    private readonly db: ManagementStore,
    private readonly images: ImageStore,
    private readonly hub: EventHub,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
    /** Where docked disk-image files live and what the appliance's own disks hold (default: beside the store). */
    private readonly devices: DevicePolicyConfig = { dataDir: dirname(images.root), store: images.root, dockedDir: join(dirname(images.root), 'docked') },
  ) {}

  /** A share destination must be one the daemon's config names (its password file readable); throws why not. */
  checkDestination(destination: JobDestination | undefined): void {
    if (destination?.kind !== 'share') return;
    if (!this.shareCheck) throw new LifeboatError('user', `no share named ${destination.name}: this appliance has no shares in its config (shares: { <name>: { type: smb, unc, username, passwordFile } })`);
    this.shareCheck(destination.name);
  }

  /** Creates the job (refused while the disk is busy) and starts it at once. */
  async submit(asked: DeviceJobRequest): Promise<Job> {
    const away = asked.imageId ? (await this.db.images.find(asked.imageId))?.location : undefined;
    if (away !== undefined) throw new LifeboatError('user', `image ${asked.imageId} is on ${away}, not in the appliance's store: bring it in first with \`lifeboat images import ${asked.imageId} --from <its lifeboat-store directory>\` (the disk docked in the appliance, or the share's localPath)`);
    if (asked.destination && (asked.type !== 'backup' || asked.machine === undefined)) throw new LifeboatError('usage', 'a destination is for a machine\'s backup (its agent writes there): a disk docked in the appliance is backed up into the appliance');
    this.checkDestination(asked.destination);
    if (asked.machine !== undefined) return this.submitForMachine(asked);
    let req = asked;
    if (req.type !== 'verify') {
      if (!req.devicePath) throw new LifeboatError('usage', `a ${req.type} job needs a device`);
      // A device that is not a docked disk or a docked image file, or is in use, is refused before a job
      // exists; the job records the kernel's name for the disk, so every alias of it is one disk.
      req = { ...req, devicePath: checkJobDevice(req.type, req.devicePath, this.devices) };
      if (req.type === 'backup' || existsSync(req.devicePath as string)) describeDisk(req.devicePath as string);
    }
    if (req.type !== 'backup' && !req.imageId) throw new LifeboatError('usage', `a ${req.type} job needs an image`);
    if (req.imageId) this.checkPassphrase(req, await this.images.readManifest(req.imageId));
    if (req.type === 'restore' && req.devicePath && existsSync(req.devicePath)) {
      // Too small is said before a job exists (the engine checks again, exactly, before writing).
      const need = (await this.db.images.find(req.imageId as string))?.minTargetBytes;
      const size = describeDisk(req.devicePath).size;
      if (need !== undefined && size > 0 && size < need) throw new LifeboatError('user', `${req.devicePath} is ${formatBytes(size)} (${size} bytes); image ${req.imageId} needs at least ${formatBytes(need)} (${need} bytes): choose a larger disk`);
    }
    const job = await this.db.jobs.create({
      type: req.type,
      ...(req.devicePath ? { devicePath: req.devicePath } : {}),
      ...(req.imageId ? { imageId: req.imageId } : {}),
      ...(req.scheduleId ? { scheduleId: req.scheduleId } : {}),
      ...(req.label !== undefined ? { label: req.label } : {}),
      requestedBy: req.requestedBy,
    });
    await this.db.events.record({ actor: req.requestedBy, action: `job.${req.type}`, subject: job.id, details: { ...(req.devicePath ? { devicePath: req.devicePath } : {}), ...(req.imageId ? { imageId: req.imageId } : {}) } });
    const abort = new AbortController();
    const done = this.run(job, req, abort.signal)
      .catch((err: unknown) => this.stateNotWritten(job.id, err))
      .finally(() => this.running.delete(job.id));
    this.running.set(job.id, { abort, done });
    return job;
  }

  /**
   * A job on a machine's disk: recorded and left waiting for the machine to boot into
   * Lifeboat's boot OS, whose agent does the work (the boot services and the agent come
   * with the boot issues; until then such a job waits until cancelled or its deadline).
   */
  private async submitForMachine(asked: DeviceJobRequest): Promise<Job> {
    const machine = await this.db.machines.getByName(asked.machine as string);
    let req = asked;
    // A destination's image carries no restore passphrase (its store is not the appliance's): a machine's passphrase file protects its backups into the appliance.
    if (req.type === 'backup' && req.passphrase === undefined && !req.destination) {
      const file = req.passphraseFile ?? machine.passphraseFile;
      // Checked now (the file may change before the machine boots: read again when its backup starts).
      if (file !== undefined) readPassphraseFile(file);
      req = { ...req, ...(file !== undefined ? { passphraseFile: file } : {}) };
    }
    if (req.imageId) {
      this.checkPassphrase(req, await this.images.readManifest(req.imageId));
      const record = await this.db.images.find(req.imageId);
      const need = record?.minTargetBytes ?? record?.diskSize;
      if (need !== undefined && req.disk !== undefined) {
        const disk = (await this.db.disks.listByMachine(machine.id)).find((d) => d.serial === req.disk || d.devicePath === req.disk);
        if (disk && disk.size < need) throw new LifeboatError('user', `disk ${req.disk} of ${machine.name} is ${formatBytes(disk.size)}; image ${req.imageId} needs at least ${formatBytes(need)}: choose a larger disk`);
      }
    }
    const disks = await this.db.disks.listByMachine(machine.id);
    const disk = req.disk === undefined ? undefined : disks.find((d) => d.serial === req.disk || d.devicePath === req.disk);
    if (req.disk !== undefined && !disk && !req.disk.startsWith('/')) {
      throw new LifeboatError('not-found', `${machine.name} has no disk with serial ${req.disk}${disks.length ? ` (its disks: ${disks.map((d) => d.serial ?? d.devicePath).join(', ')})` : ' recorded yet'}: give a serial from \`lifeboat machines show ${machine.name}\` or a device path such as /dev/sda`);
    }
    const job = await this.db.jobs.create({
      type: req.type,
      machineId: machine.id,
      ...(disk?.serial ? { diskSerial: disk.serial } : req.disk !== undefined ? { devicePath: disk?.devicePath ?? req.disk } : {}),
      ...(req.imageId ? { imageId: req.imageId } : {}),
      ...(req.scheduleId ? { scheduleId: req.scheduleId } : {}),
      ...(req.label !== undefined ? { label: req.label } : {}),
      options: machineJobOptions(req),
      requestedBy: req.requestedBy,
    });
    if (req.passphrase !== undefined) this.secrets.set(job.id, req.passphrase);
    await this.db.events.record({ actor: req.requestedBy, action: `job.${req.type}`, subject: job.id, details: { machine: machine.name, ...(req.disk ? { disk: req.disk } : {}), ...(req.imageId ? { imageId: req.imageId } : {}) } });
    if (req.passphraseFile !== undefined) this.passphraseFiles.set(job.id, req.passphraseFile);
    if (req.destination && (req.passphraseFile ?? machine.passphraseFile) !== undefined) {
      // Said, not silently dropped: the machine's (or schedule's) passphrase protects its images in the appliance's store only.
      await this.db.jobs.appendLog(job.id, { level: 'warning', message: `${machine.name}'s backups are protected by a restore passphrase, but an image written to ${destinationText(req.destination)} carries none (its store is not the appliance's): keep that disk or share safe` }).catch(() => {});
    }
    const waiting = await this.db.jobs.transition(job.id, 'wait-for-boot');
    this.hub.publish({ type: 'job-state', jobId: job.id, state: waiting.state });
    const timer = req.bootDeadlineMs === undefined ? null : setTimeout(() => void this.bootDeadlinePassed(job.id, machine.name, req.bootDeadlineMs as number), req.bootDeadlineMs);
    timer?.unref();
    this.waiting.set(job.id, timer);
    this.log('job waiting for its machine to boot', { job: job.id, machine: machine.name });
    if (this.wakeMachine) {
      this.wakeMachine(machine.macs).then(
        () => this.hub.publish({ type: 'log', jobId: job.id, level: 'info', message: `Wake-on-LAN sent to ${machine.name} (${machine.macs.join(', ')})`, at: new Date().toISOString() }),
        (err: Error) => this.hub.publish({ type: 'log', jobId: job.id, level: 'warning', message: `Wake-on-LAN to ${machine.name} failed: ${err.message}`, at: new Date().toISOString() }),
      );
    }
    return waiting;
  }

  /** Which passphrase file protects a waiting machine backup (in memory: a restart interrupts such jobs anyway). */
  private readonly passphraseFiles = new Map<string, string>();

  /**
   * The passphrase a machine's backup job is protected with, read from its file now (when
   * the machine's agent starts the backup); undefined when the job has none. Throws a user
   * error with what to fix when the file is missing or unsafe: fail the job before reading the disk.
   */
  passphraseOf(jobId: string): string | undefined {
    const file = this.passphraseFiles.get(jobId);
    return file === undefined ? undefined : readPassphraseFile(file);
  }

  /** A protected image's restore is refused before a job exists without its passphrase, or with a wrong one. */
  private checkPassphrase(req: DeviceJobRequest, manifest: Manifest): void {
    if (req.type !== 'restore' || !manifest.passphrase) return;
    if (req.passphrase === undefined) throw new LifeboatError('user', `image ${manifest.id} is protected by a restore passphrase: give it with --passphrase-file <file> (its first line)`);
    if (!checkPassphrase(manifest.passphrase, req.passphrase)) throw new LifeboatError('user', `wrong restore passphrase for image ${manifest.id}: no job was created, nothing was written`);
  }

  /**
   * A machine's agent started the job: it no longer waits for a boot (its deadline is off).
   * Returns the job's passphrase, if it was given one or its schedule/machine names a
   * passphrase file (read now; it leaves the runner's memory), or what is wrong with that file.
   */
  claimWaiting(jobId: string): { passphrase?: string; problem?: string } {
    const timer = this.waiting.get(jobId);
    if (timer) clearTimeout(timer);
    this.waiting.delete(jobId);
    const given = this.secrets.get(jobId);
    this.secrets.delete(jobId);
    if (given !== undefined) return { passphrase: given };
    try {
      const passphrase = this.passphraseOf(jobId);
      return passphrase === undefined ? {} : { passphrase };
    } catch (err) {
      if (!(err instanceof LifeboatError)) throw err;
      return { problem: `${err.message}; no image was made` };
    } finally {
      this.passphraseFiles.delete(jobId);
    }
  }

  private async bootDeadlinePassed(jobId: string, machine: string, ms: number): Promise<void> {
    this.secrets.delete(jobId);
    this.passphraseFiles.delete(jobId);
    if (!this.waiting.delete(jobId)) return;
    const minutes = Math.round(ms / 60_000);
    const within = minutes >= 1 ? `${minutes} min` : `${Math.round(ms / 1000)} s`;
    const job = await this.db.jobs.find(jobId);
    const m = job?.machineId ? await this.db.machines.findById(job.machineId) : null;
    const error = bootDeadlineAdvice(machine, within, m?.bootStage && job && m.bootStage.at >= job.createdAt ? m.bootStage : null);
    const failed = await this.db.jobs.transition(jobId, 'fail', { error }).catch(() => null);
    if (failed) {
      this.hub.publish({ type: 'job-state', jobId, state: failed.state, error });
      this.log('job failed: machine did not boot', { job: jobId, machine });
    }
  }

  /**
   * A job whose state could not be written (the database's disk is full…): it ends failed
   * for every client watching, the database refuses writes from now on (the daemon keeps
   * answering reads, and says why in /health and the Appliance screen), and the next start
   * records it (a running job becomes interrupted, a queued one too). Never a crash.
   */
  private stateNotWritten(jobId: string, err: unknown): void {
    const error = `the job's state could not be written to the management database (${(err as Error)?.message ?? String(err)}); the daemon is read-only until that is fixed and it is restarted`;
    this.unrecorded.set(jobId, error);
    this.hub.publish({ type: 'job-state', jobId, state: 'failed', error });
    this.log('job state not written', { job: jobId, error });
  }

  /**
   * Asks a running job to stop and answers only when it has: the job shows `cancelling` to
   * every client meanwhile, and the answer is what really happened (cancelled, or done when
   * the engine finished first). A waiting or queued job is cancelled at once.
   */
  async cancel(jobId: string, actor: string): Promise<Job> {
    const job = await this.db.jobs.get(jobId);
    await this.db.events.record({ actor, action: 'job.cancel', subject: jobId, details: {} });
    const byAgent = await this.agentJobs?.cancel(jobId);
    if (byAgent) return byAgent;
    const r = this.running.get(jobId);
    if (r) {
      if (job.state === 'running') {
        const cancelling = await this.db.jobs.transition(jobId, 'request-cancel').catch(() => null);
        if (cancelling) this.hub.publish({ type: 'job-state', jobId, state: cancelling.state });
      }
      r.abort.abort();
      await r.done;
      return this.db.jobs.get(jobId);
    }
    const timer = this.waiting.get(jobId);
    if (timer) clearTimeout(timer);
    this.waiting.delete(jobId);
    this.secrets.delete(jobId);
    this.passphraseFiles.delete(jobId);
    const cancelled = await this.db.jobs.transition(job.id, 'cancel', { outcome: 'cancelled before it started: nothing was read or written' });
    this.hub.publish({ type: 'job-state', jobId, state: cancelled.state });
    return cancelled;
  }

  /** Interrupts every running job and waits until each has written its final state. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const [jobId, timer] of this.waiting) {
      if (timer) clearTimeout(timer);
      // Their boot tokens die with this process: a restart cannot pick them up.
      await this.db.jobs.transition(jobId, 'interrupt', { error: 'the daemon stopped while the job waited for its machine' }).catch(() => {});
    }
    this.waiting.clear();
    this.secrets.clear();
    this.passphraseFiles.clear();
    await this.agentJobs?.stop();
    for (const r of this.running.values()) r.abort.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Jobs whose end could not be written: what clients are told instead of the stale record. */
  private readonly unrecorded = new Map<string, string>();

  /** `job` as it really stands: failed when its end could not be recorded. */
  overlay<J extends { id: string; state: string; error?: string }>(job: J): J {
    const error = this.unrecorded.get(job.id);
    return error === undefined ? job : { ...job, state: 'failed', error };
  }

  /** Jobs running now: the engine's here, and those machines' agents run. */
  get active(): number {
    return this.running.size + (this.agentJobs?.count ?? 0);
  }

  private stopping = false;

  /** A log line of a job: to every client now, and into the job's record for later. */
  private note(jobId: string, level: 'info' | 'warning' | 'error', message: string): void {
    const at = new Date().toISOString();
    this.hub.publish({ type: 'log', jobId, level, message, at });
    void this.db.jobs.appendLog(jobId, { level, message, at }).catch(() => {});
  }

  private async run(job: Job, req: DeviceJobRequest, signal: AbortSignal): Promise<void> {
    const started = await this.db.jobs.transition(job.id, 'start');
    this.hub.publish({ type: 'job-state', jobId: job.id, state: started.state });
    this.log('job started', { job: job.id, type: job.type, device: req.devicePath, image: req.imageId });
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'progress') {
        this.hub.publish({ type: 'job-progress', jobId: job.id, progress: e });
        void this.db.jobs.checkpoint(job.id, { bytesDone: e.bytesDone, bytesTotal: e.bytesTotal }).catch(() => {});
      } else if (e.type === 'warning') {
        this.note(job.id, 'warning', e.message);
      } else if (e.type === 'start') {
        this.note(job.id, 'info', `${e.operation} ${e.imageId}: ${e.source} -> ${e.target || '(check)'}${e.parent ? `, against ${e.parent}` : ''}`);
      }
    };
    const targetExisted = req.type === 'restore' && existsSync(req.devicePath as string);
    let writing = false;
    try {
      let stats: Record<string, number> = {};
      let imageId: string | undefined;
      if (req.type === 'backup') {
        // A schedule's passphrase file is read now, before the disk is: a missing or unsafe file fails the job with what to fix.
        const passphrase = req.passphrase ?? (req.passphraseFile !== undefined ? readPassphraseFile(req.passphraseFile) : undefined);
        await sweepTemp(this.images).catch(() => null); // what killed backups left; skipped while another backup runs
        const m = await backupImage({ store: this.images, source: req.devicePath as string, ...(req.label ? { label: req.label } : {}), ...(passphrase !== undefined ? { passphrase } : {}), onEvent, signal });
        // One bad image in the store (or this one refused by the database) never fails a job whose image committed.
        const sync = await syncImages(this.db, this.images, (_level, msg, fields) => this.log(msg, fields));
        const left = [...sync.skipped, ...sync.damaged].find((s) => s.id === m.id);
        if (left) this.hub.publish({ type: 'log', jobId: job.id, level: 'warning', message: `image ${m.id} is committed but not listed: ${left.error}`, at: new Date().toISOString() });
        stats = { ...m.stats };
        imageId = m.id;
      } else if (req.type === 'restore') {
        const onFirstWrite = () => {
          writing = true; // from here a stop leaves the target part old, part new
        };
        // An existing disk with partitions has something to lose: every chunk is checked before the first write.
        const verifyFirst = req.verifyFirst ?? 'if-partitioned';
        const r = await restoreImage({ store: this.images, imageId: req.imageId as string, target: req.devicePath as string, verify: req.verify === true, verifyFirst, growLast: req.growLast === true, ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}), onEvent, signal, onFirstWrite });
        // What was asked for and done: read back (verified 1), the last partition grown (grown 1) or not (0).
        stats = { bytesWritten: r.bytesWritten, bytesTotal: r.bytesTotal, durationMs: r.durationMs, ...(r.verified ? { verified: 1 } : {}), ...(r.grow ? { grown: r.grow.grown ? 1 : 0 } : {}) };
      } else {
        const r = await verifyImage(this.images, req.imageId as string, { onEvent, signal });
        stats = { chunksChecked: r.chunksChecked, problems: r.problems.length, durationMs: r.durationMs };
        if (!r.ok) throw new LifeboatError('integrity', `image ${req.imageId} failed verification: ${r.problems.map((p) => p.message).join('; ')}`);
      }
      // Asked to stop too late: the engine had finished; the job says so rather than "cancelled".
      const late = signal.aborted && !this.stopping ? { outcome: `the ${job.type} finished before the cancel took effect` } : {};
      const done = await this.db.jobs.transition(job.id, 'succeed', { stats, ...(imageId ? { imageId } : {}), ...late });
      this.hub.publish({ type: 'job-state', jobId: job.id, state: done.state });
      this.log('job done', { job: job.id });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const event = signal.aborted ? (this.stopping ? 'interrupt' : 'cancel') : 'fail';
      const ending = endingOf(job, req, event, { targetExisted, writing });
      const reached = this.hub.progressOf(job.id);
      const progress = reached && reached.bytesTotal > 0 ? { progress: { bytesDone: Math.min(reached.bytesDone, reached.bytesTotal), bytesTotal: reached.bytesTotal } } : {};
      const ended = await this.db.jobs.transition(job.id, event, { ...(event === 'fail' ? { error: message } : event === 'interrupt' ? { error: 'the daemon stopped while the job ran' } : {}), ...ending, ...progress });
      this.hub.publish({ type: 'job-state', jobId: job.id, state: ended.state, ...(ended.error ? { error: ended.error } : {}) });
      this.log(`job ${ended.state}`, { job: job.id, error: message });
    }
  }
}

/** The options a machine's job keeps for its agent (the hello answer's job spec). Pure. */
export function machineJobOptions(req: Pick<DeviceJobRequest, 'type' | 'end' | 'verify' | 'verifyFirst' | 'growLast' | 'destination'>): NonNullable<Job['options']> {
  return {
    end: req.end ?? 'reboot',
    ...(req.type === 'backup' && req.destination ? { destination: req.destination } : {}),
    ...(req.type === 'restore' ? { verify: req.verify === true, growLast: req.growLast === true, ...(req.verifyFirst !== undefined ? { verifyFirst: req.verifyFirst } : {}) } : {}),
  };
}

/**
 * What a job that stopped early leaves behind, in words: a backup leaves no image; a restore
 * that had begun writing leaves its target incomplete (a new file it created is removed);
 * a verify leaves the image unchecked. Pure.
 */
export function endingOf(job: Job, req: DeviceJobRequest, event: 'cancel' | 'interrupt' | 'fail', at: { targetExisted: boolean; writing: boolean }): { outcome: string; targetIncomplete?: boolean } {
  const how = event === 'cancel' ? 'cancelled' : event === 'interrupt' ? 'interrupted' : 'failed';
  if (job.type === 'backup') return { outcome: `${how}: no image was made (nothing was committed to the store)` };
  if (job.type === 'verify') return { outcome: `${how}: image ${req.imageId} was not fully checked` };
  const target = req.devicePath ?? 'the target';
  if (!at.writing) return { outcome: `${how} before anything was written to ${target}${at.targetExisted ? ': it is unchanged' : ''}`, targetIncomplete: false };
  if (!at.targetExisted) return { outcome: `${how}: the new file ${target} was removed`, targetIncomplete: false };
  return { outcome: `${how}: ${target} is incomplete — part of it holds image ${req.imageId}, part what was there before; do not use it: restore it again`, targetIncomplete: true };
}

/** What to check when a machine did not boot into Lifeboat in time, by the last boot stage it reached during the job. */
export function bootDeadlineAdvice(machine: string, within: string, stage: { stage: string; at: string; detail?: string } | null): string {
  const head = `${machine} did not boot into Lifeboat within ${within}`;
  if (stage === null) return `${head}, and it did not ask for a network boot: check that it is powered, that Wake-on-LAN is enabled in its firmware and that it network-boots first`;
  switch (stage.stage) {
    case 'dhcp':
      return `${head}: it asked DHCP (${stage.at}) but never fetched its loader: check the boot file its firmware got (\`lifeboat machines show ${machine}\`), TFTP on the boot interface, and for UEFI with Secure Boot its loader setting`;
    case 'loader':
      return `${head}: it fetched its loader (${stage.detail ?? 'loader'}, ${stage.at}) but never asked for its boot script: check the HTTP boot port and, for Secure Boot, that GRUB can reach the appliance over TFTP`;
    case 'script':
      return `${head}: it got its boot script (${stage.at}) but never fetched the boot OS: build it (\`lifeboat bootos build\`) and check the boot root`;
    case 'kernel':
      return `${head}: it fetched the boot OS (${stage.at}) but its agent never said hello: watch its console for what /init reports (network, drivers, the appliance's address)`;
    default:
      return `${head}: its last boot stage was ${stage.stage} at ${stage.at}: see its console`;
  }
}
