// Runs the jobs the appliance can do by itself: backup, restore and verify on disks
// docked in the appliance (or disk-image files), with the image engine, live progress
// to every client through the EventHub, the job document written on state changes and
// at most every 10 s. One job per disk (the database refuses a second); cancel aborts
// the engine cleanly; stop() interrupts what runs so the next start finds it recorded.
import { existsSync } from 'node:fs';
import { LifeboatError } from '../errors.js';
import { backupImage } from '../imaging/backup.js';
import { describeDisk } from '../imaging/disk.js';
import type { Store } from '../imaging/repo/store.js';
import { restoreImage } from '../imaging/restore.js';
import { verifyImage } from '../imaging/verify.js';
import type { EngineEvent } from '../imaging/progress.js';
import { type Job, type ManagementStore, imageFactsFromManifest } from '../store/index.js';
import type { EventHub } from './event-hub.js';

export interface DeviceJobRequest {
  type: 'backup' | 'restore' | 'verify';
  devicePath?: string;
  imageId?: string;
  label?: string;
  verify?: boolean;
  requestedBy: string;
}

export class JobRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    private readonly db: ManagementStore,
    private readonly images: Store,
    private readonly hub: EventHub,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Creates the job (refused while the disk is busy) and starts it at once. */
  async submit(req: DeviceJobRequest): Promise<Job> {
    if (req.type !== 'verify') {
      if (!req.devicePath) throw new LifeboatError('usage', `a ${req.type} job needs a device`);
      // A missing or unusable device is refused before a job exists (a restore may create a new image file).
      if (req.type === 'backup' || existsSync(req.devicePath)) describeDisk(req.devicePath);
    }
    if (req.type !== 'backup' && !req.imageId) throw new LifeboatError('usage', `a ${req.type} job needs an image`);
    if (req.imageId) await this.images.readManifest(req.imageId);
    const job = await this.db.jobs.create({
      type: req.type,
      ...(req.devicePath ? { devicePath: req.devicePath } : {}),
      ...(req.imageId ? { imageId: req.imageId } : {}),
      requestedBy: req.requestedBy,
    });
    await this.db.events.record({ actor: req.requestedBy, action: `job.${req.type}`, subject: job.id, details: { ...(req.devicePath ? { devicePath: req.devicePath } : {}), ...(req.imageId ? { imageId: req.imageId } : {}) } });
    const abort = new AbortController();
    const done = this.run(job, req, abort.signal).finally(() => this.running.delete(job.id));
    this.running.set(job.id, { abort, done });
    return job;
  }

  /** Asks a running job to stop; a queued one is cancelled at once. */
  async cancel(jobId: string, actor: string): Promise<Job> {
    const job = await this.db.jobs.get(jobId);
    await this.db.events.record({ actor, action: 'job.cancel', subject: jobId, details: {} });
    const r = this.running.get(jobId);
    if (r) {
      r.abort.abort();
      await r.done;
      return this.db.jobs.get(jobId);
    }
    const cancelled = await this.db.jobs.transition(job.id, 'cancel');
    this.hub.publish({ type: 'job-state', jobId, state: cancelled.state });
    return cancelled;
  }

  /** Interrupts every running job and waits until each has written its final state. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.running.values()) r.abort.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  get active(): number {
    return this.running.size;
  }

  private stopping = false;

  private async run(job: Job, req: DeviceJobRequest, signal: AbortSignal): Promise<void> {
    const started = await this.db.jobs.transition(job.id, 'start');
    this.hub.publish({ type: 'job-state', jobId: job.id, state: started.state });
    this.log('job started', { job: job.id, type: job.type, device: req.devicePath, image: req.imageId });
    const onEvent = (e: EngineEvent) => {
      if (e.type === 'progress') {
        this.hub.publish({ type: 'job-progress', jobId: job.id, progress: e });
        void this.db.jobs.checkpoint(job.id, { bytesDone: e.bytesDone, bytesTotal: e.bytesTotal }).catch(() => {});
      } else if (e.type === 'warning') {
        this.hub.publish({ type: 'log', jobId: job.id, level: 'warning', message: e.message, at: new Date().toISOString() });
      }
    };
    try {
      let stats: Record<string, number> = {};
      let imageId: string | undefined;
      if (req.type === 'backup') {
        const m = await backupImage({ store: this.images, source: req.devicePath as string, ...(req.label ? { label: req.label } : {}), onEvent, signal });
        await this.db.images.reconcile((await this.images.listImages()).images.map(imageFactsFromManifest));
        stats = { ...m.stats };
        imageId = m.id;
      } else if (req.type === 'restore') {
        const r = await restoreImage({ store: this.images, imageId: req.imageId as string, target: req.devicePath as string, verify: req.verify === true, onEvent, signal });
        stats = { bytesWritten: r.bytesWritten, bytesTotal: r.bytesTotal, durationMs: r.durationMs };
      } else {
        const r = await verifyImage(this.images, req.imageId as string, { onEvent, signal });
        stats = { chunksChecked: r.chunksChecked, problems: r.problems.length, durationMs: r.durationMs };
        if (!r.ok) throw new LifeboatError('integrity', `image ${req.imageId} failed verification: ${r.problems.map((p) => p.message).join('; ')}`);
      }
      const done = await this.db.jobs.transition(job.id, 'succeed', { stats, ...(imageId ? { imageId } : {}) });
      this.hub.publish({ type: 'job-state', jobId: job.id, state: done.state });
      this.log('job done', { job: job.id });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const event = signal.aborted ? (this.stopping ? 'interrupt' : 'cancel') : 'fail';
      const ended = await this.db.jobs.transition(job.id, event, event === 'fail' ? { error: message } : event === 'interrupt' ? { error: 'the daemon stopped while the job ran' } : {});
      this.hub.publish({ type: 'job-state', jobId: job.id, state: ended.state, ...(ended.error ? { error: ended.error } : {}) });
      this.log(`job ${ended.state}`, { job: job.id, error: message });
    }
  }
}
