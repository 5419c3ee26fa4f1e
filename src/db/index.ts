// The management database: machines, their disks, images (a mirror of the image
// store), jobs, schedules, settings, DHCP leases, boot media (token digests only) and
// the audit trail, each behind typed async functions. NeDB (nedb-promises) keeps every
// document in memory and appends every change to one datafile per collection, so only
// the daemon opens it; everyone else asks the daemon.
//
// Invariants:
// - No caller sees a NeDB query or document: inputs are checked (`unknown`-safe, so a
//   JSON body cannot smuggle in a query operator) and records come back with `id`.
// - Machine and schedule names are host-name labels (NAME_PATTERN) and unique; every MAC
//   is stored as aa:bb:cc:dd:ee:ff and belongs to one machine at most.
// - At most one active job per disk; job states move only as job-state.ts allows.
// - The image store is the truth about images; images.reconcile() mirrors it.
// - Never per-second progress or chunk lists: a job's progress is written at most
//   every 10 s, the audit trail is capped.
// - A damaged datafile line is never dropped silently: opening refuses (naming file and
//   line) unless asked to repair, and a copy is kept before any repair (datafile.ts).
// - After a failed write (disk full…) the store refuses further writes until reopened.
export { type ManagementStore, type OpenOptions, type CollectionName, COLLECTIONS, DEFAULT_AUTOCOMPACTION_MS, datafileName, openManagementStore } from './management-store.js';
export { type DatafileReport, type LineProblem, scanDatafile } from './datafile.js';
export { type BootLoader, type BootStage, type BootStageName, type LocalBoot, type Machine, type MachineInventory, type MachinePatch, type MachineStatus, type Machines, type NewMachine } from './machines.js';
export { type Media, type Medium, type MediumScope, type NewMedium } from './media.js';
export { type Disk, type DiskReport, type Disks, type PartitionEntry, type PartitionSummary } from './disks.js';
export { type ImageFacts, type ImageOwnership, type ImageRecord, type Images, type ReconcileResult, diffImages, imageFactsFromManifest } from './images.js';
export { type AgentDisk, type Job, type JobFilter, type JobOptions, type JobLogLine, type JobStateChange, JOB_LOG_CAP, type JobProgress, type JobStats, type JobTarget, type Jobs, type NewJob, type TransitionDetails, CHECKPOINT_INTERVAL_MS, sameDisk } from './jobs.js';
export { ACTIVE_STATES, FINAL_STATES, JOB_EVENTS, JOB_STATES, JOB_TYPES, type JobEvent, type JobState, type JobType, isActive, nextState, refusalReason } from './job-state.js';
export { type NewSchedule, type Retention, type Schedule, type SchedulePatch, type ScheduleTarget, type Schedules } from './schedules.js';
export { DEFAULT_SETTINGS, type DhcpMode, type Settings, type SettingsStore } from './settings.js';
export { type AuditEvent, DEFAULT_EVENTS_CAP, type EventFilter, type Events, type NewEvent } from './events.js';
export { NAME_PATTERN, NAME_RULE, parseMac } from './validate.js';
