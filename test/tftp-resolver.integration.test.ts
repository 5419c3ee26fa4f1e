// The TFTP server's hooks for the boot services, with curl as the client: a resolver that
// generates a file's bytes (a per-machine GRUB config), still path-checked and size-capped;
// the counters the appliance status reports; event levels (probe files not found are quiet).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type TftpClient, type TftpEvent, type TftpServerOptions, TftpServer } from '../src/boot/tftp/server.js';
import { tempDir } from './helpers/cli.js';

async function withServer(opts: Partial<TftpServerOptions>, use: (s: TftpServer, events: TftpEvent[]) => Promise<void>) {
  const t = tempDir('lifeboat-tftp-hooks-');
  const root = join(t.dir, 'boot');
  mkdirSync(join(root, 'grub'), { recursive: true });
  writeFileSync(join(root, 'grub/grub.cfg'), 'from disk\n');
  writeFileSync(join(root, 'ipxe.efi'), Buffer.alloc(5000, 7));
  writeFileSync(join(t.dir, 'secret'), 'not for clients');
  const events: TftpEvent[] = [];
  const server = await TftpServer.start({ root, host: '127.0.0.1', port: 0, onEvent: (e) => events.push(e), ...opts });
  try {
    await use(server, events);
  } finally {
    await server.close();
    t.cleanup();
  }
}

function curl(port: number, path: string, blksize?: number): Promise<{ code: number; body: Buffer }> {
  const args = ['-s', '--path-as-is', '--max-time', '10', ...(blksize ? ['--tftp-blksize', String(blksize)] : []), `tftp://127.0.0.1:${port}/${path}`];
  return new Promise((resolve) => execFile('curl', args, { encoding: 'buffer' }, (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, body: stdout })));
}

test('a resolver generates a file for a path (others fall through to the disk); it sees checked paths only and the client address', async () => {
  const calls: Array<[string, TftpClient]> = [];
  const config = Buffer.from('set default=0\nmenuentry "Lifeboat" { linux /vmlinuz lifeboat.job=42 }\n'.repeat(40)); // > 1 block
  const resolve = async (path: string, client: TftpClient) => {
    calls.push([path, client]);
    const mac = /^grub\/mac\/([0-9a-f-]{17})\.cfg$/.exec(path)?.[1];
    return mac === '52-54-00-12-34-56' ? config : null;
  };
  await withServer({ resolve }, async (server, events) => {
    for (const blksize of [undefined, 1468]) {
      const r = await curl(server.address.port, 'grub/mac/52-54-00-12-34-56.cfg', blksize);
      assert.equal(r.code, 0);
      assert.deepEqual(r.body, config);
    }
    assert.equal((await curl(server.address.port, '/grub/grub.cfg')).body.toString(), 'from disk\n');
    assert.notEqual((await curl(server.address.port, 'grub/mac/00-00-00-00-00-00.cfg')).code, 0, 'null: the disk, where there is no such file');
    assert.notEqual((await curl(server.address.port, '../secret')).code, 0);
    assert.deepEqual(
      calls.map(([p]) => p),
      ['grub/mac/52-54-00-12-34-56.cfg', 'grub/mac/52-54-00-12-34-56.cfg', 'grub/grub.cfg', 'grub/mac/00-00-00-00-00-00.cfg'],
      'a path outside the root never reaches the resolver',
    );
    assert.equal(calls[0]?.[1].address, '127.0.0.1');
    const started = events.filter((e) => e.type === 'started');
    assert.deepEqual(started.map((e) => e.type === 'started' && e.generated), [true, true, false]);
  });
});

test('generated content over the cap, a resolver that throws, returns a non-Buffer or never answers: the client gets an ERROR, the server goes on', async () => {
  const resolve = (path: string) => {
    if (path === 'big.cfg') return Buffer.alloc(2049);
    if (path === 'throws.cfg') throw new Error('the database is closed');
    if (path === 'string.cfg') return 'text' as unknown as Buffer;
    if (path === 'hangs.cfg') return new Promise<Buffer>(() => {});
    return null;
  };
  await withServer({ resolve, limits: { maxGeneratedBytes: 2048, maxStallMs: 500 } }, async (server, events) => {
    for (const p of ['big.cfg', 'throws.cfg', 'string.cfg', 'hangs.cfg']) assert.notEqual((await curl(server.address.port, p)).code, 0, p);
    const failed = events.filter((e) => e.type === 'failed').map((e) => (e as { reason: string }).reason);
    assert.equal(failed.length, 4);
    assert.match(failed[3] ?? '', /the resolver gave no answer for hangs\.cfg within 500 ms/);
    assert.equal(server.transfers, 0, 'no slot held by the resolver that hangs');
    assert.match(failed[0] ?? '', /generated content for big\.cfg is 2049 bytes, more than 2048/);
    assert.match(failed[1] ?? '', /the database is closed/);
    assert.match(failed[2] ?? '', /returned a string for string\.cfg, not a Buffer/);
    assert.equal((await curl(server.address.port, 'ipxe.efi')).code, 0, 'still serving');
  });
});

test('counters add up what happened; "not found" of a probe file is a debug event, of another file an info one, outside the root a warning', async () => {
  await withServer({}, async (server, events) => {
    assert.equal((await curl(server.address.port, 'ipxe.efi', 1468)).code, 0); // 5000 bytes: 4 blocks, 1 OACK
    assert.equal((await curl(server.address.port, 'ipxe.efi')).code, 0); // 512-byte blocks: 10 blocks
    for (const p of ['grub/x86_64-efi/command.lst', 'revocations_sku.efi', 'missing.efi', '../secret']) assert.notEqual((await curl(server.address.port, p)).code, 0, p);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(server.counters, {
      requests: 6,
      refused: 4,
      malformed: 0,
      ignored: 0,
      transfersStarted: 2,
      transfersCompleted: 2,
      transfersAborted: 0,
      transfersFailed: 0,
      bytesSent: 10_000,
      errorsSent: 4,
    });
    const refused = events.filter((e) => e.type === 'refused').map((e) => [(e as { file: string }).file, e.level]);
    assert.deepEqual(refused, [
      ['grub/x86_64-efi/command.lst', 'debug'],
      ['revocations_sku.efi', 'debug'],
      ['missing.efi', 'info'],
      ['../secret', 'warn'],
    ]);
    assert.deepEqual(
      events.filter((e) => e.type === 'sent').map((e) => e.level),
      ['info', 'info'],
    );
  });
});
