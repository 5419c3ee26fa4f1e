// Feeds the dashboard's reducer from the operator API: a snapshot (jobs, audit events,
// appliance status), then the live event stream; a clock tick every second; the jobs
// list and audit events again whenever a job changes state, and the appliance status every few seconds.
// When the daemon goes away it says so and tries again until `signal` aborts. Read-only:
// it never creates, changes or cancels anything.
import type { ApiClient } from '../api/client.js';
import { DaemonUnreachable } from '../api/client.js';
import { LifeboatError } from '../errors.js';
import type { DashboardAction } from './model.js';

export type DashboardApi = Pick<ApiClient, 'appliance' | 'jobs' | 'audit' | 'events' | 'health' | 'throughput' | 'machines'>;

export interface FeedOptions {
  tickMs?: number;
  applianceEveryMs?: number;
  /** How often the hour of throughput and the machines (overdue) are read again. */
  historyEveryMs?: number;
  /** Wait between reconnection attempts. */
  retryMs?: number;
  /** How often a live connection is checked with GET /health. */
  probeMs?: number;
  now?: () => number;
}

export async function runFeed(api: DashboardApi, dispatch: (a: DashboardAction) => void, signal: AbortSignal, opts: FeedOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  const tick = setInterval(() => dispatch({ type: 'tick', now: now() }), opts.tickMs ?? 1000);
  let connected = false;
  const refreshAppliance = () =>
    api.appliance().then(
      (status) => !signal.aborted && dispatch({ type: 'appliance', status }),
      (err: unknown) => !signal.aborted && !(err instanceof DaemonUnreachable) && dispatch({ type: 'appliance-error', message: applianceProblem(err) }),
    );
  const appliance = setInterval(() => connected && void refreshAppliance(), opts.applianceEveryMs ?? 5000);
  // The daemon keeps the hour (a dashboard started now shows it) and says who is overdue.
  // A daemon without these routes leaves the chart empty and the panel without overdue machines.
  const refreshHistory = () =>
    Promise.all([
      api.throughput().then((history) => !signal.aborted && dispatch({ type: 'history', history }), () => undefined),
      api.machines().then((machines) => !signal.aborted && dispatch({ type: 'machines', machines }), () => undefined),
    ]);
  const history = setInterval(() => connected && void refreshHistory(), opts.historyEveryMs ?? 10_000);
  let jobsInFlight: Promise<void> | null = null;
  let jobsAgain = false;
  const refreshJobs = (): void => {
    if (jobsInFlight) {
      jobsAgain = true;
      return;
    }
    jobsInFlight = Promise.all([api.jobs(), api.audit()])
      .then(([jobs, events]) => {
        if (signal.aborted) return;
        dispatch({ type: 'jobs', jobs, now: now() });
        dispatch({ type: 'audit', events });
      })
      .then(
        () => undefined,
        () => undefined, // the stream notices a daemon that went away
      )
      .finally(() => {
        jobsInFlight = null;
        if (jobsAgain && !signal.aborted) {
          jobsAgain = false;
          refreshJobs();
        }
      });
  };
  try {
    while (!signal.aborted) {
      const attempt = new AbortController();
      const stopAttempt = () => attempt.abort();
      signal.addEventListener('abort', stopAttempt, { once: true });
      // The event stream alone does not always notice a daemon that exited (the client
      // waits for an end that never comes), so a cheap probe ends the attempt instead.
      let lost: DaemonUnreachable | null = null;
      const probe = setInterval(() => {
        api.health().catch((err: unknown) => {
          if (err instanceof DaemonUnreachable) {
            lost = err;
            attempt.abort();
          }
        });
      }, opts.probeMs ?? 2000);
      try {
        // Join the stream first, so nothing that happens while the snapshot loads is lost.
        const stream = api.events((event) => {
          if (signal.aborted) return;
          dispatch({ type: 'live', event, now: now() });
          if (event.type === 'job-state') {
            refreshJobs();
            if (event.state === 'done') void refreshAppliance();
            if (event.state === 'done') void refreshHistory();
          }
        }, attempt.signal);
        stream.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
        const [jobs, audit] = await Promise.all([api.jobs(), api.audit()]);
        if (signal.aborted) break;
        dispatch({ type: 'jobs', jobs, now: now() });
        dispatch({ type: 'audit', events: audit });
        dispatch({ type: 'connected' });
        connected = true;
        void refreshAppliance();
        void refreshHistory();
        await stream;
        if (!signal.aborted) throw lost ?? new DaemonUnreachable('the daemon closed the event stream', 'down');
      } catch (err) {
        if (signal.aborted) break;
        if (!(err instanceof LifeboatError)) throw err; // a bug: let it crash loudly
        connected = false;
        dispatch({ type: 'disconnected', message: err instanceof DaemonUnreachable && err.reason === 'down' ? 'the daemon is not reachable' : err.message });
        await sleep(opts.retryMs ?? 1000, signal);
      } finally {
        clearInterval(probe);
        attempt.abort();
        signal.removeEventListener('abort', stopAttempt);
      }
    }
  } finally {
    clearInterval(tick);
    clearInterval(appliance);
    clearInterval(history);
  }
}

function applianceProblem(err: unknown): string {
  if (err instanceof LifeboatError && err.kind === 'not-found') return `${err.message} (404): this daemon does not serve it yet`;
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
