// The typed client of the API, derived from the route table: one method per route
// (`machines()`, `machine(name)`, `editMachine(name, patch)`, `jobs({ state })`…), path
// parameters in the table's order, then the body or query its schema types. Over the
// daemon's Unix socket for the operator surface. Errors come back as LifeboatErrors with
// the daemon's message; an unreachable daemon and a refused socket have their own kinds.
// Loads no zod and nothing of the daemon: the CLI starts fast and the agent bundles it.
import { request } from 'node:http';
import { userInfo } from 'node:os';
import type { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { API_PREFIX, DEFAULT_SOCKET, OPERATOR_HEADER } from './constants.js';
import { type BodyName, type CallName, type ParamList, type QueryName, type ResponseOf, ROUTES, type RouteSpec, type Routes } from './route-table.js';
import type { BodySchemas, QuerySchemas } from './schemas.js';
import type { ApiErrorBody, LiveEvent } from './wire.js';

export { DEFAULT_SOCKET };

type BodyIn<K extends CallName> = z.input<BodySchemas[BodyName<K>]>;
type QueryIn<K extends CallName> = z.input<QuerySchemas[QueryName<K>]>;
type Strings<T extends unknown[]> = T extends [unknown, ...infer R] ? [string, ...Strings<R>] : [];
type ParamArgs<K extends CallName> = Strings<ParamList<Routes[K]['path']>>;
type TailArgs<K extends CallName> = [BodyName<K>] extends [never] ? ([QueryName<K>] extends [never] ? [] : [query?: QueryIn<K>]) : Record<string, never> extends BodyIn<K> ? [body?: BodyIn<K>] : [body: BodyIn<K>];
/** A route's arguments: its path parameters in order, then its body (or query) if it has one. */
export type Args<K extends CallName> = [...ParamArgs<K>, ...TailArgs<K>];
/** One method per route of the table. */
export type RouteMethods = { [K in CallName]: (...args: Args<K>) => Promise<ResponseOf<K>> };

/** The daemon cannot be reached (exit code 3) or the socket refused us (exit code 4). */
export class DaemonUnreachable extends LifeboatError {
  constructor(
    message: string,
    readonly reason: 'down' | 'permission',
  ) {
    super('user', message);
  }
}

// The route methods are made from the table in the constructor; this interface gives them their types.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface ApiClient extends RouteMethods {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ApiClient {
  constructor(
    readonly socketPath: string = process.env.LIFEBOAT_SOCKET ?? DEFAULT_SOCKET,
    private readonly operator = process.env.LIFEBOAT_OPERATOR || safeUser(),
  ) {
    for (const name of Object.keys(ROUTES) as CallName[]) {
      if (!(ROUTES[name] as RouteSpec).stream) Object.defineProperty(this, name, { value: (...args: unknown[]) => this.call(name, ...(args as Args<typeof name>)), enumerable: false });
    }
  }

  /** Calls route `name` of the table: path parameters in order, then its body or query. */
  call<K extends CallName>(name: K, ...args: Args<K>): Promise<ResponseOf<K>> {
    const spec: RouteSpec = ROUTES[name];
    const rest = [...(args as unknown[])];
    const path = spec.path
      .split('/')
      .map((seg) => (seg.startsWith(':') ? encodeURIComponent(String(rest.shift())) : seg))
      .join('/');
    const extra = rest.shift();
    const query = spec.query && extra ? queryString(extra as Record<string, string | string[] | undefined>) : '';
    return this.send(spec.method, `${path}${query}`, spec.body ? (extra ?? {}) : undefined) as Promise<ResponseOf<K>>;
  }

  private send(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<unknown>((resolve, reject) => {
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
            } else resolve(parsed);
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

  /** Follows the live event stream until `signal` aborts or the daemon goes away (then rejects). */
  events(onEvent: (e: LiveEvent) => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, agent: false, method: 'GET', path: `${API_PREFIX}${ROUTES.events.path}`, headers: { [OPERATOR_HEADER]: this.operator } }, (res) => {
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

/** `?state=a&state=b`: each value of each key, in order; undefined keys left out. */
function queryString(query: Record<string, string | string[] | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value]) q.append(key, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
