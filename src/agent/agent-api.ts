// The agent's client of the appliance's agent API (src/api/agent-wire.ts): requests with the
// job's bearer token over keep-alive connections, each one pinned (appliance-client.ts
// openSocket: over https the certificate's SHA-256 must match before a byte is written).
// Every thread that talks to the appliance makes its own (worker threads share nothing).
//
// Failures, in the error taxonomy:
// - a dropped connection, a timeout or a 5xx is retried with backoff until `retryForMs`
//   (the boot parameter lifeboat.retry) has passed since the request first failed — and no
//   longer than that since the appliance stopped answering this client, so the requests of
//   one outage give up together — then an
//   `external` error naming the appliance and what to check; one attempt waits at most half
//   that window for an answer (2.5 to 30 s), so a link that went dead is noticed well inside
//   it. With `announce`, the console hears when the appliance stops answering and when it
//   answers again;
// - 409 with `cancelled: true`: the operator cancelled the job; a `conflict` error whose
//   message starts with CANCELLED (it crosses worker threads as kind + message);
// - 401: the token is no longer accepted (job ended); other 4xx: a `user` error with the
//   appliance's own message (404: `not-found`);
// - a certificate that does not match the pin: never retried.
import { Agent, type ClientRequestArgs, type IncomingMessage, request } from 'node:http';
import type { Duplex } from 'node:stream';
import { AGENT_PREFIX, type AgentError } from '../api/agent-wire.js';
import { LifeboatError, notFoundError, userError } from '../errors.js';
import { type ApplianceTarget, PinMismatch, openSocket } from './appliance-client.js';

/** The start of the message of the error a cancelled job fails with. */
export const CANCELLED = 'the job was cancelled at the appliance';

export const isCancelled = (err: unknown): boolean => err instanceof LifeboatError && err.kind === 'conflict' && err.message.startsWith(CANCELLED);

export interface AgentApiOptions {
  /** How long a request keeps being retried while the appliance is unreachable or failing (default 60 s). */
  retryForMs?: number;
  /** First backoff delay; doubles up to maxDelayMs (defaults 250 ms, 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Connect and idle timeout of one attempt (default: attemptTimeoutFor(retryForMs)). */
  timeoutMs?: number;
  /** Connections kept open at most (default 8). */
  maxSockets?: number;
  /** Say (on the console) when the appliance stops answering and when it answers again. Plain data: worker threads get it too. */
  announce?: boolean;
}

/** How long one attempt waits for a connection or an answer: half the retry window, 2.5 to 30 s. Pure. */
export const attemptTimeoutFor = (retryForMs: number): number => Math.min(30_000, Math.max(2500, Math.round(retryForMs / 2)));

export interface Answer {
  status: number;
  body: Buffer;
}

export interface RequestOptions {
  /** Most bytes the answer may have (default 1 MiB). */
  limit?: number;
  /**
   * Called before a retry (not the first attempt): e.g. to learn the store already has a frame.
   * Its own requests share the window: pass them `until`.
   */
  beforeRetry?: (until: number) => Promise<Answer | null>;
  /** The end of the retry window (ms since the epoch; default: retryForMs after the first failed attempt). */
  until?: number;
  /** This request's attempt timeout, when the appliance may rightly take longer to answer it (job/finish commits an image). */
  timeoutMs?: number;
}

/** A keep-alive http.Agent whose connections are opened by openSocket: the pin is checked on every TLS connection. */
class PinnedAgent extends Agent {
  constructor(
    private readonly base: URL,
    private readonly fingerprint: string | null,
    private readonly timeoutMs: number,
    maxSockets: number,
  ) {
    super({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    openSocket(this.base, this.fingerprint, this.timeoutMs).then(
      (sock) => callback?.(null, sock),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

class Retryable extends Error {}

export class AgentApi {
  private readonly base: URL;
  private readonly agent: PinnedAgent;
  private readonly opts: Required<Omit<AgentApiOptions, 'announce'>>;
  private readonly say: ((line: string) => void) | null;
  /** Since when the appliance has not answered (null: it answers). */
  private silentSince: number | null = null;

  constructor(
    readonly target: ApplianceTarget,
    opts: AgentApiOptions = {},
    /** Where `announce` says things (default: standard output, as the agent's console lines). */
    log?: (line: string) => void,
  ) {
    const u = new URL(target.url);
    this.base = new URL(`${u.pathname.replace(/\/$/, '')}${AGENT_PREFIX}/`, u);
    const retryForMs = opts.retryForMs ?? 60_000;
    this.opts = { retryForMs, baseDelayMs: opts.baseDelayMs ?? 250, maxDelayMs: opts.maxDelayMs ?? 5000, timeoutMs: opts.timeoutMs ?? attemptTimeoutFor(retryForMs), maxSockets: opts.maxSockets ?? 8 };
    this.say = opts.announce ? (log ?? ((line) => process.stdout.write(`lifeboat agent: ${line}\n`))) : null;
    this.agent = new PinnedAgent(u, target.fingerprint, this.opts.timeoutMs, this.opts.maxSockets);
  }

  /** One request, retried as the header says; resolves with a 2xx answer, throws otherwise. */
  async send(method: 'GET' | 'POST' | 'PUT', path: string, body: Buffer | null, contentType: string, ropts: RequestOptions = {}): Promise<Answer> {
    const started = Date.now();
    let until = ropts.until ?? Number.POSITIVE_INFINITY;
    let delay = this.opts.baseDelayMs;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1 && ropts.beforeRetry) {
          const shortcut = await ropts.beforeRetry(until);
          if (shortcut) return this.answered(shortcut);
        }
        const answer = await this.once(method, path, body, contentType, ropts.limit ?? 1 << 20, ropts.timeoutMs ?? this.opts.timeoutMs);
        if (answer.status >= 200 && answer.status < 300) return this.answered(answer);
        const refused = this.refusal(method, path, answer);
        if (!(refused instanceof Retryable)) this.answered(answer); // an answer all the same: the appliance is there
        throw refused;
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        last = err.message;
      }
      if (until === Number.POSITIVE_INFINITY) until = Date.now() + this.opts.retryForMs;
      if (this.silentSince === null) {
        this.silentSince = Date.now();
        this.say?.(`the appliance did not answer ${method} ${path} (${last}): retrying for up to ${Math.max(0, Math.round((until - Date.now()) / 1000))} s`);
      }
      // one outage, one window: a request that starts failing late in it gives up with the others
      if (Date.now() + delay > Math.min(until, this.silentSince + this.opts.retryForMs)) {
        const waited = Date.now() - started;
        throw new LifeboatError('external', `the appliance at ${this.target.url} did not answer ${method} ${path}: ${last} (${attempt} attempt(s) over ${Math.round(waited / 1000)} s): check the network cable, the link and that the appliance is running`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(this.opts.maxDelayMs, delay * 2);
    }
  }

  /** An answer (2xx, or a refusal that is not retried): if the appliance had gone quiet, say that it answers again. */
  private answered(answer: Answer): Answer {
    if (this.silentSince !== null) {
      this.say?.(`the appliance answers again after ${((Date.now() - this.silentSince) / 1000).toFixed(1)} s`);
      this.silentSince = null;
    }
    return answer;
  }

  /** A JSON request; `opts` is a RequestOptions or (the older form) the answer's byte limit. */
  async json<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, opts: number | RequestOptions = {}): Promise<T> {
    const payload = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const answer = await this.send(method, path, payload, 'application/json', typeof opts === 'number' ? { limit: opts } : opts);
    if (answer.body.length === 0) return null as T;
    try {
      return JSON.parse(answer.body.toString('utf8')) as T;
    } catch {
      throw userError(`the appliance answered ${method} ${path} with something that is not JSON (${answer.body.length} bytes): is ${this.target.url} a Lifeboat appliance of the same version?`);
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private refusal(method: string, path: string, answer: Answer): Error {
    const { status } = answer;
    if (status >= 500 || status === 429) return new Retryable(`HTTP ${status} ${messageOf(answer.body)}`);
    let parsed: Partial<AgentError> = {};
    try {
      parsed = JSON.parse(answer.body.toString('utf8')) as AgentError;
    } catch {
      // not JSON: the text itself is the message
    }
    const issues = Array.isArray(parsed.issues) ? parsed.issues.filter((i): i is string => typeof i === 'string').slice(0, 5).map((i) => i.slice(0, 200)) : [];
    const message = (typeof parsed.error === 'string' ? parsed.error.slice(0, 500) : messageOf(answer.body)) + (issues.length ? ` (${issues.join('; ')})` : '');
    if (status === 409 && parsed.cancelled === true) return new LifeboatError('conflict', `${CANCELLED} (${message}): stopping; nothing more is sent`);
    if (status === 401) return userError(`the appliance no longer accepts this job's token (HTTP 401: ${message}): the job has ended or was cancelled; start it again from the appliance`);
    if (status === 404) return notFoundError(`the appliance has no ${path} (HTTP 404: ${message})`);
    return userError(`the appliance refused ${method} ${path}: HTTP ${status}: ${message}`);
  }

  private once(method: string, path: string, body: Buffer | null, contentType: string, limit: number, timeoutMs: number): Promise<Answer> {
    const u = new URL(path.replace(/^\//, ''), this.base);
    return new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.target.token}` };
      if (body) Object.assign(headers, { 'content-type': contentType, 'content-length': body.length });
      const req = request(
        { method, host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, agent: this.agent, headers, timeout: timeoutMs },
        (res: IncomingMessage) => {
          const parts: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= limit) parts.push(c);
            else if (!res.destroyed) {
              reject(userError(`the appliance answered ${method} ${path} with more than ${limit} bytes: refused`));
              res.destroy();
            }
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
          res.on('error', (err) => reject(new Retryable(err.message)));
        },
      );
      req.on('timeout', () => req.destroy(new Retryable(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof PinMismatch || err instanceof LifeboatError || err instanceof Retryable ? err : new Retryable(err.message)));
      req.end(body ?? undefined);
    });
  }
}

function messageOf(body: Buffer): string {
  return body.toString('utf8', 0, Math.min(body.length, 300)).replace(/[^\x20-\x7e]/g, ' ').trim();
}
