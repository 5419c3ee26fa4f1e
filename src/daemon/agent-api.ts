// The agent API's router (paths of agent-wire.ts under /agent/v1, mounted on the boot
// interface's HTTP server): the token decides everything a request may reach. A job token
// reaches its own job only (no path names a job); an inventory token says hello and nothing
// else; a backup token stages and commits, a restore token reads its image's chunks. An
// unknown, expired or ended token is 401; a job the operator cancelled is 409 `cancelled`.
// Bad input is a 4xx that says what was wrong; a misbehaving upload fails its own job; no
// request takes the service down (an unexpected error is logged and answered 500).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AGENT_PATHS, AGENT_PREFIX, MAX_HAS_BATCH } from '../api/agent-wire.js';
import { AgentHello, DIGEST, EndBody, FinishBody, HasBody, ProgressBody, RawSize, StartBody, StoredBody } from '../api/agent-schemas.js';
import { LifeboatError, httpStatusFor } from '../errors.js';
import type { ManagementStore } from '../db/index.js';
import type { AgentTokens, TokenScope } from './agent-tokens.js';
import { acceptHello } from './agent-hello.js';
import { type MediumTokenScope, type MediumTokens, helloIdentity } from './medium-tokens.js';
import { AgentRefusal, bearerToken, readBody, readJson, sendBytes, sendJson } from './agent-http.js';
import type { AgentJob, AgentJobs } from './agent-jobs.js';
import type { EventHub } from './event-hub.js';

const KIB = 1024;
const LIMITS = { hello: 1 << 20, start: 4 * KIB, has: MAX_HAS_BATCH * 70 + KIB, progress: 2 * KIB, finish: 512 * KIB, stored: 512 * KIB, end: 80 * KIB };
const UNKNOWN_TOKEN = 'the token is unknown, expired or its job has ended: start the job again from the appliance';

type JobScope = Extract<TokenScope, { kind: 'job' }>;

export interface AgentApiOptions {
  db: ManagementStore;
  tokens: AgentTokens;
  hub: EventHub;
  jobs: AgentJobs;
  /** Boot media's tokens (database, hashed): accepted on hello only, which hands out the job's own token. */
  media?: MediumTokens;
  log: (level: 'info' | 'warning', msg: string, fields?: Record<string, unknown>) => void;
}

/** The agent routes, for the HTTP boot server's extraRoutes: true when the request was one of them. */
export function agentRoutes(o: AgentApiOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url ?? '';
    if (!url.startsWith('/agent/')) return false;
    try {
      await route(o, req, res);
    } catch (err) {
      if (err instanceof AgentRefusal) {
        if (err.status === 413) res.shouldKeepAlive = false; // the rest of the body was not read
        sendJson(res, err.status, { error: err.message, ...err.extra, ...(err.extra.fatal ? { fatal: undefined } : {}) });
      } else if (err instanceof LifeboatError && err.kind !== 'bug') {
        sendJson(res, httpStatusFor(err), { error: err.message });
      } else {
        o.log('warning', 'agent request failed inside the appliance', { url: url.slice(0, 200), error: (err as Error)?.stack ?? String(err) });
        sendJson(res, 500, { error: 'the appliance failed to answer this request (a bug: see its log); try again' });
      }
    }
    return true;
  };
}

async function route(o: AgentApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://agent.invalid');
  } catch {
    throw new AgentRefusal(400, 'the request path is not a URL path');
  }
  const { pathname, searchParams } = url;
  if (!pathname.startsWith(`${AGENT_PREFIX}/`)) throw new AgentRefusal(404, 'no such agent route');
  const path = pathname.slice(AGENT_PREFIX.length + 1);
  const named = (Object.values(AGENT_PATHS) as string[]).includes(path);
  const chunk = named ? null : /^job\/chunks\/([^/]+)$/.exec(path);
  const known = named || chunk !== null;
  if (!known) throw new AgentRefusal(404, 'no such agent route');
  const token = bearerToken(req);
  const scope = token ? o.tokens.verify(token) : null;
  // A boot medium's token reaches a job only through the hello's answer, never a job route.
  if (!scope && token && path === AGENT_PATHS.hello && o.media) {
    const medium = await o.media.verify(token);
    if (medium) return mediumHello({ ...o, media: o.media }, req, res, medium);
  }
  if (!scope) {
    o.log('warning', 'agent request refused: no valid token', { peer: req.socket.remoteAddress, path: path.slice(0, 80) });
    throw new AgentRefusal(401, UNKNOWN_TOKEN);
  }
  if (path === AGENT_PATHS.hello) return hello(o, req, res, scope);
  if (scope.kind !== 'job') throw new AgentRefusal(403, 'an inventory token may only say hello');
  const method = req.method ?? 'GET';
  const expect = (m: string) => {
    if (method !== m) throw new AgentRefusal(405, `${m} only`);
  };
  if (path === AGENT_PATHS.start) {
    expect('POST');
    o.jobs.assertNotCancelled(scope.jobId);
    const body = await readJson(req, StartBody, LIMITS.start, 'the start');
    return sendJson(res, 200, await o.jobs.start(scope.jobId, body.disk));
  }
  if (path === AGENT_PATHS.end) {
    expect('POST');
    const body = await readJson(req, EndBody, LIMITS.end, 'the end');
    if (o.jobs.has(scope.jobId)) await o.jobs.agentEnded(o.jobs.running(scope.jobId, { ending: true }), body);
    else await o.jobs.endBeforeStart(scope.jobId, body);
    return sendJson(res, 200, {});
  }
  const job = o.jobs.running(scope.jobId);
  if (path === AGENT_PATHS.progress) {
    expect('POST');
    o.jobs.progress(job, await readJson(req, ProgressBody, LIMITS.progress, 'the progress'));
    return sendJson(res, 200, {});
  }
  if (chunk) return chunkRoute(o, req, res, scope, job, chunk[1] as string, searchParams);
  if (path === AGENT_PATHS.stored) {
    expect('POST');
    await o.jobs.stored(job, await readJson(req, StoredBody, LIMITS.stored, 'the report of the stored image'));
    return sendJson(res, 200, {});
  }
  const backup = job.backup;
  if (!backup) throw new AgentRefusal(403, `a ${job.type} token may not use ${path}`);
  switch (path) {
    case AGENT_PATHS.parentIndex:
      expect('GET');
      return sendBytes(res, await backup.parentIndex());
    case AGENT_PATHS.parentFingerprints:
      expect('GET');
      return sendBytes(res, await backup.parentFingerprints());
    case AGENT_PATHS.has: {
      expect('POST');
      const body = await readJson(req, HasBody, LIMITS.has, 'the has request');
      return sendJson(res, 200, { present: await backup.has(body.digests) });
    }
    case AGENT_PATHS.index:
      expect('PUT');
      backup.putIndex(await readBody(req, backup.limits.index, 'the index of this disk'));
      return sendJson(res, 200, {});
    case AGENT_PATHS.fingerprints:
      expect('PUT');
      backup.putFingerprints(await readBody(req, backup.limits.fingerprints, 'the fingerprints of this disk'));
      return sendJson(res, 200, {});
    case AGENT_PATHS.finish: {
      expect('POST');
      const body = await readJson(req, FinishBody, LIMITS.finish, 'the finish');
      return sendJson(res, 200, await o.jobs.finish(job, body));
    }
  }
  throw new AgentRefusal(404, 'no such agent route');
}

async function hello(o: AgentApiOptions, req: IncomingMessage, res: ServerResponse, scope: TokenScope): Promise<void> {
  if (req.method !== 'POST') throw new AgentRefusal(405, 'POST only');
  if (scope.kind === 'job') o.jobs.assertNotCancelled(scope.jobId);
  const body = await readJson(req, AgentHello, LIMITS.hello, 'the hello');
  const { machine, answer } = await acceptHello(o.db, scope, body);
  o.hub.publish({ type: 'log', ...(scope.kind === 'job' ? { jobId: scope.jobId } : {}), level: 'info', message: `${machine}: the agent said hello (${body.inventory.disks.length} disk(s))`, at: new Date().toISOString() });
  o.log('info', 'agent hello', { machine, scope: scope.kind });
  sendJson(res, 200, answer);
}

/** A boot medium's hello: its machine (or a machine registered now) and, when that machine has a waiting job, the job with its one-job token. */
async function mediumHello(o: AgentApiOptions & { media: MediumTokens }, req: IncomingMessage, res: ServerResponse, medium: MediumTokenScope): Promise<void> {
  if (req.method !== 'POST') throw new AgentRefusal(405, 'POST only');
  const body = await readJson(req, AgentHello, LIMITS.hello, 'the hello');
  const granted = await o.media.forHello(medium, helloIdentity(body));
  const { machine, answer } = await acceptHello(o.db, granted.scope, body);
  o.hub.publish({ type: 'log', ...(granted.scope.kind === 'job' ? { jobId: granted.scope.jobId } : {}), level: 'info', message: `${machine}: the agent of a boot medium said hello (${body.inventory.disks.length} disk(s))`, at: new Date().toISOString() });
  o.log('info', 'agent hello', { machine, scope: medium.kind });
  sendJson(res, 200, granted.jobToken ? { ...answer, token: granted.jobToken } : answer);
}

/** PUT (backup: stage a frame) or GET (restore: a frame of its image) job/chunks/<digest>. */
async function chunkRoute(o: AgentApiOptions, req: IncomingMessage, res: ServerResponse, scope: JobScope, job: AgentJob, digest: string, query: URLSearchParams): Promise<void> {
  if (!DIGEST.test(digest)) throw new AgentRefusal(404, 'a chunk is named by its SHA-256: 64 lowercase hex digits');
  if (req.method === 'GET') {
    if (!job.restore) throw new AgentRefusal(403, 'a backup token may not read chunks');
    return sendBytes(res, await job.restore.frame(digest));
  }
  if (req.method !== 'PUT') throw new AgentRefusal(405, 'PUT (backup) or GET (restore) only');
  const backup = job.backup;
  if (!backup) throw new AgentRefusal(403, 'a restore token may not write chunks');
  const raw = RawSize.safeParse(query.get('raw') ?? '');
  if (!raw.success || [...query.keys()].length !== 1) throw new AgentRefusal(400, 'give the chunk\'s uncompressed size as ?raw=<bytes> and nothing else');
  try {
    const frame = await readBody(req, backup.limits.frame, `the frame of chunk ${digest}`);
    return sendJson(res, 200, { stored: await backup.stage(digest, frame, raw.data) });
  } catch (err) {
    if (err instanceof AgentRefusal && (err.extra.fatal || err.status === 413)) {
      await o.jobs.misbehaved(job, err.message);
      o.log('warning', 'agent upload refused: its job failed', { job: scope.jobId, error: err.message });
    }
    throw err;
  }
}
