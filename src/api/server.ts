// The operator surface on a Unix socket: HTTP/1.1, JSON bodies (at most MAX_BODY bytes),
// and GET /v1/events as a Server-Sent Events stream of live job progress and state
// changes. Authentication is this surface's, done here before any handler runs: the
// socket is mode 0660 (group from the caller) and a request that changes something is
// named by the peer's uid (peer.ts). The socket is created after removing a stale one.
import { chmodSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';
import { conflictError, describeSystemError } from '../errors.js';
import { API_PREFIX, MAX_BODY, OPERATOR_HEADER } from './constants.js';
import { type ApiRequest, type ApiResponse, errorResponse } from './dispatch.js';
import { actorName, peerCredentials } from './peer.js';
import { ROUTES } from './route-table.js';
import type { LiveEvent } from './wire.js';
import { LifeboatError } from '../errors.js';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new LifeboatError('usage', `request body over ${MAX_BODY} bytes`), { status: 413 });
    parts.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new LifeboatError('usage', 'request body is not valid JSON');
  }
}

/** What the socket serves: the operator surface's dispatch (routes.ts: operatorApi) and its live events. */
export interface OperatorSurface {
  handle(req: ApiRequest): Promise<ApiResponse>;
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

function serveEvents(req: IncomingMessage, res: ServerResponse, surface: OperatorSurface): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': lifeboat live events\n\n');
  const leave = surface.subscribe((event) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`));
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  req.on('close', () => {
    clearInterval(ping);
    leave();
  });
}

/**
 * The request's path (still percent-encoded, never normalized: `/jobs/x/../y` is not
 * `/jobs/y`, and a `..` reaches a parameter's schema) and its query; null when the
 * target is not an origin-form path (`*`, `http://…`).
 */
export function splitTarget(url: string | undefined): { path: string; query: URLSearchParams } | null {
  if (!url?.startsWith('/')) return null;
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}

export async function startApiServer(socketPath: string, surface: OperatorSurface, opts: { gid?: number } = {}): Promise<Server> {
  if (existsSync(socketPath)) {
    // A socket someone answers on belongs to a running daemon; a dead one is left over.
    const alive = await new Promise<boolean>((resolve) => {
      const c = connect(socketPath, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (alive) throw conflictError(`${socketPath} is in use by a running daemon: stop it first`);
    unlinkSync(socketPath);
  }
  const server = createServer((req, res) => {
    const url = splitTarget(req.url);
    if (!url) return send(res, 400, errorResponse(new LifeboatError('usage', `the request target ${JSON.stringify((req.url ?? '').slice(0, 200))} is not a path: ask for ${API_PREFIX}/…`)).body);
    if (req.method === 'GET' && url.path === `${API_PREFIX}${ROUTES.events.path}`) return serveEvents(req, res, surface);
    const claimed = req.headers[OPERATOR_HEADER];
    // Only requests that change something are audited: only they pay for the peer lookup.
    const who = req.method === 'GET' ? Promise.resolve('reader') : peerCredentials(req.socket).then((peer) => actorName(peer, typeof claimed === 'string' ? claimed : undefined));
    Promise.all([readBody(req), who])
      .then(([body, actor]) => surface.handle({ method: req.method ?? 'GET', path: url.path, query: url.query, body, actor }))
      .then((r) => send(res, r.status, r.body))
      .catch((err: unknown) => {
        const r = errorResponse(err);
        send(res, r.status, r.body);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(describeSystemError(err, `operator socket ${socketPath}`)));
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  if (opts.gid !== undefined) chownSync(socketPath, process.getuid?.() ?? 0, opts.gid);
  return server;
}
