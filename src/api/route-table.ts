// Every route of the API, declared once: method, path (with :named parameters), the
// surface it lives on, the schemas of its body, parameters and query (by name, see
// schemas.ts), its success status and its response type. The server's dispatch
// (dispatch.ts) and the typed client (client.ts) are both derived from this table, so a
// route the client calls that the server lacks, or a handler answering the wrong type,
// fails to compile. No zod at run time here: the CLI loads this file, not the schemas.
//
// Surfaces: the operator API (Unix socket, named by the peer's uid) and, later, the agent
// API (TCP on the boot interface, one-job tokens, then TLS) are two surfaces of this one
// contract. Authentication belongs to the surface's transport, never to a handler.
import type { BodySchemas, ParamSchemas, QuerySchemas } from './schemas.js';
import type {
  ApplianceStatus,
  AuditEvent,
  BootMedium,
  Health,
  ImageManifest,
  ImageRecord,
  Job,
  JobView,
  LiveEvent,
  ThroughputHistory,
  LocalDevice,
  Machine,
  MachineWithDisks,
  NewBootMedium,
  PruneReport,
  Schedule,
  ScheduleRunResult,
  ScheduleView,
  ImageImportResult,
} from './wire.js';

export type Surface = 'operator' | 'agent';
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A type carried by the table without a value (the response a route answers with). */
export interface Returns<T> {
  readonly returns?: T;
}
const returns = <T>(): Returns<T> => ({});

export interface RouteSpec {
  method: Method;
  /** Below API_PREFIX; `:name` segments are parameters checked by PARAM_SCHEMAS[name]. */
  path: string;
  surface: Surface;
  body?: keyof BodySchemas;
  query?: keyof QuerySchemas;
  /** Success status (200 when not given). */
  status?: 200 | 201;
  response: Returns<unknown>;
  /** A Server-Sent Events stream of `response` values instead of one JSON answer. */
  stream?: true;
}

export const ROUTES = {
  health: { method: 'GET', path: '/health', surface: 'operator', response: returns<Health>() },
  appliance: { method: 'GET', path: '/appliance', surface: 'operator', response: returns<ApplianceStatus>() },
  throughput: { method: 'GET', path: '/appliance/throughput', surface: 'operator', response: returns<ThroughputHistory>() },
  devices: { method: 'GET', path: '/devices', surface: 'operator', response: returns<LocalDevice[]>() },

  machines: { method: 'GET', path: '/machines', surface: 'operator', query: 'MachineQuery', response: returns<Machine[]>() },
  addMachine: { method: 'POST', path: '/machines', surface: 'operator', body: 'NewMachineBody', status: 201, response: returns<Machine>() },
  machine: { method: 'GET', path: '/machines/:machine', surface: 'operator', response: returns<MachineWithDisks>() },
  editMachine: { method: 'PATCH', path: '/machines/:machine', surface: 'operator', body: 'MachinePatchBody', response: returns<Machine>() },
  removeMachine: { method: 'DELETE', path: '/machines/:machine', surface: 'operator', response: returns<Machine>() },
  wakeMachine: { method: 'POST', path: '/machines/:machine/wake', surface: 'operator', response: returns<{ machine: string; macs: string[] }>() },

  images: { method: 'GET', path: '/images', surface: 'operator', response: returns<ImageRecord[]>() },
  image: { method: 'GET', path: '/images/:image', surface: 'operator', response: returns<ImageManifest>() },
  editImage: { method: 'PATCH', path: '/images/:image', surface: 'operator', body: 'ImagePatchBody', response: returns<ImageRecord>() },
  pruneImages: { method: 'POST', path: '/images/prune', surface: 'operator', body: 'ImagesPruneBody', response: returns<PruneReport>() },
  removeImage: { method: 'DELETE', path: '/images/:image', surface: 'operator', response: returns<{ removed: string }>() },
  importImage: { method: 'POST', path: '/images/:image/import', surface: 'operator', body: 'ImageImportBody', response: returns<ImageImportResult>() },

  jobs: { method: 'GET', path: '/jobs', surface: 'operator', query: 'JobQuery', response: returns<JobView[]>() },
  createJob: { method: 'POST', path: '/jobs', surface: 'operator', body: 'NewJobBody', status: 201, response: returns<Job>() },
  job: { method: 'GET', path: '/jobs/:job', surface: 'operator', response: returns<JobView>() },
  cancelJob: { method: 'POST', path: '/jobs/:job/cancel', surface: 'operator', response: returns<Job>() },

  schedules: { method: 'GET', path: '/schedules', surface: 'operator', response: returns<ScheduleView[]>() },
  addSchedule: { method: 'POST', path: '/schedules', surface: 'operator', body: 'NewScheduleBody', status: 201, response: returns<ScheduleView>() },
  schedule: { method: 'GET', path: '/schedules/:schedule', surface: 'operator', response: returns<ScheduleView>() },
  editSchedule: { method: 'PATCH', path: '/schedules/:schedule', surface: 'operator', body: 'SchedulePatchBody', response: returns<ScheduleView>() },
  removeSchedule: { method: 'DELETE', path: '/schedules/:schedule', surface: 'operator', response: returns<Schedule>() },
  runSchedule: { method: 'POST', path: '/schedules/:schedule/run', surface: 'operator', body: 'ScheduleRunBody', status: 201, response: returns<ScheduleRunResult>() },
  pruneSchedule: { method: 'POST', path: '/schedules/:schedule/prune', surface: 'operator', body: 'PruneBody', response: returns<PruneReport>() },

  media: { method: 'GET', path: '/media', surface: 'operator', response: returns<BootMedium[]>() },
  createMedium: { method: 'POST', path: '/media', surface: 'operator', body: 'NewMediumBody', status: 201, response: returns<NewBootMedium>() },
  revokeMedium: { method: 'POST', path: '/media/:medium/revoke', surface: 'operator', response: returns<BootMedium>() },

  audit: { method: 'GET', path: '/audit', surface: 'operator', query: 'AuditQuery', response: returns<AuditEvent[]>() },
  events: { method: 'GET', path: '/events', surface: 'operator', stream: true, response: returns<LiveEvent>() },
} as const satisfies Record<string, RouteSpec>;

export type Routes = typeof ROUTES;
export type RouteName = keyof Routes;
/** Routes answering one JSON value (every one but the event stream). */
export type CallName = { [K in RouteName]: Routes[K] extends { stream: true } ? never : K }[RouteName];
export type RoutesOf<S extends Surface> = { [K in CallName]: Routes[K]['surface'] extends S ? K : never }[CallName];

/** The parameter names of a path, in order: '/jobs/:job/cancel' → ['job']. */
export type ParamList<P extends string> = P extends `${string}:${infer Name}/${infer Rest}` ? [Name, ...ParamList<`/${Rest}`>] : P extends `${string}:${infer Name}` ? [Name] : [];
export type ParamName<K extends RouteName> = ParamList<Routes[K]['path']>[number];
export type ResponseOf<K extends RouteName> = Routes[K]['response'] extends Returns<infer T> ? T : never;
export type BodyName<K extends RouteName> = Routes[K] extends { body: infer B extends keyof BodySchemas } ? B : never;
export type QueryName<K extends RouteName> = Routes[K] extends { query: infer Q extends keyof QuerySchemas } ? Q : never;

/** Every path parameter has a schema: a route naming one PARAM_SCHEMAS lacks does not compile. */
type UncheckedParams = { [K in RouteName]: Exclude<ParamName<K>, keyof ParamSchemas> }[RouteName];
export const everyParamHasASchema: [UncheckedParams] extends [never] ? true : UncheckedParams = true;
