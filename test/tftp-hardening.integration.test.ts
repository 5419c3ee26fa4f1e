// The TFTP server's red-team cases, on loopback: a spoofed ERROR between two instances
// (the "Loop DoS", CVE-2024-2169), slow requests that would hold every transfer slot, a FIFO
// in the boot root, and tens of thousands of random and truncated packets. After each, a
// real client (curl) must still be served.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants, mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeTftp } from '../src/boot/tftp/codec.js';
import { type TftpEvent, type TftpServerOptions, TftpServer } from '../src/boot/tftp/server.js';
import { tempDir } from './helpers/cli.js';
import { rawClient } from './helpers/tftp-raw-client.js';

const notRoot = process.getuid?.() !== 0 ? 'needs root (raw sockets to spoof a source port, mknod)' : false;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A boot root with one file, and a server on it; `use` runs with both, then all is removed. */
async function withServer(opts: Partial<TftpServerOptions>, use: (s: TftpServer, root: string, events: TftpEvent[], file: Buffer) => Promise<void>) {
  const t = tempDir('lifeboat-tftp-red-');
  const root = join(t.dir, 'boot');
  mkdirSync(root);
  const file = randomBytes(300_001);
  writeFileSync(join(root, 'ipxe.efi'), file);
  const events: TftpEvent[] = [];
  const server = await TftpServer.start({ root, host: '127.0.0.1', port: 0, onEvent: (e) => events.push(e), ...opts });
  try {
    await use(server, root, events, file);
  } finally {
    await server.close();
    t.cleanup();
  }
}

/** curl fetches a file (asynchronously: the server runs in this process) within `maxSeconds`. */
function curl(port: number, path: string, maxSeconds = 10): Promise<{ code: number; body: Buffer; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', String(maxSeconds), '--tftp-blksize', '1468', `tftp://127.0.0.1:${port}/${path}`], { encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, body: stdout, ms: Date.now() - started }),
    );
  });
}

/** Sends a UDP datagram with a forged source port (a raw socket; the kernel adds the IP header). */
function spoofUdp(fromPort: number, toPort: number, payload: Buffer): void {
  const script = 'import socket,struct,sys\np=bytes.fromhex(sys.argv[3])\ns=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_UDP)\ns.sendto(struct.pack("!HHHH",int(sys.argv[1]),int(sys.argv[2]),8+len(p),0)+p,("127.0.0.1",0))\n';
  const r = spawnSync('python3', ['-c', script, String(fromPort), String(toPort), payload.toString('hex')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python3 raw socket: ${r.stderr}`);
}

test('Loop DoS: a spoofed ERROR from one server to another is dropped, not answered: no packets bounce between them', { skip: notRoot }, async () => {
  await withServer({}, async (a) => {
    await withServer({}, async (b) => {
      spoofUdp(b.address.port, a.address.port, encodeTftp({ op: 'error', code: 0, message: 'x' }));
      spoofUdp(a.address.port, b.address.port, encodeTftp({ op: 'data', block: 1, data: Buffer.from('y') }));
      await sleep(1000);
      assert.deepEqual([a.counters.ignored, b.counters.ignored], [1, 1], 'each saw the one spoofed packet');
      assert.deepEqual([a.counters.errorsSent, b.counters.errorsSent, a.counters.malformed, b.counters.malformed], [0, 0, 0, 0], 'and answered none');
    });
  });
});

test('at the listening port only requests are answered: DATA, ACK, ERROR, OACK and malformed packets get nothing; a stranger at a transfer port is ignored', async () => {
  await withServer({}, async (server, _root, events, file) => {
    const c = await rawClient(server.address.port);
    try {
      c.send({ op: 'data', block: 1, data: Buffer.from('x') });
      c.send({ op: 'ack', block: 0 });
      c.send({ op: 'error', code: 5, message: 'unknown transfer id' });
      c.send({ op: 'oack', options: new Map([['blksize', '512']]) });
      c.sendBytes(Buffer.from([0, 9, 1, 2, 3]));
      assert.deepEqual(await c.drain(400), [], 'no answer to any of them');
      assert.equal(server.counters.ignored, 4);
      assert.equal(server.counters.malformed, 1);
      assert.ok(events.filter((e) => e.type === 'ignored' || e.type === 'malformed').every((e) => e.level === 'debug'), 'spoofable noise logs quietly');

      c.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map() });
      const first = await c.next();
      assert.ok(first?.p.op === 'data' && first.p.block === 1);
      const stranger = await rawClient(server.address.port);
      stranger.send({ op: 'error', code: 0, message: 'stop' }, first.port);
      stranger.send({ op: 'ack', block: 1 }, first.port);
      assert.deepEqual(await stranger.drain(300), [], 'a packet from another port gets no answer');
      stranger.close();
      c.send({ op: 'ack', block: 1 }, first.port);
      const second = await c.next();
      assert.ok(second?.p.op === 'data' && second.p.block === 2, 'the transfer goes on for its client');
      assert.deepEqual(second.p.op === 'data' && second.p.data, file.subarray(512, 1024));
      c.send({ op: 'error', code: 0, message: 'enough' }, first.port);
    } finally {
      c.close();
    }
  });
});

test('slot exhaustion: 64 requests with "timeout 255" from 64 addresses that never acknowledge neither get that timeout nor keep curl out', async () => {
  await withServer({}, async (server, _root, events, file) => {
    const spoofers = await Promise.all(Array.from({ length: 64 }, (_, i) => rawClient(server.address.port, `127.0.0.${10 + i}`)));
    try {
      for (const s of spoofers) s.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map([['timeout', '255'], ['blksize', '1468']]) });
      const oacks = await Promise.all(spoofers.map((s) => s.next(2000)));
      for (const o of oacks) assert.deepEqual(o?.p.op === 'oack' && [...o.p.options], [['blksize', '1468']], 'the timeout option is refused');
      assert.equal(server.transfers, 64, 'every slot taken');
      const r = await curl(server.address.port, 'ipxe.efi');
      assert.equal(r.code, 0);
      assert.equal(sha(r.body), sha(file));
      assert.ok(r.ms < 3000, `curl served in ${r.ms} ms`);
      const evicted = (await Promise.all(spoofers.map((s) => s.drain(100)))).flat().filter((x) => x.p.op === 'error');
      assert.equal(evicted.length, 1, 'the oldest unconfirmed transfer gave way');
      assert.ok(events.some((e) => e.type === 'sent' && e.file === 'ipxe.efi'));
    } finally {
      for (const s of spoofers) s.close();
    }
  });
});

test('slot exhaustion: one address gets at most maxPerClient transfers; the rest are refused with "server busy"', async () => {
  await withServer({ limits: { maxPerClient: 8 } }, async (server, _root, events, file) => {
    const s = await rawClient(server.address.port, '127.0.0.9');
    try {
      for (let i = 0; i < 64; i++) s.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map() });
      const got = await s.drain(500);
      assert.equal(got.filter((x) => x.p.op === 'data').length, 8);
      assert.equal(got.filter((x) => x.p.op === 'error' && /busy/.test(x.p.message)).length, 56);
      assert.equal(server.counters.refused, 56);
      assert.ok(events.some((e) => e.type === 'refused' && e.reason === 'too many transfers from 127.0.0.9 at once (8)'));
      const r = await curl(server.address.port, 'ipxe.efi');
      assert.equal(sha(r.body), sha(file), 'another address is served at once');
    } finally {
      s.close();
    }
  });
});

test('a transfer without progress ends after maxStallMs, whatever its retries, with an ERROR and a failed event', { timeout: 10_000 }, async () => {
  await withServer({ limits: { defaultTimeoutMs: 200, retries: 1000, maxStallMs: 1000 } }, async (server, _root, events) => {
    const c = await rawClient(server.address.port);
    try {
      const started = Date.now();
      c.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map() });
      let last = await c.next();
      while (last?.p.op === 'data') last = await c.next(1500);
      const ms = Date.now() - started;
      assert.ok(last?.p.op === 'error', 'the client is told');
      assert.ok(ms >= 900 && ms < 2000, `ended after ${ms} ms`);
      const failed = events.find((e) => e.type === 'failed');
      assert.ok(failed?.type === 'failed' && /no acknowledgement of block 1 in 1 s/.test(failed.reason), JSON.stringify(failed));
      await sleep(50); // the slot is freed once the ERROR is out
      assert.deepEqual([server.counters.transfersFailed, server.transfers], [1, 0]);
    } finally {
      c.close();
    }
  });
});

test('a FIFO, a device and a directory in the boot root are refused at once; the server stays free for real files', { skip: notRoot }, async () => {
  await withServer({}, async (server, root, events, file) => {
    spawnSync('mkfifo', [join(root, 'fifo')]);
    spawnSync('mknod', [join(root, 'zero'), 'c', '1', '5']);
    mkdirSync(join(root, 'dir'));
    try {
      // More requests than libuv has worker threads (4): a blocking open of the FIFO would take them all.
      const refused = await Promise.all(['fifo', 'fifo', 'fifo', 'fifo', 'fifo', 'fifo', 'zero', 'dir'].map((p) => curl(server.address.port, p, 5)));
      for (const r of refused) assert.notEqual(r.code, 0);
      const ok = await curl(server.address.port, 'ipxe.efi', 5);
      assert.equal(ok.code, 0, 'a real file is still served');
      assert.equal(sha(ok.body), sha(file));
      const reasons = events.filter((e) => e.type === 'refused').map((e) => (e as { reason: string }).reason);
      assert.deepEqual(reasons, Array(8).fill('not a regular file'));
    } finally {
      // Should a regression leave opens waiting for a writer, this lets them go.
      try {
        closeSync(openSync(join(root, 'fifo'), constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader waiting: nothing to release
      }
    }
  });
});

test('fuzz: 40,000 random and truncated packets at the listening port and at a transfer port; nothing crashes and curl is served after', { timeout: 120_000 }, async () => {
  await withServer({ limits: { defaultTimeoutMs: 300, retries: 2 } }, async (server, _root, _events, file) => {
    const f = await rawClient(server.address.port, '127.0.0.5');
    const victim = await rawClient(server.address.port, '127.0.0.6');
    try {
      victim.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map([['blksize', '1468']]) });
      const oack = await victim.next();
      assert.ok(oack?.p.op === 'oack');
      const seeds = [
        encodeTftp({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map([['blksize', '1468'], ['tsize', '0'], ['windowsize', '8']]) }),
        encodeTftp({ op: 'wrq', filename: 'x', mode: 'octet', options: new Map() }),
        encodeTftp({ op: 'ack', block: 1 }),
        encodeTftp({ op: 'error', code: 1, message: 'abc' }),
        encodeTftp({ op: 'oack', options: new Map([['tsize', '1']]) }),
        encodeTftp({ op: 'data', block: 2, data: randomBytes(40) }),
      ];
      for (let n = 0; n < 40_000; n++) {
        const seed = seeds[n % seeds.length] as Buffer;
        const kind = n % 3;
        const bytes = kind === 0 ? randomBytes(Math.floor(Math.random() * 600)) : kind === 1 ? seed.subarray(0, Math.floor(Math.random() * seed.length)) : Buffer.from(seed).fill(Math.floor(Math.random() * 256), Math.floor(Math.random() * seed.length), Math.floor(Math.random() * seed.length) + 1);
        if (n % 2) f.sendBytes(bytes);
        else victim.sendBytes(bytes, oack.port); // from the transfer's own client: its packet parsing is fuzzed too
        if (n % 100 === 0) await sleep(5); // let the server read: the kernel drops what overflows its buffer
      }
      for (let i = 0; i < 50 && server.transfers > 0; i++) await sleep(100); // transfers the fuzz opened time out
      const n = server.counters;
      assert.equal(server.transfers, 0);
      assert.ok(n.malformed > 5000, `${n.malformed} malformed`);
      assert.equal(n.errorsSent, n.refused + n.transfersFailed, `an ERROR went only to refused requests and failed transfers: ${JSON.stringify(n)}`);
      const r = await curl(server.address.port, 'ipxe.efi');
      assert.equal(r.code, 0);
      assert.equal(sha(r.body), sha(file));
    } finally {
      f.close();
      victim.close();
    }
  });
});
