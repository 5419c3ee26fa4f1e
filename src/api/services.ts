// What the operator routes need from the rest of the appliance, as interfaces in the
// wire's own types. The daemon's composition root (src/daemon/api-services.ts) wires the
// real ones (the NeDB store, the image store, the job runner, the event hub); a test can
// wire its own. Nothing here knows NeDB, the engine or the job runner's internals.
import type { JobDestination } from './destination.js';
import type { MachinePatchBody, NewMachineBody } from './schemas.js';
import type { ImageImportResult, ApplianceStatus, AuditEvent, BootMedium, NewBootMedium, Disk, ImageManifest, ImageRecord, Job, JobState, LiveEvent, LocalDevice, Machine, ProgressEvent, PruneReport, Schedule, ScheduleRunResult, ScheduleTarget, ThroughputHistory } from './wire.js';

/** A job as the routes ask for it; the job runner decides whether it can run. */
export interface JobRequest {
  type: 'backup' | 'restore' | 'verify';
  devicePath?: string;
  machine?: string;
  disk?: string;
  imageId?: string;
  label?: string;
  /** A backup's restore passphrase, or the one a protected image's restore needs: never stored or logged. */
  passphrase?: string;
  verify?: boolean;
  /** Check every chunk before the first write (unset: the daemon decides by the target). */
  verifyFirst?: boolean;
  /** A restore onto a larger disk enlarges the last partition and its filesystem. */
  growLast?: boolean;
  /** A machine's job: what the machine does after it (default reboot). */
  end?: 'reboot' | 'poweroff';
  /** A machine's backup: where it goes (destination.ts; absent: the appliance). */
  destination?: JobDestination;
  requestedBy: string;
}

export interface NewScheduleRecord {
  name: string;
  target: ScheduleTarget;
  calendar: string;
  retention?: Schedule['retention'];
  enabled?: boolean;
  passphraseFile?: string;
  destination?: JobDestination;
}

export interface OperatorServices {
  /** What GET /health reports about the daemon. */
  info(): { version: string; pid: number; startedAt: number; dataDir: string; store: string; activeJobs: number; databaseProblem: string | null };
  appliance(): Promise<ApplianceStatus>;
  /** The last hour of throughput samples the daemon kept. */
  throughput(): Promise<ThroughputHistory>;
  /** The disks docked in the appliance. */
  devices(): Promise<LocalDevice[]>;
  machines: {
    /** Wake-on-LAN to each MAC of the machine on the boot network; the MACs it went to. */
    wake(name: string): Promise<{ machine: string; macs: string[] }>;
    list(filter: { group?: string }): Promise<Machine[]>;
    add(machine: NewMachineBody): Promise<Machine>;
    get(name: string): Promise<Machine>;
    disksOf(machineId: string): Promise<Disk[]>;
    edit(name: string, patch: MachinePatchBody): Promise<Machine>;
    remove(name: string): Promise<Machine>;
  };
  images: {
    list(): Promise<ImageRecord[]>;
    find(id: string): Promise<ImageRecord | null>;
    manifest(id: string): Promise<ImageManifest>;
    setProtected(id: string, value: boolean): Promise<ImageRecord>;
    /** Prunes every image by the policy, per source disk (never a protected one); a dry run removes nothing. */
    prune(policy: Schedule['retention'], actor: string, dryRun: boolean): Promise<PruneReport>;
    /** Removes it from the store, then brings the list in line. */
    remove(id: string): Promise<void>;
    /** Checks image `id` in the store at `from` whole and brings it into the appliance's store (its location becomes the appliance). */
    import(id: string, from: string): Promise<ImageImportResult>;
  };
  jobs: {
    /** Newest first. */
    list(filter: { state?: JobState[]; since?: string; limit?: number }): Promise<Job[]>;
    get(id: string): Promise<Job>;
    /** The latest live progress of a running job. */
    progressOf(id: string): ProgressEvent | undefined;
    submit(request: JobRequest): Promise<Job>;
    cancel(id: string, actor: string): Promise<Job>;
  };
  schedules: {
    list(): Promise<Schedule[]>;
    get(name: string): Promise<Schedule>;
    add(schedule: NewScheduleRecord): Promise<Schedule>;
    /** passphraseFile or destination null: cleared. */
    edit(name: string, patch: Partial<Omit<NewScheduleRecord, 'name' | 'passphraseFile' | 'destination'>> & { passphraseFile?: string | null; destination?: JobDestination | null }): Promise<Schedule>;
    remove(name: string): Promise<Schedule>;
    /** Starts the named schedule's jobs (machine jobs fail after bootDeadlineMs without a boot). */
    run(name: string, actor: string, bootDeadlineMs: number): Promise<ScheduleRunResult>;
    /** Removes the images of the named schedule its retention policy lets go, then collects garbage. */
    prune(name: string, actor: string, dryRun: boolean): Promise<PruneReport>;
    /** After an add or remove: bring the timers in line; returns the problems. */
    timersChanged(): Promise<string[]>;
  };
  media: {
    /** Newest first. */
    list(): Promise<BootMedium[]>;
    /** A new medium's record and token, for one machine or for registration; server defaults to the daemon's agent URL. */
    create(o: { machine?: string; server?: string; actor: string }): Promise<NewBootMedium>;
    revoke(id: string, actor: string): Promise<BootMedium>;
  };
  audit: {
    /** Newest first. */
    list(filter: { since?: string; limit?: number }): Promise<AuditEvent[]>;
    record(event: { actor: string; action: string; subject: string; details?: Record<string, unknown> }): Promise<void>;
  };
  /** Joins the live event stream; returns the function that leaves it. */
  subscribe(listener: (event: LiveEvent) => void): () => void;
}
