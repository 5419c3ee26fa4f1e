// The decisions behind jobs and schedules, as pure functions of records and times: when a
// schedule next fires (systemd calendar events, calendar.ts) and which images a retention
// policy keeps (retention.ts). The job state machine lives with the job records, in
// src/db/job-state.ts.
//
// Invariants:
// - Nothing here does I/O, reads the clock or keeps state: "now" and the time zone are
//   arguments, so the daemon, the CLI and the tests get the same answer. The effects (timers,
//   creating jobs, deleting images) live in the daemon and the schedule runner.
// - A calendar expression is accepted only if systemd accepts it too, and its next elapse is
//   the one the systemd timer made from it fires at (tested against `systemd-analyze`), but
//   for the few DST corner cases calendar.ts lists, where systemd 252 errs.
// - Retention never removes everything by accident: an empty policy keeps every image, the
//   newest image is always kept, and images dated after "now" are never removed.
// - Bad operator input is a usage error naming the subject; broken records are a bug.
export { formatCalendar, nextElapse, parseCalendar } from './calendar.js';
export type { CalendarChain, CalendarComponent, CalendarSpec } from './calendar.js';
export { periodOf, prune } from './retention.js';
export { type BackupPromise, backupPromises, previousElapse } from './overdue.js';
export type { KeepReason, PruneCandidate, PruneResult, RetentionPolicy } from './retention.js';
