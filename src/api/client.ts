// The typed client of the operator API, over the daemon's Unix socket. Used by the CLI
// (and later the TUI and dashboard). Errors come back as LifeboatErrors with the
// daemon's message; an unreachable daemon and a refused socket have their own kinds.
import { request } from 'node:http';
import { userInfo } from 'node:os';
import { LifeboatError } from '../errors.js';
import type { ApiErrorBody, ApplianceStatus, LocalDevice, PruneReport, ScheduleRunResult, AuditEvent, Health, ImageRecord, Job, JobView, LiveEvent, Machine, MachinePatchBody, MachineWithDisks, NewJobBody, NewMachineBody, NewScheduleBody, Schedule, ScheduleView } from './contract.js';
import { API_PREFIX, OPERATOR_HEADER } from './constants.js';

export const DEFAULT_SOCKET = '/run/lifeboat/api.sock';

/** The daemon cannot be reached (exit code 3) or the socket refused us (exit code 4). */
export class DaemonUnreachable extends LifeboatError {
  constructor(
    message: string,
    readonly reason: 'down' | 'permission',
  ) {
    super('user', message);
  }
}

export class ApiClient {
  constructor(
    readonly socketPath: string = process.env.LIFEBOAT_SOCKET ?? DEFAULT_SOCKET,
    private readonly operator = process.env.LIFEBOAT_OPERATOR || safeUser(),
  ) {}

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          // A fresh connection per request: a pooled keep-alive socket the daemon has
          // already closed fails with EPIPE (Node 20's global agent keeps sockets alive).
          agent: false,
          method,
          path: `${API_PREFIX}${path}`,
          headers: { [OPERATOR_HEADER]: this.operator, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              reject(new LifeboatError('external', `the daemon answered ${res.statusCode} with something that is not JSON`));
              return;
            }
            if ((res.statusCode ?? 500) >= 400) {
              const e = (parsed as ApiErrorBody | undefined)?.error;
              reject(new LifeboatError((e?.kind as LifeboatError['kind']) ?? 'external', e?.message ?? `the daemon answered ${res.statusCode}`));
            } else resolve(parsed as T);
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.unreachable(err)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  private unreachable(err: NodeJS.ErrnoException): LifeboatError {
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      return new DaemonUnreachable(`permission denied on ${this.socketPath}: add yourself to the lifeboat group (usermod -aG lifeboat $USER) and log in again`, 'permission');
    }
    return new DaemonUnreachable(`the lifeboat daemon is not reachable at ${this.socketPath} (${err.code ?? err.message}): start it with \`systemctl start lifeboat\` or \`lifeboat serve\`, or point --socket / LIFEBOAT_SOCKET at it`, 'down');
  }

  health = () => this.call<Health>('GET', '/health');
  appliance = () => this.call<ApplianceStatus>('GET', '/appliance');
  devices = () => this.call<LocalDevice[]>('GET', '/devices');
  machines = () => this.call<Machine[]>('GET', '/machines');
  machine = (name: string) => this.call<MachineWithDisks>('GET', `/machines/${encodeURIComponent(name)}`);
  addMachine = (body: NewMachineBody) => this.call<Machine>('POST', '/machines', body);
  editMachine = (name: string, patch: MachinePatchBody) => this.call<Machine>('PATCH', `/machines/${encodeURIComponent(name)}`, patch);
  removeMachine = (name: string) => this.call<Machine>('DELETE', `/machines/${encodeURIComponent(name)}`);
  images = () => this.call<ImageRecord[]>('GET', '/images');
  image = (id: string) => this.call<Record<string, unknown>>('GET', `/images/${encodeURIComponent(id)}`);
  removeImage = (id: string) => this.call<{ removed: string }>('DELETE', `/images/${encodeURIComponent(id)}`);
  jobs = (states: string[] = []) => this.call<JobView[]>('GET', `/jobs${states.length ? `?${states.map((s) => `state=${encodeURIComponent(s)}`).join('&')}` : ''}`);
  job = (id: string) => this.call<JobView>('GET', `/jobs/${encodeURIComponent(id)}`);
  createJob = (body: NewJobBody) => this.call<Job>('POST', '/jobs', body);
  cancelJob = (id: string) => this.call<Job>('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
  audit = () => this.call<AuditEvent[]>('GET', '/audit');
  schedules = () => this.call<ScheduleView[]>('GET', '/schedules');
  schedule = (name: string) => this.call<ScheduleView>('GET', `/schedules/${encodeURIComponent(name)}`);
  addSchedule = (body: NewScheduleBody) => this.call<ScheduleView>('POST', '/schedules', body);
  removeSchedule = (name: string) => this.call<Schedule>('DELETE', `/schedules/${encodeURIComponent(name)}`);
  runSchedule = (name: string, bootTimeoutSeconds?: number) => this.call<ScheduleRunResult>('POST', `/schedules/${encodeURIComponent(name)}/run`, bootTimeoutSeconds ? { bootTimeoutSeconds } : {});
  pruneSchedule = (name: string) => this.call<PruneReport>('POST', `/schedules/${encodeURIComponent(name)}/prune`);

  /** Follows the live event stream until `signal` aborts or the daemon goes away (then rejects). */
  events(onEvent: (e: LiveEvent) => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, agent: false, method: 'GET', path: `${API_PREFIX}/events`, headers: { [OPERATOR_HEADER]: this.operator } }, (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            if (!data) continue;
            let event: LiveEvent;
            try {
              event = JSON.parse(data) as LiveEvent;
            } catch {
              continue; // a line that is not JSON is not an event: skip it rather than crash the client
            }
            onEvent(event);
          }
        });
        // 'close' comes however the stream ends: a clean end, or a daemon killed mid-stream ('aborted', no 'end').
        res.on('error', () => {});
        res.on('close', () => (signal?.aborted ? resolve() : reject(new DaemonUnreachable('the daemon closed the event stream', 'down'))));
      });
      req.on('error', (err: NodeJS.ErrnoException) => (signal?.aborted ? resolve() : reject(this.unreachable(err))));
      signal?.addEventListener(
        'abort',
        () => {
          req.destroy();
          resolve();
        },
        { once: true },
      );
      req.end();
    });
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
