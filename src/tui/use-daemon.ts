// Keeps a DataState in step with the daemon: fetch every list, follow the live event
// stream, poll the lists now and then (machines and images have no live events), and when
// the daemon goes away show "reconnecting", retry with backoff, then fetch everything
// again and re-subscribe. Only DaemonUnreachable counts as "gone"; any other failure of
// one list (a route the daemon does not have yet, say) is shown in place of that list.
import { useCallback, useEffect, useReducer, useRef } from 'react';
import { DaemonUnreachable } from '../api/client.js';
import type { MachineWithDisks } from '../api/contract.js';
import type { TuiClient } from './client.js';
import { type DataAction, type DataState, type ListName, dataReducer, initialData, needsRefresh } from './data-state.js';

export interface DaemonOptions {
  /** Milliseconds before retry number `attempt` (1, 2, …). */
  backoffMs?: (attempt: number) => number;
  pollMs?: number;
}

export const defaultBackoff = (attempt: number): number => Math.min(500 * 2 ** (attempt - 1), 5000);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const ALL_LISTS: readonly ListName[] = ['machines', 'images', 'jobs', 'schedules', 'appliance', 'devices'];
/** Lists polled often; the appliance status and docked devices (lsblk on the daemon) less so. */
export const FAST_LISTS: readonly ListName[] = ['machines', 'images', 'jobs', 'schedules'];
const SLOW_EVERY = 4;

/** Fetches the named lists at once; throws DaemonUnreachable if the daemon is gone, else reports per-list errors. */
export async function loadAll(client: TuiClient, names: readonly ListName[] = ALL_LISTS): Promise<Extract<DataAction, { type: 'loaded' }>> {
  const fetchers: Record<ListName, () => Promise<unknown>> = { machines: client.machines, images: client.images, jobs: () => client.jobs(), schedules: client.schedules, appliance: client.appliance, devices: client.devices };
  const settled = await Promise.allSettled(names.map((n) => fetchers[n]()));
  const lists: Record<string, unknown> = {};
  const errors: Partial<Record<ListName, string>> = {};
  settled.forEach((r, i) => {
    const name = names[i] as ListName;
    if (r.status === 'fulfilled') lists[name] = r.value;
    else if (r.reason instanceof DaemonUnreachable) throw r.reason;
    else errors[name] = message(r.reason);
  });
  return { type: 'loaded', at: Date.now(), names: [...names], lists: lists as Extract<DataAction, { type: 'loaded' }>['lists'], errors };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

export interface Daemon {
  data: DataState;
  /** Fetch the lists again now (after an action). */
  refresh(): void;
  /** Fetch one machine with its disks into data.machineDetails. */
  loadMachine(name: string): Promise<MachineWithDisks | null>;
}

export function useDaemon(client: TuiClient, opts: DaemonOptions = {}): Daemon {
  const [data, dispatch] = useReducer(dataReducer, initialData);
  const dataRef = useRef(data);
  dataRef.current = data;
  const refreshRef = useRef<() => void>(() => {});
  // Options are read when used, so a caller passing a new object each render restarts nothing.
  const optsRef = useRef(opts);
  optsRef.current = opts;

  useEffect(() => {
    const stop = new AbortController();
    void (async () => {
      let attempt = 0;
      while (!stop.signal.aborted) {
        const session = new AbortController();
        const endSession = () => session.abort();
        stop.signal.addEventListener('abort', endSession, { once: true });
        let lost: unknown = null;
        const fail = (err: unknown) => {
          if (err instanceof DaemonUnreachable && !lost) {
            lost = err;
            session.abort();
          }
        };
        let pending: ReturnType<typeof setTimeout> | undefined;
        let polls = 0;
        const reload = (names: readonly ListName[]) => loadAll(client, names).then(dispatch, fail);
        refreshRef.current = () => {
          clearTimeout(pending);
          pending = setTimeout(() => void reload(FAST_LISTS), 50);
        };
        try {
          const stream = client.events((event) => {
            dispatch({ type: 'event', event, at: new Date().toISOString() });
            if (needsRefresh(event, dataRef.current)) refreshRef.current();
          }, session.signal);
          stream.catch(fail);
          await loadAll(client).then((loaded) => {
            dispatch(loaded);
            dispatch({ type: 'connection', connection: { status: 'online' } });
            attempt = 0;
          }, fail);
          const poll = setInterval(() => void reload(++polls % SLOW_EVERY === 0 ? ALL_LISTS : FAST_LISTS), optsRef.current.pollMs ?? 3000);
          await stream.catch(() => {});
          clearInterval(poll);
        } finally {
          clearTimeout(pending);
          stop.signal.removeEventListener('abort', endSession);
        }
        if (stop.signal.aborted) return;
        attempt++;
        const wait = (optsRef.current.backoffMs ?? defaultBackoff)(attempt);
        dispatch({ type: 'connection', connection: { status: 'reconnecting', attempt, error: message(lost ?? 'the event stream ended'), retryInMs: wait } });
        await sleep(wait, stop.signal);
      }
    })();
    return () => stop.abort();
  }, [client]);

  const refresh = useCallback(() => refreshRef.current(), []);
  const loadMachine = useCallback(
    (name: string) =>
      client.machine(name).then(
        (machine) => {
          dispatch({ type: 'machine-detail', machine });
          return machine;
        },
        () => null,
      ),
    [client],
  );
  return { data, refresh, loadMachine };
}
