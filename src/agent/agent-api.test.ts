// The agent API client and the HTTP chunk store against a tiny in-process server (fast
// cases: retry, backoff, cancel, refusals, keep-alive, pinning, has batching). The whole
// flow runs in test/agent.integration.test.ts and against the real daemon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MAX_HAS_BATCH } from '../api/agent-wire.js';
import { LifeboatError } from '../errors.js';
import { AgentApi, attemptTimeoutFor, isCancelled } from './agent-api.js';
import { PinMismatch } from './appliance-client.js';
import { agentFrameStager, askHas } from './http-chunks.js';

const TOKEN = 'tok_agent_api_test_0123456789';
const D = (n: number) => n.toString(16).padStart(64, '0');
let dir = '';
let tls = { key: '', cert: '', fingerprint: '' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-agent-api-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=lifeboat-test'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  tls = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert, fingerprint: createHash('sha256').update(new X509Certificate(cert).raw).digest('hex') };
});
after(() => rmSync(dir, { recursive: true, force: true }));

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse, n: number) => void;

async function serve(handler: Handler, server: Server = createServer()) {
  const seen: Array<{ method: string; url: string; at: number; body: Buffer }> = [];
  let connections = 0;
  server.on('connection', () => connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method ?? '', url: req.url ?? '', at: Date.now(), body });
      handler(req, body, res, seen.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    connections: () => connections,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const json = (res: ServerResponse, status: number, v: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
const fast = { baseDelayMs: 40, maxDelayMs: 200, retryForMs: 3000 };

test('a 503 and a dropped connection are retried with growing delays; the token goes with every request', async () => {
  const s = await serve((req, _b, res, n) => {
    if (n === 1) return json(res, 503, { error: 'busy' });
    if (n === 2) return req.socket.destroy();
    json(res, 200, { ok: n });
  });
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}/x`, token: TOKEN, fingerprint: null }, fast);
  try {
    assert.deepEqual(await api.json('POST', 'job/progress', { a: 1 }), { ok: 3 });
    assert.equal(s.seen.length, 3);
    assert.ok(s.seen.every((r) => r.url === '/x/agent/v1/job/progress'));
    const gaps = [s.seen[1]!.at - s.seen[0]!.at, s.seen[2]!.at - s.seen[1]!.at];
    assert.ok(gaps[0]! >= 35 && gaps[1]! >= 75, `backoff doubles: ${gaps}`);
  } finally {
    api.close();
    await s.close();
  }
});

test('an appliance that keeps failing: given up after retryForMs with a message naming it and what to check', async () => {
  const s = await serve((_req, _b, res) => json(res, 500, { error: 'boom' }));
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, { baseDelayMs: 20, maxDelayMs: 50, retryForMs: 300 });
  try {
    await assert.rejects(api.json('POST', 'job/finish', {}), (err: LifeboatError) => {
      assert.equal(err.kind, 'external');
      assert.match(err.message, new RegExp(`the appliance at http://127.0.0.1:${s.port} did not answer POST job/finish: HTTP 500 .*boom.*attempt\\(s\\).*check the network cable`));
      return true;
    });
    assert.ok(s.seen.length >= 3 && s.seen.length < 20, `${s.seen.length} attempts`);
  } finally {
    api.close();
    await s.close();
  }
});

test('409 cancelled stops at once (no retry); 401 and other 4xx carry the appliance\'s message', async () => {
  const answers: Array<[number, unknown]> = [[409, { error: 'cancelled by the operator', cancelled: true }], [401, { error: 'token ended' }], [400, { error: 'the body does not match the contract', issues: ['digests: expected at most 4096', 7] }], [409, { error: 'the job is not running' }]];
  const s = await serve((_req, _b, res, n) => json(res, ...(answers[n - 1] as [number, unknown])));
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, fast);
  try {
    const e1 = await api.json('POST', 'job/progress', {}).catch((e: unknown) => e);
    assert.ok(isCancelled(e1), String(e1));
    await assert.rejects(api.json('POST', 'job/progress', {}), /no longer accepts this job's token \(HTTP 401: token ended\)/);
    await assert.rejects(api.json('POST', 'job/chunks/has', {}), /refused POST job\/chunks\/has: HTTP 400: the body does not match the contract \(digests: expected at most 4096\)$/);
    const e4 = await api.json('POST', 'job/start', {}).catch((e: unknown) => e);
    assert.ok(!isCancelled(e4) && (e4 as LifeboatError).kind === 'user');
    assert.equal(s.seen.length, 4, 'none was retried');
  } finally {
    api.close();
    await s.close();
  }
});

test('keep-alive: many requests, one connection; an answer larger than the limit is refused', async () => {
  const s = await serve((req, _b, res) => (req.url?.endsWith('big') ? res.writeHead(200).end(Buffer.alloc(4096)) : json(res, 200, {})));
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, fast);
  try {
    for (let i = 0; i < 20; i++) await api.json('POST', 'job/progress', { i });
    assert.equal(s.connections(), 1);
    await assert.rejects(api.send('GET', 'big', null, 'x', { limit: 1000 }), /with more than 1000 bytes: refused/);
  } finally {
    api.close();
    await s.close();
  }
});

test('has: concurrent questions of a thread go in one request; more than MAX_HAS_BATCH are split', async () => {
  const s = await serve((_req, body, res) => json(res, 200, { present: (JSON.parse(body.toString()) as { digests: string[] }).digests.map((d) => d.endsWith('1')) }));
  const ref = { kind: 'agent' as const, url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null, api: fast };
  try {
    const stager = agentFrameStager(ref);
    assert.deepEqual(await Promise.all([stager.has(D(1)), stager.has(D(2)), stager.has(D(0x11))]), [true, false, true]);
    assert.equal(s.seen.length, 1);
    const many = Array.from({ length: MAX_HAS_BATCH + 5 }, (_, i) => D(i));
    const api = new AgentApi(ref, fast);
    const present = await askHas(api, many);
    api.close();
    assert.equal(present.length, many.length);
    assert.equal(present.filter(Boolean).length, many.filter((d) => d.endsWith('1')).length);
    assert.deepEqual(s.seen.slice(1).map((r) => (JSON.parse(r.body.toString()) as { digests: string[] }).digests.length), [MAX_HAS_BATCH, 5]);
  } finally {
    await s.close();
  }
});

test('https: the pinned certificate is checked on every connection; a mismatch sends nothing and is not retried', async () => {
  const s = await serve((_req, _b, res) => json(res, 200, { stored: true }), createHttpsServer({ key: tls.key, cert: tls.cert }));
  try {
    const good = agentFrameStager({ kind: 'agent', url: `https://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: tls.fingerprint, api: fast });
    assert.equal(await good.stage(D(5), Buffer.from('frame'), 5), true);
    assert.equal(s.seen[0]!.url, `/agent/v1/job/chunks/${D(5)}?raw=5`);
    const wrong = tls.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const bad = agentFrameStager({ kind: 'agent', url: `https://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: wrong, api: fast });
    const started = Date.now();
    await assert.rejects(bad.stage(D(6), Buffer.from('frame'), 5), (err) => err instanceof PinMismatch);
    assert.ok(Date.now() - started < 1000, 'not retried');
    assert.equal(s.seen.length, 1, 'nothing was sent over the mismatched connection');
  } finally {
    await s.close();
  }
});

test('one attempt waits half the retry window for an answer, 2.5 to 30 s', () => {
  assert.deepEqual([1000, 5000, 10_000, 20_000, 60_000, 120_000, 3_600_000].map(attemptTimeoutFor), [2500, 2500, 5000, 10_000, 30_000, 30_000, 30_000]);
});

test('an appliance gone quiet (a cut link): the hung attempt gives up after half the window, the retry goes through; the console hears both', async () => {
  const s = await serve((_req, _b, res, n) => (n === 1 ? undefined : json(res, 200, { ok: n }))); // the first answer never comes
  const said: string[] = [];
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, { retryForMs: 5000, baseDelayMs: 40, announce: true }, (l) => said.push(l));
  try {
    const started = Date.now();
    assert.deepEqual(await api.json('POST', 'job/progress', {}), { ok: 2 });
    const retryAt = (s.seen[1]?.at ?? 0) - started;
    assert.ok(retryAt >= 2400 && retryAt < 4000, `retried after the attempt timeout of 2.5 s: ${retryAt} ms`);
    assert.equal(said.length, 2, said.join('\n'));
    assert.match(said[0] ?? '', /^the appliance did not answer POST job\/progress \(no answer within 2500 ms\): retrying for up to 5 s$/);
    assert.match(said[1] ?? '', /^the appliance answers again after \d+\.\d s$/);
  } finally {
    api.close();
    await s.close();
  }
});

test('a PUT whose frame arrived but whose answer was lost: the retry asks `has` and does not send the frame again', async () => {
  const stored = new Set<string>();
  const s = await serve((req, body, res) => {
    if (req.method === 'PUT') {
      stored.add(/chunks\/([0-9a-f]{64})/.exec(req.url ?? '')?.[1] ?? '?');
      return; // the frame arrived; its answer is lost (the link went down)
    }
    json(res, 200, { present: (JSON.parse(body.toString()) as { digests: string[] }).digests.map((d) => stored.has(d)) });
  });
  try {
    const stager = agentFrameStager({ kind: 'agent', url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null, api: { ...fast, timeoutMs: 300 } });
    assert.equal(await stager.stage(D(9), Buffer.from('frame'), 5), false, 'the store had it: not new by this upload');
    assert.deepEqual(s.seen.map((r) => r.method), ['PUT', 'POST'], 'one PUT, then one question; the frame was not sent twice');
    assert.equal(s.seen[1]?.url, '/agent/v1/job/chunks/has');
  } finally {
    await s.close();
  }
});

test('the `has` asked before a retried PUT shares the upload\'s retry window (not a window of its own)', async () => {
  const s = await serve(() => undefined); // nothing is ever answered
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, { retryForMs: 2000, timeoutMs: 300, baseDelayMs: 40, maxDelayMs: 200 });
  try {
    const started = Date.now();
    await assert.rejects(
      api.send('PUT', `job/chunks/${D(3)}?raw=5`, Buffer.from('frame'), 'application/octet-stream', { beforeRetry: async (until) => ((await askHas(api, [D(3)], until))[0] ? { status: 200, body: Buffer.from('{}') } : null) }),
      (err: LifeboatError) => err.kind === 'external' && /did not answer POST job\/chunks\/has: no answer within 300 ms/.test(err.message),
    );
    const took = Date.now() - started;
    assert.ok(took >= 1500 && took < 3200, `gave up at the end of the one window: ${took} ms`);
    assert.equal(s.seen.filter((r) => r.method === 'PUT').length, 1);
  } finally {
    api.close();
    await s.close();
  }
});

test('one outage, one window: a request that starts failing late in it gives up with the first, not a window later', async () => {
  const s = await serve(() => undefined); // nothing is ever answered
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, { retryForMs: 2000, timeoutMs: 300, baseDelayMs: 40, maxDelayMs: 200 });
  try {
    const started = Date.now();
    const ended = (p: Promise<unknown>) => p.then(() => ({ at: -1, kind: 'answered' }), (e: LifeboatError) => ({ at: Date.now() - started, kind: e.kind }));
    const first = ended(api.json('POST', 'job/progress', {}));
    await new Promise((r) => setTimeout(r, 1200));
    const late = await ended(api.json('POST', 'job/chunks/has', { digests: [] }));
    const { at: firstAt, kind } = await first;
    assert.deepEqual([kind, late.kind], ['external', 'external']);
    const lateAt = late.at;
    assert.ok(firstAt >= 1900 && firstAt < 3000, `the first gave up at the end of its window: ${firstAt} ms`);
    assert.ok(lateAt < firstAt + 700, `the late one gave up with it (${lateAt} ms), not 2 s after its own first failure`);
  } finally {
    api.close();
    await s.close();
  }
});

test('a refusal after an outage is an answer: the next outage gets a whole window', async () => {
  let silent = true;
  const s = await serve((_req, _b, res) => (silent ? undefined : json(res, 401, { error: 'token ended' })));
  const api = new AgentApi({ url: `http://127.0.0.1:${s.port}`, token: TOKEN, fingerprint: null }, { retryForMs: 1500, timeoutMs: 300, baseDelayMs: 40, maxDelayMs: 200 });
  try {
    const first = api.json('POST', 'job/progress', {}).catch((e: LifeboatError) => e);
    await new Promise((r) => setTimeout(r, 700));
    silent = false;
    assert.match(String(await first), /no longer accepts this job's token/);
    silent = true;
    await new Promise((r) => setTimeout(r, 1000)); // past where the first outage's window would have ended
    const started = Date.now();
    await assert.rejects(api.json('POST', 'job/progress', {}), (e: LifeboatError) => e.kind === 'external');
    assert.ok(Date.now() - started >= 1400, `a whole window again: ${Date.now() - started} ms`);
  } finally {
    api.close();
    await s.close();
  }
});
