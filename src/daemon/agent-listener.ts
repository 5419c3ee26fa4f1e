// The agent API's own listener: HTTPS on the boot interface with the appliance's
// certificate (tls-identity.ts), serving only the agent routes. Agents pin the
// certificate's fingerprint, so this is where their tokens travel. Every client is a
// stranger on the LAN: bounded headers, timeouts for the handshake, the headers, the
// request and idle keep-alive connections, a cap on connections, and a client that
// fails the handshake or sends garbage only loses its own connection.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface AgentListenerOptions {
  host: string;
  /** 0 picks a free port */
  port: number;
  key: string;
  cert: string;
  /** The agent routes: true when the request was one of them. */
  routes: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  onEvent?: (e: AgentListenerEvent) => void;
  /** Defaults suit agents on a LAN; tests shorten them. */
  limits?: Partial<typeof LIMITS>;
}

export type AgentListenerEvent =
  | { type: 'tls-refused'; peer: string; reason: string; /** refusals not reported since the last event */ unreported: number }
  | { type: 'failed'; peer: string; path: string; reason: string };

export interface AgentListenerCounters {
  connections: number;
  requests: number;
  tlsErrors: number;
  errors: number;
}

export const LIMITS = {
  handshakeMs: 10_000,
  headersMs: 15_000,
  /** a whole request, body included (chunk uploads are bounded elsewhere) */
  requestMs: 120_000,
  keepAliveMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 512,
};

/** At most one TLS refusal reported per this many ms: a scanner must not flood the log. */
const REPORT_EVERY_MS = 10_000;

export class AgentListener {
  readonly counters: AgentListenerCounters = { connections: 0, requests: 0, tlsErrors: 0, errors: 0 };
  private lastReport = 0;
  private unreported = 0;

  private constructor(
    private readonly server: Server,
    private readonly opts: AgentListenerOptions,
  ) {}

  static async start(opts: AgentListenerOptions): Promise<AgentListener> {
    const limits = { ...LIMITS, ...opts.limits };
    const server = createServer({
      key: opts.key,
      cert: opts.cert,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.handshakeMs,
      maxHeaderSize: limits.maxHeaderBytes,
      requestTimeout: limits.requestMs,
      headersTimeout: limits.headersMs,
      keepAlive: true,
      connectionsCheckingInterval: Math.min(1000, limits.headersMs),
    });
    server.keepAliveTimeout = limits.keepAliveMs;
    server.timeout = limits.requestMs; // a connection silent this long goes, whatever state it is in
    server.maxConnections = limits.maxConnections;
    const self = new AgentListener(server, opts);
    server.on('connection', () => self.counters.connections++);
    // Node's headers timeout starts with a request's first byte: a client that shakes hands
    // and then says nothing would hold its connection until the idle timeout. Its first
    // request's headers must be in within headersMs of the handshake instead.
    const asked = new WeakSet<Socket>();
    server.on('secureConnection', (socket: Socket) => {
      const timer = setTimeout(() => asked.has(socket) || socket.destroy(), limits.headersMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    });
    server.on('tlsClientError', (err: Error, socket: Socket) => {
      self.counters.tlsErrors++;
      socket.destroy();
      self.report(socket.remoteAddress ?? '?', err.message);
    });
    server.on('clientError', (_err: Error, socket: Socket) => {
      self.counters.errors++;
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      asked.add(req.socket);
      self.counters.requests++;
      self.handle(req, res).catch((err: unknown) => self.fail(req, res, err));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private emit(e: AgentListenerEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // a logger's failure never stops the listener
    }
  }

  private report(peer: string, reason: string): void {
    const now = Date.now();
    if (now - this.lastReport < REPORT_EVERY_MS) {
      this.unreported++;
      return;
    }
    this.lastReport = now;
    this.emit({ type: 'tls-refused', peer, reason: reason.slice(0, 200), unreported: this.unreported });
    this.unreported = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (await this.opts.routes(req, res)) return;
    const body = JSON.stringify({ error: 'not an agent API route: this port serves the agent API only (/agent/v1/…)' });
    res.writeHead(404, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.counters.errors++;
    this.emit({ type: 'failed', peer: req.socket.remoteAddress ?? '?', path: (req.url ?? '').slice(0, 200), reason: err instanceof Error ? err.message : String(err) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ error: 'the appliance could not answer this request; see its log' });
    res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', Connection: 'close' });
    res.end(body);
  }
}
