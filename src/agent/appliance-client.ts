// The agent's connection to the appliance: JSON over HTTP(S) with a bearer token. Over
// https the appliance's certificate is pinned by its SHA-256 fingerprint (a boot
// parameter) instead of a CA: the TLS handshake runs first, the fingerprint of the
// certificate the server presented is compared, and only then is a byte of the request
// (and the token) sent. A mismatch is refused and never retried.
import { createHash } from 'node:crypto';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { type Socket, connect as netConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { LifeboatError, userError } from '../errors.js';

export class PinMismatch extends LifeboatError {
  constructor(expected: string, got: string) {
    super('user', `the appliance's TLS certificate has SHA-256 fingerprint ${got}, but the boot parameters pin ${expected}: nothing was sent. Boot again from the appliance (the certificate may have changed) or check for a machine impersonating it`);
  }
}

export interface ApplianceTarget {
  url: string;
  token: string;
  /** 64 lowercase hex digits; required for https */
  fingerprint: string | null;
}

/** A connection to `u`'s host: plain TCP for http, TLS whose certificate must match `fingerprint` for https (nothing written before). */
export async function openSocket(u: URL, fingerprint: string | null, timeoutMs: number): Promise<Socket> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const https = u.protocol === 'https:';
  const port = Number(u.port || (https ? 443 : 80));
  return new Promise<Socket>((resolve, reject) => {
    const onError = (err: Error) => {
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => onError(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | null) => {
      clearTimeout(timer);
      sock.off('error', onError);
      if (err) onError(err);
      else resolve(sock);
    };
    let sock: Socket;
    if (!https) {
      sock = netConnect({ host, port }, () => done(null));
    } else {
      if (fingerprint === null) throw userError(`${u.href} is https but no certificate fingerprint is pinned`);
      // No CA: the fingerprint is the trust anchor, checked below before anything is written.
      const servername = /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
      const tls: TLSSocket = tlsConnect({ host, port, servername, rejectUnauthorized: false }, () => {
        const cert = tls.getPeerCertificate(false);
        const got = cert?.raw ? createHash('sha256').update(cert.raw).digest('hex') : '(no certificate)';
        done(got === fingerprint ? null : new PinMismatch(fingerprint, got));
      });
      sock = tls;
    }
    sock.once('error', onError);
  });
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** POSTs `body` as JSON to `path` under the target URL; resolves with the status and JSON reply. */
export async function postJson(target: ApplianceTarget, path: string, body: unknown, timeoutMs = 15_000): Promise<JsonResponse> {
  const base = new URL(target.url);
  const u = new URL(path.replace(/^\//, ''), base.href.endsWith('/') ? base.href : `${base.href}/`);
  const sock = await openSocket(u, target.fingerprint, timeoutMs);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise<JsonResponse>((resolve, reject) => {
    const req: ClientRequest = request(
      {
        method: 'POST',
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        createConnection: () => sock,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${target.token}` },
        timeout: timeoutMs,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1 << 20) req.destroy(new Error('the appliance replied with more than 1 MiB'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? null : JSON.parse(text);
          } catch {
            // not JSON: keep the text for the message
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no reply from ${u.host} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
