// Boot media through a real `lifeboat serve` on a boot interface in a network namespace:
// `lifeboat bootmedia --machine` asks the daemon for a medium token and writes an ISO that
// carries it; the agent's hello with that token (from the client namespace) is answered
// with the machine's waiting job and a one-job token; a registration medium adds the
// computer that boots it; tokens survive a daemon restart, `bootmedia revoke` ends them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';

const tag = `lbm${process.pid % 100000}`;
const appliance = `${tag}a`;
const client = `${tag}c`;
const SERVER = '10.218.0.1';
const work = tempDir(`lifeboat-boot-media-${process.pid}-`);
const dataDir = join(work.dir, 'data');
const efiDir = join(work.dir, 'efi');
let daemon: TestDaemon;
let api: ApiClient;

const inClient = (cmd: string) => spawnSync('ip', ['netns', 'exec', client, 'bash', '-c', cmd], { encoding: 'utf8', timeout: 30_000 });
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--socket', daemon.socket], { encoding: 'utf8', timeout: 120_000 });
const start = () => startDaemon(work.dir, { netns: appliance, dataDir, args: ['--interface', `${tag}b`, '--http-port', '8080', '--tftp-port', '69'] });

function helloFile(name: string, mac: string, product = 'Standard PC (Q35 + ICH9, 2009)'): string {
  const file = join(work.dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      agent: { version: '0.1.0', node: 'v24.21.0' },
      inventory: {
        smbios: { system: { uuid: null, manufacturer: 'QEMU', product, serial: null } },
        disks: [{ name: 'vda', sizeBytes: 64 << 20, model: null, serial: `DISK-${name}`, logicalSectorSize: 512, physicalSectorSize: 512 }],
        nics: [{ name: 'eth0', mac, driver: 'virtio_net' }],
        cpu: { model: 'QEMU Virtual CPU', count: 1 },
        memoryBytes: 512 << 20,
      },
    }),
  );
  return file;
}

/** The agent's hello from the client namespace: body and HTTP status. */
function hello(token: string, file: string, path = 'hello'): { status: number; body: Record<string, unknown> } {
  const r = inClient(`curl -sSk -w '\\n%{http_code}' -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' --data-binary @${file} https://${SERVER}:8443/agent/v1/${path}`);
  const lines = r.stdout.trim().split('\n');
  return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n') || '{}') as Record<string, unknown> };
}

/** The token a medium carries (its parameters file is an uncompressed cpio member appended to the initramfs). */
function tokenOnMedium(iso: string): string {
  const m = /token=([A-Za-z0-9_-]{43})/.exec(readFileSync(iso).toString('latin1')) ?? /"token"\s*:\s*"([A-Za-z0-9_-]{43})"/.exec(readFileSync(iso).toString('latin1'));
  assert.ok(m, `${iso} carries a token`);
  return m[1] as string;
}

before(async () => {
  sh(`ip netns add ${appliance} && ip netns add ${client}`);
  sh(`ip link add ${tag}b netns ${appliance} type veth peer name ${tag}x netns ${client}`);
  sh(`ip -n ${appliance} addr add ${SERVER}/24 dev ${tag}b && ip -n ${appliance} link set ${tag}b up && ip -n ${appliance} link set lo up`);
  sh(`ip -n ${client} addr add 10.218.0.50/24 dev ${tag}x && ip -n ${client} link set ${tag}x up && ip -n ${client} link set lo up`);
  // A stand-in boot OS and signed EFI binaries (this test proves tokens, not booting: test/e2e does that).
  mkdirSync(join(dataDir, 'boot/lifeboat'), { recursive: true });
  writeFileSync(join(dataDir, 'boot/lifeboat/vmlinuz'), Buffer.alloc(300_000, 7));
  writeFileSync(join(dataDir, 'boot/lifeboat/initrd.img'), Buffer.alloc(500_000, 9));
  mkdirSync(efiDir);
  const files: Record<string, string> = {};
  for (const name of ['shimx64.efi', 'gcdx64.efi']) {
    const data = Buffer.alloc(200_000, name.length);
    writeFileSync(join(efiDir, name), data);
    files[name] = createHash('sha256').update(data).digest('hex');
  }
  writeFileSync(join(efiDir, 'manifest.json'), JSON.stringify({ files }));
  daemon = await start();
  api = new ApiClient(daemon.socket);
});

after(async () => {
  await daemon?.stop();
  sh(`ip netns del ${appliance} 2>/dev/null || true; ip netns del ${client} 2>/dev/null || true`);
  work.cleanup();
});

test('a machine medium: made through the daemon, its hello gets the waiting job and a one-job token; it survives a restart; revoked it is refused', async () => {
  const mac = '52:54:00:bb:00:01';
  assert.equal(cli(['machines', 'add', '--name', 'desk-1', '--mac', mac]).status, 0);
  const iso = join(work.dir, 'desk-1.iso');
  const made = cli(['bootmedia', '--out', iso, '--machine', 'desk-1', '--data-dir', dataDir, '--efi', efiDir]);
  assert.equal(made.status, 0, made.stderr);
  const id = /medium ([0-9a-f]{12}): machine desk-1, reaching https:\/\/10\.218\.0\.1:8443/.exec(made.stdout)?.[1] as string;
  assert.ok(id, made.stdout);
  const token = tokenOnMedium(iso);
  const fp = (await api.appliance()).agentApi?.fingerprint.replaceAll(':', '').toLowerCase();
  assert.ok(fp && readFileSync(iso).toString('latin1').includes(`fp=${fp}`), 'the medium pins the appliance\'s certificate');
  assert.ok(readFileSync(iso).toString('latin1').includes('\nlifeboat.retry=60\n'), 'the medium carries the daemon\'s agent.retrySeconds (default 60)');
  const desk = helloFile('desk', mac);

  assert.deepEqual(hello(token, desk), { status: 200, body: { machine: 'desk-1', job: null } }, 'no job waiting: none');
  assert.equal((await api.machine('desk-1')).bootStage?.stage, 'agent');
  assert.deepEqual((await api.machine('desk-1')).disks.map((d) => d.serial), ['DISK-desk']);

  const job = await api.createJob({ type: 'backup', machine: 'desk-1' });
  const answer = hello(token, desk);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body.job, { id: job.id, type: 'backup', disk: { serial: null, name: null }, label: null, end: 'reboot' });
  assert.match(String(answer.body.token), /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(answer.body.token, token, 'the job gets its own one-job token');
  assert.equal((await api.job(job.id)).state, 'booting');
  assert.deepEqual(hello(String(answer.body.token), desk).body.job, answer.body.job, 'the one-job token works as from a network boot');
  assert.notEqual(hello(token, desk, 'job/start').status, 200, 'a medium token reaches no job route');

  const stranger = hello(token, helloFile('stranger', '52:54:00:bb:00:99'));
  assert.equal(stranger.status, 409, 'the stick in another computer gets no job');
  assert.match(String(stranger.body.error), /made for machine desk-1 .*52:54:00:bb:00:99/);

  await api.cancelJob(job.id);
  await daemon.stop();
  daemon = await start();
  api = new ApiClient(daemon.socket);
  assert.deepEqual(hello(token, desk), { status: 200, body: { machine: 'desk-1', job: null } }, 'the medium works after a restart');

  const list = cli(['bootmedia', 'list', '--json']);
  assert.equal(list.status, 0, list.stderr);
  const media = JSON.parse(list.stdout) as Array<{ id: string; scope: string; machine?: string; lastUsedAt?: string }>;
  const mine = media.find((m) => m.id === id);
  assert.equal(mine?.scope, 'machine');
  assert.equal(mine?.machine, 'desk-1');
  assert.ok(mine?.lastUsedAt);
  assert.ok(!list.stdout.includes(token) && !list.stdout.includes(createHash('sha256').update(token).digest('hex')), 'neither the token nor its digest is shown');
  for (const f of readdirSync(join(dataDir, 'db'))) assert.ok(!readFileSync(join(dataDir, 'db', f), 'utf8').includes(token), `${f} holds no token in clear`);

  const revoked = cli(['bootmedia', 'revoke', id]);
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`revoked boot medium ${id} \\(machine desk-1\\)`));
  assert.equal(hello(token, desk).status, 401);
  assert.match(cli(['bootmedia', 'list']).stdout, new RegExp(`${id} +machine desk-1 .*revoked `));
  assert.match(cli(['bootmedia', 'revoke', id]).stderr, /already revoked/);
  assert.ok((await api.audit()).some((e) => e.action === 'bootmedia.revoke' && e.subject === id));
});

test('a registration medium adds the computer that boots it (once), named from SMBIOS and MAC; a refused write revokes its token', async () => {
  const iso = join(work.dir, 'register.iso');
  const made = cli(['bootmedia', '--out', iso, '--data-dir', dataDir, '--efi', efiDir]);
  assert.equal(made.status, 0, made.stderr);
  assert.match(made.stdout, /registration \(adds the machine that boots it\)/);
  const token = tokenOnMedium(iso);
  const pc = helloFile('new-pc', '52:54:00:cc:00:07');
  assert.deepEqual(hello(token, pc), { status: 200, body: { machine: 'standard-pc-q35-ich9-2009-cc0007', job: null } });
  const m = await api.machine('standard-pc-q35-ich9-2009-cc0007');
  assert.deepEqual(m.macs, ['52:54:00:cc:00:07']);
  assert.equal(m.status, undefined, 'a registered machine is managed at once');
  assert.equal(hello(token, pc).status, 200);
  assert.equal((await api.machines()).filter((x) => x.macs.includes('52:54:00:cc:00:07')).length, 1, 'booting it again adds nothing');

  // The write fails (no boot OS in this data directory): the medium made for it is revoked again.
  const before = (await api.media()).length;
  const failed = cli(['bootmedia', '--out', join(work.dir, 'x.iso'), '--data-dir', join(work.dir, 'empty'), '--efi', efiDir]);
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /holds no boot OS: run `lifeboat bootos build` first \(medium [0-9a-f]{12} was revoked again\)/);
  const after = await api.media();
  assert.equal(after.length, before + 1);
  assert.ok(after[0]?.revokedAt, 'the newest medium, never written, is revoked');
});
