import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeParams } from '../bootos/params.js';
import { jobApiOptions, runAgent } from './agent.js';

const TOKEN = 'job_token_0123456789abcdef';
let dir = '';
let key = '';
let cert = '';
let fingerprint = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-agent-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=lifeboat-test'], { stdio: 'ignore' });
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  fingerprint = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
  // the same value openssl prints
  const openssl = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', join(dir, 'cert.pem')]).toString();
  assert.equal(openssl.split('=')[1]!.trim().replace(/:/g, '').toLowerCase(), fingerprint);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  connections: number;
  requests: { url: string; auth: string | undefined; body: unknown }[];
}

async function listen(server: Server): Promise<{ port: number; seen: Seen; close: () => Promise<void> }> {
  const seen: Seen = { connections: 0, requests: [] };
  server.on('connection', () => seen.connections++);
  server.on('request', (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.requests.push({ url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"machine":"m-1","job":null}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/** A root whose parameters come from a boot medium's file (default) or the kernel command line (a network boot). */
function root(params: string, from: 'medium' | 'cmdline' = 'medium'): string {
  const r = mkdtempSync(join(dir, 'root-'));
  const file = from === 'medium' ? 'etc/lifeboat/params' : 'proc/cmdline';
  mkdirSync(join(r, file, '..'), { recursive: true });
  writeFileSync(join(r, file), params);
  return r;
}

test('http: the hello reaches the listener with the bearer token and the inventory; no job on a network boot: exit 0 (reboot to the local disk)', async () => {
  const s = await listen(createServer());
  const lines: string[] = [];
  try {
    const code = await runAgent({ root: root(`initrd=x console=ttyS0 lifeboat.url=http://127.0.0.1:${s.port}/base lifeboat.token=${TOKEN}\n`, 'cmdline'), log: (l) => lines.push(l), retryForMs: 0 });
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines.join('\n'), /hello accepted by http:\S+ \(HTTP 200\): this is machine m-1[\s\S]*no job: booting the local disk/);
    assert.equal(s.seen.requests.length, 1);
    assert.equal(s.seen.requests[0]!.url, '/base/agent/v1/hello');
    assert.equal(s.seen.requests[0]!.auth, `Bearer ${TOKEN}`);
    assert.ok((s.seen.requests[0]!.body as { inventory: { disks: unknown[] } }).inventory.disks instanceof Array);
  } finally {
    await s.close();
  }
});

test('https: the pinned self-signed certificate is accepted; a different pin is refused before the token is sent; no job on a medium boot: exit 4 (stay, a reboot would boot the medium again)', async () => {
  const s = await listen(createHttpsServer({ key, cert }));
  try {
    const ok: string[] = [];
    assert.equal(await runAgent({ root: root(`lifeboat.url=https://127.0.0.1:${s.port} lifeboat.token=${TOKEN} lifeboat.fp=${fingerprint}`), log: (l) => ok.push(l), retryForMs: 0 }), 4, ok.join('\n'));
    assert.match(ok.join('\n'), /no job for this machine: remove the boot medium/);
    assert.equal(s.seen.requests.length, 1);
    const wrong = fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const lines: string[] = [];
    assert.equal(await runAgent({ root: root(`lifeboat.url=https://127.0.0.1:${s.port} lifeboat.token=${TOKEN} lifeboat.fp=${wrong}`), log: (l) => lines.push(l), retryForMs: 60_000 }), 1);
    assert.equal(s.seen.requests.length, 1, 'no request after the mismatch');
    assert.match(lines.join('\n'), new RegExp(`fingerprint ${fingerprint}, but the boot parameters pin ${wrong}: nothing was sent`));
  } finally {
    await s.close();
  }
});

const badParams: [string, string, RegExp][] = [
  ['missing token', 'lifeboat.url=http://127.0.0.1:PORT', /lifeboat\.token is missing/],
  ['malformed URL', `lifeboat.url=http//127.0.0.1:PORT lifeboat.token=${TOKEN}`, /lifeboat\.url .* is not a URL/],
  ['malformed fingerprint', `lifeboat.url=https://127.0.0.1:PORT lifeboat.token=${TOKEN} lifeboat.fp=12:34`, /lifeboat\.fp must be the SHA-256/],
];
for (const [name, params, message] of badParams) {
  test(`bad parameters (${name}): a clear message and no connection at all`, async () => {
    const s = await listen(createServer());
    try {
      const lines: string[] = [];
      assert.equal(await runAgent({ root: root(params.replace('PORT', String(s.port))), log: (l) => lines.push(l), retryForMs: 0 }), 1);
      assert.match(lines.join('\n'), message);
      assert.match(lines.join('\n'), /nothing was sent to the network/);
      assert.equal(s.seen.connections, 0);
    } finally {
      await s.close();
    }
  });
}

test('an unreachable appliance: retried, then a message naming the URL and what to check', async () => {
  const lines: string[] = [];
  assert.equal(await runAgent({ root: root(`lifeboat.url=http://127.0.0.1:1 lifeboat.token=${TOKEN}`), log: (l) => lines.push(l), retryForMs: 0 }), 1);
  assert.match(lines.at(-1)!, /cannot reach the appliance at http:\/\/127\.0\.0\.1:1: .*Check the network cable/);
});

test("the job's retry window comes from lifeboat.retry (default 60 s); the console hears of outages; a caller's tuning wins", () => {
  const p = decodeParams(`lifeboat.url=http://127.0.0.1:1 lifeboat.token=${TOKEN}`);
  assert.deepEqual(jobApiOptions(p), { retryForMs: 60_000, announce: true });
  assert.deepEqual(jobApiOptions({ ...p, retrySeconds: 15 }), { retryForMs: 15_000, announce: true });
  assert.deepEqual(jobApiOptions({ ...p, retrySeconds: 15 }, { retryForMs: 500, baseDelayMs: 10 }), { retryForMs: 500, announce: true, baseDelayMs: 10 });
});
