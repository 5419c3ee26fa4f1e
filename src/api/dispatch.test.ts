// The route table's two derivations against each other: every route the typed client
// can call reaches its own handler through the real socket server and the dispatch, with
// the parameters, body and query the client sent; and what the dispatch refuses before
// any handler runs (malformed percent-encoding, parameters, queries and bodies outside
// their schemas), with a fuzz of hostile paths that must never become a 500.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient, type Args } from './client.js';
import { type ApiRequest, type Handlers, compilePath, dispatcher } from './dispatch.js';
import { type CallName, ROUTES, type RoutesOf } from './route-table.js';
import { splitTarget, startApiServer } from './server.js';
import type { ApiErrorBody } from './wire.js';

const operatorRoutes = (Object.keys(ROUTES) as CallName[]).filter((k) => !('stream' in ROUTES[k]));
/** Each handler answers with what it was given, so the test sees what arrived. */
const echo = Object.fromEntries(operatorRoutes.map((name) => [name, async (input: unknown) => ({ route: name, ...(input as object) })])) as unknown as Handlers<'operator'>;
const handle = dispatcher('operator', echo);
const req = (method: string, pathWithQuery: string, body?: unknown): ApiRequest => {
  const [path, q] = pathWithQuery.split('?');
  return { method, path: path as string, query: new URLSearchParams(q ?? ''), body, actor: 'alice' };
};
const error = (r: { body: unknown }) => (r.body as ApiErrorBody).error;

/** Valid arguments for every route, as a client passes them. A new route without an entry fails to compile. */
const SAMPLES: { [K in RoutesOf<'operator'>]: Args<K> } = {
  health: [],
  appliance: [],
  throughput: [],
  devices: [],
  machines: [{ group: 'office' }],
  addMachine: [{ name: 'pc-1', macs: ['52:54:00:00:00:01'] }],
  machine: ['pc 1/é'],
  editMachine: ['pc-1', { notes: 'by the window' }],
  removeMachine: ['pc-1'],
  wakeMachine: ['pc-1'],
  images: [],
  image: ['20261125T180000Z-0000abcd'],
  removeImage: ['20261125T180000Z-0000abcd'],
  importImage: ['20261125T180000Z-0000abcd', { from: '/var/lib/lifeboat/docked/usb/lifeboat-store' }],
  editImage: ['20261125T180000Z-0000abcd', { protected: true }],
  pruneImages: [{ retention: { keepLast: 2 }, dryRun: true }],
  jobs: [{ state: ['running', 'queued'] }],
  createJob: [{ type: 'verify', image: '20261125T180000Z-0000abcd' }],
  job: ['0123456789ab'],
  cancelJob: ['0123456789ab'],
  schedules: [],
  addSchedule: [{ name: 'nightly', machines: ['pc-1'], calendar: 'daily' }],
  schedule: ['nightly'],
  editSchedule: ['nightly', { enabled: false }],
  removeSchedule: ['nightly'],
  runSchedule: ['nightly', { bootTimeoutSeconds: 60 }],
  pruneSchedule: ['nightly', { dryRun: true }],
  media: [],
  createMedium: [{ machine: 'pc-1', server: 'https://192.168.1.10:8443' }],
  revokeMedium: ['0123456789ab'],
  audit: [],
};

let dir: string;
let server: Server;
let client: ApiClient;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), `lifeboat-dispatch-${process.pid}-`));
  server = await startApiServer(join(dir, 'api.sock'), { handle, subscribe: () => () => {} });
  client = new ApiClient(join(dir, 'api.sock'), 'alice');
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('every route the client can call reaches its handler through the socket with what the client sent', async () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...operatorRoutes].sort(), 'a sample for each route');
  for (const name of operatorRoutes) {
    const args = SAMPLES[name as keyof typeof SAMPLES] as unknown[];
    const got = (await (client[name] as (...a: unknown[]) => Promise<unknown>)(...args)) as { route: string; params: Record<string, string>; body: unknown; query: Record<string, unknown> };
    assert.equal(got.route, name);
    const spec = ROUTES[name];
    const { params } = compilePath(spec.path);
    assert.deepEqual(Object.values(got.params), args.slice(0, params.length), `${name}: path parameters arrive decoded`);
    const rest = args[params.length];
    if ('body' in spec) assert.deepEqual(got.body, rest ?? {}, `${name}: body`);
    else assert.equal(got.body, undefined, `${name}: no body`);
    if ('query' in spec) assert.ok(rest === undefined || Object.keys(rest as object).every((k) => k in got.query), `${name}: query`);
  }
});

test('the query a client sends arrives checked: one value or many, unknown keys refused', async () => {
  assert.deepEqual((await handle(req('GET', '/v1/jobs?state=running'))).body, { route: 'jobs', params: {}, body: undefined, query: { state: ['running'] }, actor: 'alice' });
  assert.deepEqual(((await handle(req('GET', '/v1/machines?group=office'))).body as { query: unknown }).query, { group: 'office' });
  const bogus = await handle(req('GET', '/v1/jobs?state=running&state=bogus'));
  assert.equal(bogus.status, 400);
  assert.match(error(bogus).message, /state\.1: is not a job state/);
  assert.equal((await handle(req('GET', '/v1/machines?group=a&group=b'))).status, 400);
  assert.deepEqual(((await handle(req('GET', '/v1/jobs?limit=5&since=2026-12-01'))).body as { query: unknown }).query, { limit: 5, since: '2026-12-01' });
  assert.match(error(await handle(req('GET', '/v1/jobs?limit=0'))).message, /limit: must be at least 1/);
  assert.match(error(await handle(req('GET', '/v1/jobs?since=yesterday'))).message, /since: is not a time/);
  assert.match(error(await handle(req('GET', '/v1/jobs?colour=red'))).message, /colour/);
  assert.match(error(await handle(req('GET', '/v1/images?x=1'))).message, /takes no query parameters \(got x\)/);
});

test('malformed percent-encoding in a path is a 400 that says so, not a bug', async () => {
  for (const [method, path] of [
    ['GET', '/v1/images/%E0%A4%A'],
    ['DELETE', '/v1/machines/%'],
    ['GET', '/v1/machines/%ZZ'],
    ['POST', '/v1/jobs/%C3%28/cancel'],
  ] as const) {
    const r = await handle(req(method, path));
    assert.equal(r.status, 400, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(error(r).kind, 'usage');
    assert.match(error(r).message, /is not valid percent-encoding .*encodeURIComponent/);
  }
});

test('path parameters are checked by their schema before a handler runs', async () => {
  const image = await handle(req('GET', '/v1/images/..%2F..%2Fetc%2Fpasswd'));
  assert.equal(image.status, 400);
  assert.match(error(image).message, /image: is not an image id/);
  assert.match(error(await handle(req('POST', '/v1/jobs/not-a-job/cancel'))).message, /job: is not a job id/);
  assert.equal((await handle(req('DELETE', `/v1/machines/${'x'.repeat(64)}`))).status, 400);
  assert.equal((await handle(req('GET', '/v1/schedules/night%2Dly'))).status, 200, 'an encoded character is decoded first');
});

test('bodies: checked by the route\'s schema; a route without one takes none', async () => {
  const bad = await handle(req('POST', '/v1/schedules/nightly/run', { bootTimeoutSeconds: -1, extra: true }));
  assert.equal(bad.status, 400);
  assert.equal(error(bad).issues?.length, 2, JSON.stringify(error(bad)));
  assert.equal((await handle(req('POST', '/v1/jobs/0123456789ab/cancel', {}))).status, 200);
  const withBody = await handle(req('POST', '/v1/jobs/0123456789ab/cancel', { force: true }));
  assert.equal(withBody.status, 400);
  assert.match(error(withBody).message, /takes no request body/);
  assert.equal((await handle(req('DELETE', '/v1/machines/pc-1', ['x']))).status, 400);
});

test('404 and 405 name the request; the event stream is not a handler route', async () => {
  assert.match(error(await handle(req('GET', '/v2/machines'))).message, /lives under \/v1/);
  assert.equal((await handle(req('GET', '/v1/nothing'))).status, 404);
  assert.equal((await handle(req('PUT', '/v1/machines/pc-1'))).status, 405);
  assert.equal((await handle(req('GET', '/v1/events'))).status, 400);
});

test('request targets: the path stays as sent (no dot-segment resolution), the query apart; other forms are refused', async () => {
  assert.deepEqual(splitTarget('/v1/jobs/../machines?state=a&state=b'), { path: '/v1/jobs/../machines', query: new URLSearchParams('state=a&state=b') });
  assert.equal((await handle(req('GET', '/v1/jobs/../machines'))).status, 404);
  assert.equal((await handle(req('DELETE', '/v1/machines/pc-1/../pc-2'))).status, 404);
  assert.equal(splitTarget('*'), null);
  assert.equal(splitTarget('http://lifeboat/v1/health'), null);
  assert.equal(splitTarget(undefined), null);
});

test('surfaces are apart: a dispatcher serves only its own surface\'s routes (the agent surface has none yet)', async () => {
  const agent = dispatcher('agent', {});
  const r = await agent(req('GET', '/v1/machines'));
  assert.equal(r.status, 404);
  assert.equal((await agent(req('GET', '/v1/health'))).status, 404);
});

test('fuzz: random hostile paths, queries and bodies never become a 500', async () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  const pieces = ['/v1', '/machines', '/images', '/jobs', '/schedules', '/run', '/prune', '/cancel', '/%', '/%E0%A4', '/%00', '/..', '//', '/pc-1', '/0123456789ab', '?state=', '?group=%', '&x=1', '/%2F', '/\u00e9', '/20261125T180000Z-0000abcd'];
  const bodies = [undefined, {}, [], null, 'text', 42, { type: 'backup' }, { __proto__: { x: 1 } }, { name: { $gt: '' } }];
  for (let i = 0; i < 3000; i++) {
    const path = Array.from({ length: 1 + rnd(5) }, () => pieces[rnd(pieces.length)]).join('');
    const method = (['GET', 'POST', 'PATCH', 'DELETE', 'PUT'] as const)[rnd(5)] as string;
    const r = await handle(req(method, path, bodies[rnd(bodies.length)]));
    assert.ok(r.status < 500, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  }
});

// What must not compile: the table keeps client, handlers and answers in line.
export function typeChecks(c: ApiClient, h: Handlers<'operator'>): void {
  // @ts-expect-error a route the table does not have
  void c.rebootAppliance();
  // @ts-expect-error a path parameter is missing
  void c.machine();
  // @ts-expect-error a body outside the schema's type
  void c.createJob({ type: 'format' });
  // @ts-expect-error a handler answering another route's type
  const wrong: Handlers<'operator'> = { ...h, health: h.machines };
  // @ts-expect-error a handler missing
  const missing: Handlers<'operator'> = { health: h.health };
  void wrong;
  void missing;
}

test('schema problems read like the rest of Lifeboat, not like zod', async () => {
  const issues = async (path: string, body: unknown) => error(await handle({ ...req('POST', path), body })).issues ?? [];
  assert.deepEqual(await issues('/v1/machines', { name: 'kiosk', macs: [] }), ['macs: needs at least 1 item']);
  assert.deepEqual(await issues('/v1/machines', { name: 'kiosk' }), ['macs: is missing (an array is needed)']);
  assert.deepEqual(await issues('/v1/machines', { name: '', macs: ['x'], colour: 'red' }), ['name: must not be empty', '(body): unknown field colour: leave it out']);
  assert.deepEqual(await issues('/v1/machines', { name: 'kiosk', macs: ['x'], bootLoader: 'grub' }), ['bootLoader: must be one of "auto", "ipxe", "ipxe-full", "signed"']);
  assert.deepEqual(await issues('/v1/schedules', { name: 'n', machines: ['a'], calendar: 'daily', retention: { keepLast: 0 } }), ['retention.keepLast: must be at least 1']);
  for (const i of [...(await issues('/v1/machines', { name: 7, macs: 'x' })), ...(await issues('/v1/jobs', { type: 'restore', image: 'nope', device: '/x' }))]) {
    assert.doesNotMatch(i, /Too small|Too big|Invalid input|expected .* to have/, i);
  }
});
