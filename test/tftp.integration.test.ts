// The TFTP server on loopback against real clients (curl, busybox tftp) and a raw UDP
// client for what those never do: lose an ACK, open a window, give up. The server runs in
// this process, so clients run asynchronously (a synchronous spawn would stop it).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type TftpEvent, TftpServer } from '../src/boot/tftp/server.js';
import { tempDir } from './helpers/cli.js';
import { rawClient } from './helpers/tftp-raw-client.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const hasBusybox = spawnSync('/bin/busybox', ['tftp', '--help']).status !== null;

// Every test runs twice: with files sent from the native data path (src/boot/native/tftp-send.c,
// the default) and from Node's dgram (transfer.ts, used when the addon is not built).
for (const dataPath of ['native', 'node'] as const) {
  describe(`data path ${dataPath}`, () => {
    let work: { dir: string; cleanup: () => void };
    let root: string;
    let server: TftpServer;
    let port: number;
    const events: TftpEvent[] = [];
    const files: Record<string, Buffer> = {};

    before(async () => {
      work = tempDir('lifeboat-tftp-');
      root = join(work.dir, 'boot');
      mkdirSync(join(root, 'efi'), { recursive: true });
      files['ipxe.efi'] = randomBytes(1_000_003);
      files['efi/exact.bin'] = randomBytes(1468 * 20); // ends with an empty block
      files['empty'] = Buffer.alloc(0);
      for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data);
      writeFileSync(join(work.dir, 'secret'), 'not for clients');
      symlinkSync(join(work.dir, 'secret'), join(root, 'escape'));
      server = await TftpServer.start({ root, host: '127.0.0.1', port: 0, limits: { defaultTimeoutMs: 300, retries: 2 }, onEvent: (e) => events.push(e), dataPath });
      assert.equal(server.dataPath, dataPath, 'the data path asked for (native: dist/native/tftp-send.node is built by make build)');
      port = server.address.port;
    });
    after(async () => {
      await server.close();
      work.cleanup();
    });

    /** Runs a client to its end without blocking this process's event loop (the server's). */
    function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile(command, args, { timeout: 100_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }));
      });
    }

    async function curl(path: string, extra: string[] = []): Promise<{ code: number; body: Buffer }> {
      const out = join(work.dir, `curl-${Math.random().toString(36).slice(2)}`);
      const r = await run('curl', ['-s', '--path-as-is', '-o', out, ...extra, `tftp://127.0.0.1:${port}/${path}`]);
      let body = Buffer.alloc(0);
      try {
        body = readFileSync(out);
      } catch {
        // no output file: the transfer failed
      }
      return { code: r.code, body };
    }

    test('curl fetches files whole, with its default 512-byte blocks and with blksize and tsize negotiated', async () => {
      for (const name of ['ipxe.efi', 'efi/exact.bin', 'empty']) {
        const plain = await curl(name);
        assert.equal(plain.code, 0, name);
        assert.equal(sha(plain.body), sha(files[name] as Buffer), name);
        const big = await curl(name, ['--tftp-blksize', '1468']);
        assert.equal(big.code, 0, name);
        assert.equal(sha(big.body), sha(files[name] as Buffer), `${name} with blksize`);
      }
      const sent = events.filter((e): e is Extract<TftpEvent, { type: 'sent' }> => e.type === 'sent' && e.file === 'ipxe.efi');
      assert.deepEqual(sent.map((e) => e.blockSize).sort(), [1468, 512]);
    });

    test('tftp-hpa fetches files whole (it negotiates no options: 512-byte blocks); traversal and missing files are refused', async () => {
      for (const name of ['ipxe.efi', 'efi/exact.bin', 'empty']) {
        const out = join(work.dir, `hpa-${name.replace('/', '-')}`);
        const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', name, out]);
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.equal(sha(readFileSync(out)), sha(files[name] as Buffer), name);
      }
      for (const [path, why] of [['../secret', /Access violation|outside/i], ['escape', /outside/], ['efi/../../secret', /outside/], ['nothing.efi', /not found/i]] as const) {
        const out = join(work.dir, 'hpa-refused');
        const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', path, out]);
        assert.match(r.stderr + r.stdout, why, path);
        assert.equal(existsSync(out) && readFileSync(out).includes(Buffer.from('not for clients')), false, path);
      }
    });

    test('busybox tftp fetches with a negotiated block size; its write request is refused and writes nothing', { skip: hasBusybox ? false : 'busybox-static is not installed' }, async () => {
      const out = join(work.dir, 'bb-ipxe.efi');
      const get = await run('/bin/busybox', ['tftp', '-g', '-r', 'ipxe.efi', '-l', out, '-b', '1400', '127.0.0.1', String(port)]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(sha(readFileSync(out)), sha(files['ipxe.efi'] as Buffer));
      const put = await run('/bin/busybox', ['tftp', '-p', '-l', out, '-r', 'planted.efi', '127.0.0.1', String(port)]);
      assert.notEqual(put.code, 0);
      assert.match(put.stderr, /read-only/);
      assert.equal(spawnSync('test', ['-e', join(root, 'planted.efi')]).status, 1, 'nothing written');
    });

    test('paths outside the root, through .. or a symbolic link, and missing files are refused', async () => {
      for (const path of ['../secret', '..%2Fsecret', 'escape', 'efi/../../secret', 'nothing.efi']) {
        const r = await curl(path);
        assert.notEqual(r.code, 0, path);
        assert.equal(r.body.includes(Buffer.from('not for clients')), false, path);
      }
      const refused = events.filter((e) => e.type === 'refused').map((e) => (e as { reason: string }).reason);
      assert.ok(refused.includes('path outside the boot directory'), refused.join('; '));
      assert.ok(refused.includes('file not found'), refused.join('; '));
    });

    test('a lost ACK brings the block again after the timeout; a duplicate ACK brings nothing; silence ends the transfer', async () => {
      const c = await rawClient(port);
      try {
        c.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map() });
        const first = await c.next();
        assert.ok(first && first.p.op === 'data' && first.p.block === 1 && first.p.data.length === 512);
        assert.notEqual(first.port, port, 'the transfer has its own port');
        const again = await c.next(1500); // no ACK sent: the server repeats block 1 after ~300 ms
        assert.ok(again && again.p.op === 'data' && again.p.block === 1);
        c.send({ op: 'ack', block: 1 }, first.port);
        const second = await c.next();
        assert.ok(second && second.p.op === 'data' && second.p.block === 2);
        c.send({ op: 'ack', block: 1 }, first.port); // a duplicate of the old ACK
        const after = await c.next(200);
        assert.equal(after, null, 'no answer to a duplicate ACK before the timeout');
        // Now silence: block 2 is tried 1 + 2 retries times, then the server gives up.
        const deadline = Date.now() + 3000;
        while (Date.now() < deadline && !events.some((e) => e.type === 'failed')) await c.next(300);
        const failed = events.find((e) => e.type === 'failed') as { reason: string } | undefined;
        assert.match(failed?.reason ?? '', /no acknowledgement after 3 tries of block 2/);
      } finally {
        c.close();
      }
    });

    test('windowsize: an OACK, then blocks a window at a time; an ACK inside the window restarts after it', async () => {
      const c = await rawClient(port);
      try {
        c.send({ op: 'rrq', filename: 'efi/exact.bin', mode: 'octet', options: new Map([['windowsize', '4'], ['blksize', '1468'], ['tsize', '0']]) });
        const oack = await c.next();
        assert.ok(oack && oack.p.op === 'oack');
        assert.deepEqual(oack.p.op === 'oack' && [...oack.p.options], [['blksize', '1468'], ['tsize', String(1468 * 20)], ['windowsize', '4']]);
        c.send({ op: 'ack', block: 0 }, oack.port);
        const window: number[] = [];
        for (let i = 0; i < 4; i++) {
          const d = await c.next();
          assert.ok(d && d.p.op === 'data');
          window.push(d.p.op === 'data' ? d.p.block : -1);
        }
        assert.deepEqual(window, [1, 2, 3, 4]);
        c.send({ op: 'ack', block: 2 }, oack.port); // 3 and 4 "lost": the next window starts at 3
        const next = await c.next();
        assert.ok(next && next.p.op === 'data' && next.p.block === 3);
        c.send({ op: 'error', code: 0, message: 'enough' }, oack.port);
      } finally {
        c.close();
      }
    });

    test('block numbers roll over past 65535: a 33 MiB file in 512-byte blocks arrives whole', { timeout: 120_000 }, async () => {
      const big = randomBytes(33 << 20);
      writeFileSync(join(root, 'big.bin'), big);
      const r = await curl('big.bin');
      assert.equal(r.code, 0);
      assert.equal(r.body.length, big.length);
      assert.equal(sha(r.body), sha(big));
    });

    test('a file that shrinks while it is sent: the client gets an ERROR, never a short block taken for the end', async () => {
      const path = join(root, `shrink-${dataPath}.bin`);
      writeFileSync(path, randomBytes(2 << 20));
      const c = await rawClient(port);
      try {
        c.send({ op: 'rrq', filename: `shrink-${dataPath}.bin`, mode: 'octet', options: new Map() });
        let got = await c.next();
        truncateSync(path, 1000);
        let blocks = 0;
        while (got && got.p.op === 'data') {
          assert.equal(got.p.data.length, 512, `block ${got.p.block} is whole: a short one would end the transfer as if complete`);
          blocks++;
          c.send({ op: 'ack', block: got.p.block }, got.port);
          got = await c.next();
        }
        assert.ok(got && got.p.op === 'error' && /the file shrank while it was sent/.test(got.p.message), JSON.stringify(got?.p));
        assert.ok(blocks >= 1 && blocks < 4096, `${blocks} blocks were sent before the error`);
        const failed = events.find((e) => e.type === 'failed' && e.file === `shrink-${dataPath}.bin`) as { reason: string } | undefined;
        assert.match(failed?.reason ?? '', /server error: the file shrank while it was sent \(\d+ of 2097152 bytes\)/);
      } finally {
        c.close();
      }
    });

    test('fuzz at a transfer port: garbage from the client between its ACKs is never answered and the file arrives whole', async () => {
      const c = await rawClient(port);
      const file = files['ipxe.efi'] as Buffer;
      try {
        c.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map([['blksize', '1468']]) });
        const oack = await c.next();
        assert.ok(oack && oack.p.op === 'oack');
        const garbage = () => {
          for (;;) {
            const b = randomBytes(Math.floor(Math.random() * 80));
            if (Math.random() < 0.3 && b.length >= 4) b.writeUInt16BE(Math.floor(Math.random() * 7), 0); // a real opcode, odd contents
            const op = b.length >= 2 ? b.readUInt16BE(0) : -1;
            if ((op === 4 && b.length === 4) || op === 5) continue; // an ACK or ERROR would be a real one
            return b;
          }
        };
        let sent = 0;
        for (let i = 0; i < 20; i++, sent++) c.sendBytes(garbage(), oack.port);
        c.send({ op: 'ack', block: 0 }, oack.port);
        const blocks = new Map<number, Buffer>();
        for (;;) {
          const got = await c.next();
          assert.ok(got && got.p.op === 'data', `only DATA comes back: ${JSON.stringify(got?.p)}`);
          if (got.p.op !== 'data') break;
          blocks.set(got.p.block, got.p.data);
          for (let i = 0; i < 20; i++, sent++) c.sendBytes(garbage(), oack.port);
          c.send({ op: 'ack', block: got.p.block }, oack.port);
          if (got.p.data.length < 1468) break;
        }
        const whole = Buffer.concat([...blocks.keys()].sort((a, b) => a - b).map((k) => blocks.get(k) as Buffer));
        assert.equal(sha(whole), sha(file), `${blocks.size} blocks`);
        assert.ok(sent > 10_000, `${sent} garbage packets`);
        assert.equal(await c.next(400), null, 'nothing after the last block');
      } finally {
        c.close();
      }
    });

    test('closing the server ends a transfer under way with an ERROR to its client, within one timeout', async () => {
      const own = await TftpServer.start({ root, host: '127.0.0.1', port: 0, limits: { defaultTimeoutMs: 300, retries: 50 }, dataPath });
      const c = await rawClient(port);
      try {
        c.send({ op: 'rrq', filename: 'ipxe.efi', mode: 'octet', options: new Map() }, own.address.port);
        const first = await c.next();
        assert.ok(first && first.p.op === 'data' && first.p.block === 1);
        const started = Date.now();
        await own.close(); // the client never ACKs: without the shutdown the server would retry 50 times
        assert.ok(Date.now() - started < 1500, `closed in ${Date.now() - started} ms`);
        let last = await c.next(500);
        while (last && last.p.op === 'data') last = await c.next(500);
        assert.ok(last && last.p.op === 'error' && /shutting down/.test(last.p.message), JSON.stringify(last));
      } finally {
        c.close();
      }
    });
  });
}
