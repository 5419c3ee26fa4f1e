// The HTTP boot server against curl: per-machine iPXE scripts from the boot decision, files
// of the boot root with Range and keep-alive, and the refusals (traversal, a FIFO, a
// symbolic link out of the root, bad percent-encoding, other methods).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BootRecord, decideBoot } from '../src/boot/decision.js';
import { type BootSubject, HttpBootServer } from '../src/boot/http/server.js';
import { sh, tempDir } from './helpers/cli.js';

const work = tempDir('lifeboat-httpboot-');
const root = join(work.dir, 'boot');
const blob = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const asked: BootSubject[] = [];
let server: HttpBootServer;
let base: string;

const records: Record<string, BootRecord> = {
  '52:54:00:00:00:01': { machine: { id: 'm1', name: 'kiosk' }, job: { id: 'j7', type: 'restore', token: 'tok7' } },
  '52:54:00:00:00:02': { machine: { id: 'm2', name: 'desk' } },
};

before(async () => {
  mkdirSync(join(root, 'bootos'), { recursive: true });
  writeFileSync(join(root, 'bootos/initrd.img'), blob);
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(work.dir, 'secret'), 'outside the root');
  symlinkSync(join(work.dir, 'secret'), join(root, 'link-out'));
  sh(`mkfifo ${join(root, 'fifo')}`);
  server = await HttpBootServer.start({
    root,
    host: '127.0.0.1',
    port: 0,
    headersTimeoutMs: 1500,
    plan: async (subject) => {
      asked.push(subject);
      const action = decideBoot(subject.firmware, records[subject.mac] ?? {}, { discovery: true });
      return { action, files: { kernel: 'bootos/vmlinuz', initrd: 'bootos/initrd.img', cmdline: action.kind === 'boot-os' && action.mode === 'job' ? [`lifeboat.token=${action.token}`] : ['lifeboat.mode=inventory'] } };
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
after(async () => {
  await server.close();
  work.cleanup();
});

/** curl, asynchronously: the server runs in this process. */
function curl(args: string[]): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', '--max-time', '20', ...args]);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out: Buffer.concat(out), err }));
  });
}
const text = async (args: string[]) => (await curl(args)).out.toString();
const status = (url: string, extra: string[] = []) => text(['-o', '/dev/null', '-w', '%{http_code}', ...extra, url]);

test('the script follows the decision per machine: job, local disk, inventory', async () => {
  const job = await text([`${base}/boot/ipxe?mac=52:54:00:00:00:01&uuid=8C0B1E34-0000-4000-8000-000000000001&platform=efi`]);
  assert.match(job, /^#!ipxe\n/);
  assert.match(job, new RegExp(`^kernel ${base}/boot/files/bootos/vmlinuz initrd=initrd.img lifeboat.token=tok7 \\|\\| goto failed$`, 'm'));
  assert.deepEqual(asked.at(-1), { mac: '52:54:00:00:00:01', uuid: '8c0b1e34-0000-4000-8000-000000000001', firmware: 'uefi', address: '127.0.0.1' });
  const local = await text([`${base}/boot/ipxe?mac=52-54-00-00-00-02&platform=pcbios`]);
  assert.match(local, /^sanboot --no-describe --drive 0x80/m);
  assert.equal(asked.at(-1)?.uuid, null);
  const unknown = await text([`${base}/boot/ipxe?mac=52:54:00:00:00:99`]);
  assert.match(unknown, /lifeboat.mode=inventory/);
  assert.equal(await status(`${base}/boot/ipxe?mac=nonsense`), '400');
  assert.equal(await status(`${base}/boot/ipxe`), '400');
});

test('a file whole, in ranges, and over one kept-alive connection', async () => {
  const whole = await curl([`${base}/boot/files/bootos/initrd.img`]);
  assert.equal(whole.code, 0, whole.err);
  assert.equal(sha(whole.out), sha(blob));
  assert.deepEqual((await curl(['-r', '1000-1999', `${base}/boot/files/bootos/initrd.img`])).out, blob.subarray(1000, 2000));
  assert.deepEqual((await curl(['-r', '-100', `${base}/boot/files/bootos/initrd.img`])).out, blob.subarray(blob.length - 100));
  const headers = await text(['-s', '-D', '-', '-o', '/dev/null', '-r', '5-', `${base}/boot/files/bootos/initrd.img`]);
  assert.match(headers, /^HTTP\/1.1 206/);
  assert.match(headers, new RegExp(`content-range: bytes 5-${blob.length - 1}/${blob.length}`, 'i'));
  assert.equal(await status(`${base}/boot/files/bootos/initrd.img`, ['-r', `${blob.length}-`]), '416');
  assert.equal(await status(`${base}/boot/files/empty`), '200');
  const head = await text(['-I', `${base}/boot/files/bootos/initrd.img`]);
  assert.match(head, new RegExp(`content-length: ${blob.length}`, 'i'));
  assert.match(head, /accept-ranges: bytes/i);
  // two requests, one connection
  const two = await curl(['-v', '-o', '/dev/null', '-o', '/dev/null', `${base}/boot/files/empty`, `${base}/boot/files/bootos/initrd.img`]);
  assert.match(two.err, /Re-using existing connection|Reusing existing connection/);
});

test('refused: traversal, a symbolic link out of the root, a FIFO, bad encoding, other methods, other paths', async () => {
  assert.equal(await status(`${base}/boot/files/../../etc/passwd`, ['--path-as-is']), '404'); // not under /boot/files/ once normalized by URL parsing
  assert.equal(await status(`${base}/boot/files/bootos/..%2F..%2F..%2Fetc%2Fpasswd`), '403');
  assert.equal(await status(`${base}/boot/files/link-out`), '403');
  const started = Date.now();
  assert.equal(await status(`${base}/boot/files/fifo`), '404');
  assert.ok(Date.now() - started < 3000, 'a FIFO is refused at once, not waited on');
  assert.equal(await status(`${base}/boot/files/%E0%A4%A`), '400');
  assert.equal(await status(`${base}/boot/files/bootos/initrd.img`, ['-X', 'POST']), '405');
  assert.equal(await status(`${base}/v1/machines`), '404');
  // the server still serves after all that
  assert.equal(sha((await curl([`${base}/boot/files/bootos/initrd.img`])).out), sha(blob));
  assert.ok(server.counters.errors >= 7 && server.counters.scripts >= 3 && server.counters.bytesSent > blob.length);
});

test('a connection that never sends a request is dropped after the headers timeout; the server goes on', async () => {
  const silent = connect(server.port, '127.0.0.1');
  const opened = Date.now();
  const closedAfter = await new Promise<number>((resolve, reject) => {
    silent.on('error', reject);
    silent.on('close', () => resolve(Date.now() - opened));
    setTimeout(() => reject(new Error('the silent connection was still open after 10 s')), 10_000).unref();
  });
  assert.ok(closedAfter >= 1000 && closedAfter < 5000, `dropped after ${closedAfter} ms`);
  // A client that asks at once is served, and its kept-alive connection outlives the first-request timer.
  const r = await curl(['-o', '/dev/null', '-w', '%{http_code} %{num_connects}', `${base}/boot/files/bootos/initrd.img`, '--next', '--limit-rate', '2M', '-o', '/dev/null', '-w', ' %{http_code} %{num_connects}', `${base}/boot/files/bootos/initrd.img`]);
  assert.equal(r.out.toString(), '200 1 200 0');
});
