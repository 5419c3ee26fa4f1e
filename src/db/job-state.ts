// The job state machine, as pure functions.
//
//   queued ──wait-for-boot──▶ waiting-for-boot ─boot─▶ booting ─start─▶ running ──succeed──▶ done
//     │ └────────────────────────start─────────────────────▲  │
//     └─ cancel, fail, interrupt                              ├─ fail ──▶ failed
//   waiting-for-boot, booting: cancel, fail, interrupt         ├─ cancel ─▶ cancelled
//                                                              ├─ interrupt ▶ interrupted
//                                                              └─ request-cancel ▶ cancelling
//   booting: the machine fetched the boot OS (its kernel); its agent has not said hello yet.
//   cancelling: the engine was asked to stop and has not yet; it ends in what really
//   happened: cancel (it stopped), succeed (it finished first), fail, interrupt.
//
// done, failed, cancelled and interrupted are final: a retry is a new job, so the
// history of what happened stays as it was. No job survives a daemon restart: a waiting
// or running one's boot token and progress lived in the old process, and a queued one
// (its start could not be written: a full disk, a crash) would otherwise hold its disk
// forever, since nothing picks queued jobs up. All become interrupted at the next start.

export const JOB_TYPES = ['backup', 'restore', 'verify', 'inventory'] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATES = ['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const JOB_EVENTS = ['wait-for-boot', 'boot', 'start', 'succeed', 'fail', 'cancel', 'interrupt', 'request-cancel'] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

/** States in which a job holds its disk (or machine). */
export const ACTIVE_STATES: readonly JobState[] = ['queued', 'waiting-for-boot', 'booting', 'running', 'cancelling'];
export const FINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled', 'interrupted'];

const TRANSITIONS: Record<JobState, Partial<Record<JobEvent, JobState>>> = {
  queued: { 'wait-for-boot': 'waiting-for-boot', start: 'running', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted' },
  'waiting-for-boot': { boot: 'booting', start: 'running', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted' },
  booting: { start: 'running', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted' },
  running: { succeed: 'done', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted', 'request-cancel': 'cancelling' },
  cancelling: { succeed: 'done', fail: 'failed', cancel: 'cancelled', interrupt: 'interrupted' },
  done: {},
  failed: {},
  cancelled: {},
  interrupted: {},
};

/** The state after `event`, or null when the event is not allowed in `state`. */
export function nextState(state: JobState, event: JobEvent): JobState | null {
  return TRANSITIONS[state]?.[event] ?? null;
}

export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.includes(state);
}

/** Why `event` is refused in `state`, said to an operator. */
export function refusalReason(state: JobState, event: JobEvent): string {
  if (FINAL_STATES.includes(state)) {
    return event === 'cancel' ? `it has already ended (${state}): nothing to cancel` : `it has already ended (${state}); start a new job instead`;
  }
  const allowed = JOB_EVENTS.filter((e) => nextState(state, e) !== null).join(', ');
  return `a job that is ${state} cannot ${event} (allowed: ${allowed})`;
}
