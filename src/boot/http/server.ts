// HTTP boot: the per-machine iPXE script (`GET /boot/ipxe?mac=…&uuid=…&platform=…`) and the
// boot root's files (`GET /boot/files/<path>`: kernels and initramfs images, with Range and
// keep-alive). A thin layer: the decision and the script are pure functions elsewhere; the
// daemon injects `plan`, which looks the machine up. Other routes are tried first through
// `extraRoutes` (the daemon's: /agent/ is refused here, the agent API being HTTPS on its own
// port, unless the lab setting boot.agentPlainHttp serves it here too).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { realpath } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { openBootFile } from '../boot-root.js';
import { type BootOsFiles, renderIpxeScript } from '../boot-script.js';
import type { BootAction, Firmware } from '../decision.js';
import { parseRange } from './range.js';

/** Who asks for a script, from its query (iPXE fills `${net0/mac}`, `${uuid}`, `${platform}`). */
export interface BootSubject {
  mac: string;
  uuid: string | null;
  firmware: Firmware;
  /** The client's IP address as the socket saw it. */
  address: string;
}

export interface HttpBootOptions {
  /** Directory whose files are served under /boot/files/. */
  root: string;
  host?: string;
  /** 80 by default; 0 picks a free port. */
  port?: number;
  /** The URL scripts point back to, e.g. http://10.0.0.1 (default: http://<host>:<port>); a function gets the bound port. */
  publicBase?: string | ((port: number) => string);
  plan(subject: BootSubject): Promise<{ action: BootAction; files: BootOsFiles }>;
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  onEvent?: (e: HttpBootEvent) => void;
  /** A connection must send its first request's headers within this (default 10 s), and is dropped after this long without any traffic (×6). */
  headersTimeoutMs?: number;
}

export type HttpBootEvent =
  | { type: 'script'; peer: string; mac: string; action: BootAction['kind']; mode?: string }
  | { type: 'file'; peer: string; path: string; bytes: number; status: number }
  | { type: 'refused'; peer: string; path: string; status: number; reason: string }
  | { type: 'failed'; peer: string; path: string; reason: string };

export interface HttpBootCounters {
  requests: number;
  scripts: number;
  files: number;
  bytesSent: number;
  errors: number;
}

/** aa:bb:cc:dd:ee:ff from iPXE's `${net0/mac}` (colons) or `${net0/mac:hexhyp}`; null if it is not a MAC. */
export function normalizeMac(text: string | null): string | null {
  if (text === null) return null;
  const m = /^([0-9a-f]{2})([:-]?)([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(text.trim());
  if (!m) return null;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

/** A SMBIOS UUID as iPXE prints it, lower case; null when absent or malformed. */
export function normalizeUuid(text: string | null): string | null {
  if (text === null) return null;
  const t = text.trim().toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(t) ? t : null;
}

export class HttpBootServer {
  readonly counters: HttpBootCounters = { requests: 0, scripts: 0, files: 0, bytesSent: 0, errors: 0 };
  private constructor(
    private readonly server: Server,
    private readonly opts: HttpBootOptions,
    private readonly rootReal: string,
    private readonly base: string,
  ) {}

  static async start(opts: HttpBootOptions): Promise<HttpBootServer> {
    const rootReal = await realpath(opts.root);
    const server = createServer({ keepAlive: true });
    const headersMs = opts.headersTimeoutMs ?? 10_000;
    server.headersTimeout = headersMs;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 15_000;
    // No traffic either way for this long: the connection is dropped (a stalled download too).
    server.timeout = headersMs * 6;
    // Node's headers timeout starts with a request's first byte: a client that connects and
    // says nothing would hold its connection forever. Its first request must come in time.
    const firstRequest = new WeakMap<Socket, NodeJS.Timeout>();
    server.on('connection', (socket: Socket) => {
      const timer = setTimeout(() => socket.destroy(), headersMs);
      timer.unref();
      firstRequest.set(socket, timer);
      socket.once('close', () => clearTimeout(timer));
    });
    server.on('request', (req: IncomingMessage) => clearTimeout(firstRequest.get(req.socket)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host ?? '0.0.0.0', port: opts.port ?? 80 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const base =
      typeof opts.publicBase === 'function' ? opts.publicBase(addr.port) : (opts.publicBase ?? `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`);
    const self = new HttpBootServer(server, opts, rootReal, base);
    server.on('request', (req, res) => {
      self.handle(req, res).catch((err: unknown) => self.fail(req, res, err));
    });
    server.on('clientError', (_err, socket) => {
      self.counters.errors++;
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
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

  private emit(e: HttpBootEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // a logger's failure never stops a boot
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.counters.errors++;
    this.emit({ type: 'failed', peer: req.socket.remoteAddress ?? '?', path: (req.url ?? '').slice(0, 200), reason: err instanceof Error ? err.message : String(err) });
    if (!res.headersSent) this.text(res, 500, 'the appliance could not answer this request; see its log\n');
    else res.destroy();
  }

  private text(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...extra });
    res.end(body);
  }

  private refuse(req: IncomingMessage, res: ServerResponse, status: number, reason: string, extra: Record<string, string> = {}): void {
    this.counters.errors++;
    this.emit({ type: 'refused', peer: req.socket.remoteAddress ?? '?', path: (req.url ?? '').slice(0, 200), status, reason });
    this.text(res, status, `${reason}\n`, extra);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    if (this.opts.extraRoutes && (await this.opts.extraRoutes(req, res))) return;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://boot.invalid');
    } catch {
      return this.refuse(req, res, 400, 'malformed request target');
    }
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return this.refuse(req, res, 400, 'malformed percent-encoding in the path');
    }
    const isScript = path === '/boot/ipxe';
    const isFile = path.startsWith('/boot/files/');
    if (!isScript && !isFile) return this.refuse(req, res, 404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.refuse(req, res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
    // The peer is read now: once the response ends the socket may be gone, and its address with it.
    const peer = req.socket.remoteAddress ?? '?';
    if (isScript) return this.script(req, res, url, peer);
    return this.file(req, res, path.slice('/boot/files/'.length), peer);
  }

  private async script(req: IncomingMessage, res: ServerResponse, url: URL, peer: string): Promise<void> {
    const mac = normalizeMac(url.searchParams.get('mac'));
    if (mac === null) return this.refuse(req, res, 400, 'mac= is missing or is not a MAC address (iPXE: ?mac=${net0/mac})');
    const platform = url.searchParams.get('platform');
    const firmware: Firmware = platform === 'efi' ? 'uefi' : 'bios';
    const { action, files } = await this.opts.plan({ mac, uuid: normalizeUuid(url.searchParams.get('uuid')), firmware, address: peer });
    const body = renderIpxeScript(action, firmware, this.base, files);
    this.counters.scripts++;
    this.emit({ type: 'script', peer, mac, action: action.kind, ...(action.kind === 'boot-os' ? { mode: action.mode } : {}) });
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end();
    } else this.text(res, 200, body);
  }

  private async file(req: IncomingMessage, res: ServerResponse, name: string, peer: string): Promise<void> {
    const opened = await openBootFile(this.rootReal, name);
    if ('refused' in opened) return this.refuse(req, res, opened.refused === 'outside-root' ? 403 : 404, opened.reason);
    const { handle, size } = opened;
    const range = parseRange(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      await handle.close();
      return this.refuse(req, res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${size}` });
    }
    const start = range.kind === 'partial' ? range.start : 0;
    const end = range.kind === 'partial' ? range.end : size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    const status = range.kind === 'partial' ? 206 : 200;
    res.writeHead(status, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': length,
      'Accept-Ranges': 'bytes',
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD' || length === 0) {
      await handle.close();
      res.end();
      return;
    }
    const stream = handle.createReadStream({ start, end, highWaterMark: 1 << 20, autoClose: true });
    let sent = 0;
    stream.on('data', (chunk: Buffer | string) => {
      sent += chunk.length;
    });
    try {
      await pipeline(stream, res);
    } catch (err) {
      this.counters.errors++;
      this.emit({ type: 'failed', peer, path: name.slice(0, 200), reason: `transfer ended after ${sent} of ${length} bytes: ${(err as Error).message}` });
      return;
    } finally {
      this.counters.bytesSent += sent;
    }
    this.counters.files++;
    this.emit({ type: 'file', peer, path: name, bytes: sent, status });
  }
}
