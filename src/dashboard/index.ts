// The wall dashboard (`lifeboat dashboard`): a read-only blessed-contrib display for the
// appliance's own monitor, in a process of its own (never sharing a terminal with the
// Ink console). A client of the operator API only.
//   model.ts   pure reducer: snapshots, live events, ticks → what each widget shows
//   feed.ts    the API client → reducer actions, with reconnection
//   screen.ts  blessed screen, grid and widgets, painting the model's views
// Invariants: it never changes anything on the daemon (quitting never stops a job);
// the terminal is given back as it was on quit, on a signal and on a crash.
import { type DashboardApi, runFeed } from './feed.js';
import { type DashboardAction, initialState, reduce } from './model.js';
import { createDashboardScreen } from './screen.js';

export interface DashboardOptions {
  api: DashboardApi;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
  noColor?: boolean;
  /** Plain ASCII box lines and text (TERM=linux, non-UTF-8 locales). */
  ascii?: boolean;
  /** The longest wait between a change and the screen showing it. */
  frameMs?: number;
}

/** Shows the dashboard until `q` or the signal; resolves once the terminal is restored. */
export async function runDashboard(opts: DashboardOptions): Promise<void> {
  const quit = new AbortController();
  const stop = () => quit.abort();
  opts.signal.addEventListener('abort', stop, { once: true });
  const screen = createDashboardScreen({ onQuit: stop, noColor: opts.noColor === true, ascii: opts.ascii === true });
  let state = initialState();
  let frame: NodeJS.Timeout | null = null;
  const dispatch = (a: DashboardAction) => {
    state = reduce(state, a);
    frame ??= setTimeout(() => {
      frame = null;
      if (!quit.signal.aborted) screen.render(state);
    }, opts.frameMs ?? 100);
  };
  screen.render(state);
  try {
    await runFeed(opts.api, dispatch, quit.signal);
  } finally {
    if (frame) clearTimeout(frame);
    opts.signal.removeEventListener('abort', stop);
    screen.destroy();
  }
}
