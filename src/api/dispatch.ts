// The server side of the route table: one surface's routes as one function of a request.
// It matches the path, percent-decodes and checks every path parameter, the query and the
// body with the schemas the table names, and only then calls the handler, whose input
// and answer are typed by the same table (a missing handler or a wrong answer does not
// compile). No socket here: every route is testable with a plain call, as Hono's
// app.request(). Authentication is the transport's (server.ts): `actor` arrives checked.
import type { z } from 'zod';
import { LifeboatError, httpStatusFor, notFoundError, usageError } from '../errors.js';
import { API_PREFIX } from './constants.js';
import { type BodyName, type ParamName, type QueryName, type ResponseOf, ROUTES, type RouteName, type RouteSpec, type RoutesOf, type Routes, type Surface } from './route-table.js';
import { BODY_SCHEMAS, type BodySchemas, PARAM_SCHEMAS, QUERY_SCHEMAS, type QuerySchemas } from './schemas.js';
import type { ApiErrorBody } from './wire.js';

export interface ApiRequest {
  method: string;
  /** Path without query, still percent-encoded, e.g. /v1/machines/pc-1. */
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when none). */
  body: unknown;
  /** Who asks, as the surface's authentication named them. */
  actor: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** What a handler gets: checked parameters, body and query, and who asks. */
export interface HandlerInput<K extends RouteName> {
  params: Record<ParamName<K>, string>;
  body: [BodyName<K>] extends [never] ? undefined : z.output<BodySchemas[BodyName<K>]>;
  query: [QueryName<K>] extends [never] ? Record<string, never> : z.output<QuerySchemas[QueryName<K>]>;
  actor: string;
}
export type Handler<K extends RouteName> = (input: HandlerInput<K>) => Promise<ResponseOf<K>>;
export type Handlers<S extends Surface> = { [K in RoutesOf<S>]: Handler<K> };

/** Thrown with the list of what was wrong; becomes a 400 whose body lists every issue. */
function invalid(what: string, issues: string[]): LifeboatError {
  return Object.assign(usageError(`invalid ${what}: ${issues.join('; ')}`), { issues });
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string, where: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw invalid(what, r.error.issues.map((i) => `${[where, ...i.path].filter((p) => p !== '').join('.') || '(body)'}: ${plainIssue(i)}`));
}

/**
 * A schema problem in the words the rest of Lifeboat uses ("needs at least 1 item", "unknown
 * field colour") instead of zod's defaults ("Too small: expected array to have >=1 items");
 * a message a schema gives itself is kept as it is.
 */
const article = (noun: string) => `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;

export function plainIssue(i: z.core.$ZodIssue): string {
  const n = (v: unknown) => Number(v);
  switch (i.code) {
    case 'too_small':
      if (!/^Too small/.test(i.message)) return i.message;
      if (i.origin === 'array' || i.origin === 'set') return `needs at least ${n(i.minimum)} item${n(i.minimum) === 1 ? '' : 's'}`;
      if (i.origin === 'string') return n(i.minimum) === 1 ? 'must not be empty' : `must be at least ${n(i.minimum)} characters`;
      return `must be at least ${String(i.minimum)}`;
    case 'too_big':
      if (!/^Too big/.test(i.message)) return i.message;
      if (i.origin === 'array' || i.origin === 'set') return `takes at most ${n(i.maximum)} items`;
      if (i.origin === 'string') return `must be at most ${n(i.maximum)} characters`;
      return `must be at most ${String(i.maximum)}`;
    case 'invalid_type':
      return /^Invalid input/.test(i.message) ? (/received undefined$/.test(i.message) ? `is missing (${article(i.expected)} is needed)` : `must be ${article(i.expected)}`) : i.message;
    case 'unrecognized_keys':
      return `unknown field${i.keys.length === 1 ? '' : 's'} ${i.keys.join(', ')}: leave ${i.keys.length === 1 ? 'it' : 'them'} out`;
    case 'invalid_value':
      return /^Invalid (option|input)/.test(i.message) ? `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}` : i.message;
    default:
      return i.message;
  }
}

export function errorResponse(err: unknown): ApiResponse {
  const e = err instanceof LifeboatError ? err : new LifeboatError('bug', `internal error (a bug in Lifeboat, please report it): ${(err as Error)?.message ?? String(err)}`);
  const issues = (e as { issues?: string[] }).issues;
  const body: ApiErrorBody = { error: { kind: e.kind, message: e.message, ...(issues ? { issues } : {}) } };
  return { status: (e as { status?: number }).status ?? httpStatusFor(e), body };
}

interface Compiled {
  name: RouteName;
  spec: RouteSpec;
  pattern: RegExp;
  params: string[];
}

/** A route's path as a regular expression over the encoded path: each parameter is one non-empty segment. */
export function compilePath(path: string): { pattern: RegExp; params: string[] } {
  const params: string[] = [];
  const source = path
    .split('/')
    .map((seg) => {
      if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(seg.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), params };
}

function decodeSegment(raw: string, param: string, path: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw usageError(`the ${param} in ${path} is not valid percent-encoding (${JSON.stringify(raw)}): encode each path segment as UTF-8 with %XX escapes (encodeURIComponent)`);
  }
}

function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const all = query.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

/** Routes one request of `surface`; every error becomes a status and an ApiErrorBody. */
export function dispatcher<S extends Surface>(surface: S, handlers: Handlers<S>): (req: ApiRequest) => Promise<ApiResponse> {
  const table: Compiled[] = (Object.entries(ROUTES) as Array<[RouteName, RouteSpec]>)
    .filter(([, spec]) => spec.surface === surface)
    .map(([name, spec]) => ({ name, spec, ...compilePath(spec.path) }));
  return async (req) => {
    try {
      if (!req.path.startsWith(`${API_PREFIX}/`)) throw notFoundError(`no route ${req.method} ${req.path}: the API lives under ${API_PREFIX}/`);
      const path = req.path.slice(API_PREFIX.length);
      let pathMatched = false;
      for (const route of table) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        pathMatched = true;
        if (route.spec.method !== req.method) continue;
        if (route.spec.stream) throw usageError(`${req.method} ${req.path} is an event stream (text/event-stream): the API server serves it, not a handler`);
        return { status: route.spec.status ?? 200, body: await call(route, m.slice(1), req, handlers as Record<string, Handler<RouteName>>) };
      }
      if (pathMatched) return { status: 405, body: { error: { kind: 'usage', message: `${req.method} is not allowed on ${req.path}` } } satisfies ApiErrorBody };
      throw notFoundError(`no route ${req.method} ${req.path}`);
    } catch (err) {
      return errorResponse(err);
    }
  };
}

async function call(route: Compiled, raw: string[], req: ApiRequest, handlers: Record<string, Handler<RouteName>>): Promise<unknown> {
  const params: Record<string, string> = {};
  route.params.forEach((param, i) => {
    const value = decodeSegment(raw[i] as string, param, req.path);
    params[param] = check(PARAM_SCHEMAS[param as keyof typeof PARAM_SCHEMAS], value, `${param} in the path`, param);
  });
  const q = queryObject(req.query);
  let query: unknown = {};
  if (route.spec.query) query = check(QUERY_SCHEMAS[route.spec.query] as z.ZodType, q, 'query', '');
  else if (Object.keys(q).length > 0) throw usageError(`${req.method} ${req.path} takes no query parameters (got ${Object.keys(q).join(', ')})`);
  let body: unknown;
  if (route.spec.body) body = check(BODY_SCHEMAS[route.spec.body] as z.ZodType, req.body ?? {}, describeBody(route.spec.body), '');
  else if (req.body !== undefined && !isEmptyObject(req.body)) throw usageError(`${req.method} ${req.path} takes no request body: send none (or {})`);
  const handler = handlers[route.name];
  if (!handler) throw new LifeboatError('bug', `internal error (a bug in Lifeboat, please report it): route ${route.name} has no handler`);
  return handler({ params, body, query, actor: req.actor } as never);
}

const isEmptyObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** "NewMachineBody" → "machine", as the messages have always said ("invalid machine: …"). */
function describeBody(name: keyof BodySchemas): string {
  const words: Record<keyof BodySchemas, string> = { NewMachineBody: 'machine', MachinePatchBody: 'machine change', NewJobBody: 'job', NewScheduleBody: 'schedule', ScheduleRunBody: 'schedule run', SchedulePatchBody: 'schedule change', PruneBody: 'prune', ImagesPruneBody: 'prune', ImagePatchBody: 'image change', ImageImportBody: 'image import', NewMediumBody: 'boot medium' };
  return words[name];
}

export type { Routes };
