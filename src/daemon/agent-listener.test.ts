// The agent API's HTTPS listener on loopback with a certificate of the appliance's own
// making, spoken to by the agent's own client (appliance-client.ts), by openssl and by
// raw sockets that misbehave.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, test } from 'node:test';
import { PinMismatch, postJson } from '../agent/appliance-client.js';
import { type AgentListenerEvent, AgentListener } from './agent-listener.js';
import { type TlsIdentity, loadTlsIdentity } from './tls-identity.js';

const TOKEN = 'job_token_0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-listener-'));
let id: TlsIdentity;
let listener: AgentListener;
const seen: { url: string; auth: string | undefined }[] = [];
const events: AgentListenerEvent[] = [];

async function routes(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  if (!(req.url ?? '').startsWith('/agent/')) return false;
  seen.push({ url: req.url ?? '', auth: req.headers.authorization });
  if (req.url === '/agent/v1/throw') throw new Error('a route failed');
  for await (const _ of req);
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, n: seen.length }));
  return true;
}

before(async () => {
  id = loadTlsIdentity(dir, () => ({ dnsNames: ['lifeboat-test'], ipAddresses: ['127.0.0.1'] }));
  listener = await AgentListener.start({ host: '127.0.0.1', port: 0, key: id.key, cert: id.cert, routes, onEvent: (e) => events.push(e), limits: { handshakeMs: 2000, headersMs: 1000 } });
});
after(async () => {
  await listener.close();
  rmSync(dir, { recursive: true, force: true });
});

const target = (fingerprint: string) => ({ url: `https://127.0.0.1:${listener.port}`, token: TOKEN, fingerprint });

test('the agent\'s client with the right pin: its requests arrive with the token, over keep-alive and many connections', async () => {
  const r = await postJson(target(id.fingerprint), '/agent/v1/hello', { hi: 1 });
  assert.equal(r.status, 200);
  assert.deepEqual(seen.at(-1), { url: '/agent/v1/hello', auth: `Bearer ${TOKEN}` });
  const before = seen.length;
  const many = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(target(id.fingerprint), `/agent/v1/x${i}`, { i })));
  assert.ok(many.every((m) => m.status === 200));
  assert.equal(seen.length, before + 40);
  // openssl sees the same certificate, and TLS 1.3 is spoken
  // (asynchronously: the listener runs in this process)
  const s = await promisify(execFile)('bash', ['-c', `openssl s_client -connect 127.0.0.1:${listener.port} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(s.stdout.trim(), `sha256 Fingerprint=${id.display}`);
  // several requests on one TLS connection
  const sock = tlsConnect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false });
  await new Promise<void>((r) => sock.once('secureConnect', () => r()));
  assert.equal(sock.getProtocol(), 'TLSv1.3');
  let text = '';
  sock.on('data', (d: Buffer) => (text += d.toString()));
  sock.write('POST /agent/v1/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nPOST /agent/v1/b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
  await until(() => (text.match(/HTTP\/1\.1 200/g) ?? []).length === 2, 'two answers on one connection');
  // a request whose body takes longer than the headers timeout is not cut off
  sock.write('POST /agent/v1/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab');
  await new Promise((r) => setTimeout(r, 1500));
  sock.write('cd');
  await until(() => (text.match(/HTTP\/1\.1 200/g) ?? []).length === 3, 'the slow request answered');
  sock.destroy();
});

test('a wrong pin: the client refuses after the handshake and nothing reaches a route', async () => {
  const before = { seen: seen.length, requests: listener.counters.requests, connections: listener.counters.connections };
  const wrong = id.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  await assert.rejects(postJson(target(wrong), '/agent/v1/hello', { hi: 1 }), (err: unknown) => err instanceof PinMismatch && /nothing was sent/.test(err.message));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(listener.counters.connections, before.connections + 1, 'the client did connect');
  assert.equal(listener.counters.requests, before.requests, 'no request was ever parsed');
  assert.equal(seen.length, before.seen);
});

test('bad clients lose only their own connection: garbage, plain HTTP, a silent handshake, huge headers, a failing route', async () => {
  const tlsErrors = listener.counters.tlsErrors;
  // not TLS at all
  const garbage = connect(listener.port, '127.0.0.1');
  garbage.write(Buffer.alloc(300, 0x41));
  await new Promise<void>((r) => garbage.once('close', () => r()));
  // plain HTTP to the HTTPS port
  const plain = connect(listener.port, '127.0.0.1');
  plain.write('POST /agent/v1/hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + TOKEN + '\r\n\r\n');
  plain.on('data', () => {});
  await new Promise<void>((r) => plain.once('close', () => r()));
  // connects and never says a word: dropped at the handshake timeout
  const silent = connect(listener.port, '127.0.0.1');
  silent.on('error', () => {});
  const t0 = Date.now();
  await new Promise<void>((r) => silent.once('close', () => r()));
  assert.ok(Date.now() - t0 < 5000, 'the silent client was dropped');
  assert.ok(listener.counters.tlsErrors >= tlsErrors + 3, JSON.stringify(listener.counters));
  // shakes hands, then never sends a request: dropped at the headers timeout
  const mute = tlsConnect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false });
  mute.on('error', () => {});
  await new Promise<void>((r) => mute.once('secureConnect', () => r()));
  const t1 = Date.now();
  await new Promise<void>((r) => mute.once('close', () => r()));
  assert.ok(Date.now() - t1 < 5000, `the mute client was dropped after ${Date.now() - t1} ms`);
  assert.ok(seen.every((s) => s.auth === undefined || s.auth === `Bearer ${TOKEN}`));
  assert.ok(events.some((e) => e.type === 'tls-refused'), 'a refusal is reported');
  // headers beyond 16 KiB: 431 from the parser, the connection closes
  const big = tlsConnect({ host: '127.0.0.1', port: listener.port, rejectUnauthorized: false });
  await new Promise<void>((r) => big.once('secureConnect', () => r()));
  let answer = '';
  big.on('data', (d: Buffer) => (answer += d.toString()));
  big.on('error', () => {});
  big.write(`GET /agent/v1/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  await new Promise<void>((r) => big.once('close', () => r()));
  assert.match(answer, /^HTTP\/1\.1 (431|400)/);
  // a route that throws: 500 for that request, the listener goes on
  const failed = await postJson(target(id.fingerprint), '/agent/v1/throw', {});
  assert.equal(failed.status, 500);
  assert.ok(events.some((e) => e.type === 'failed' && e.reason === 'a route failed'));
  // not an agent route at all
  assert.equal((await postJson(target(id.fingerprint), '/boot/ipxe', {})).status, 404);
  assert.equal((await postJson(target(id.fingerprint), '/agent/v1/hello', { still: 'here' })).status, 200);
});

async function until(what: () => boolean, label: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out: ${label}`);
}
