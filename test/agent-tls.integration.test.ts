// The agent API over HTTPS in a real `lifeboat serve`, its boot services on a veth in a
// network namespace, spoken to from a client namespace by the agent's own client
// (test/helpers/agent-post.ts), curl and openssl: the certificate made at the first start
// and shown to the operator, the https URL and fingerprint in the boot parameters, a
// hello with the right pin, a wrong pin refused before a byte of the request is sent,
// plain HTTP refused (and allowed with the lab setting), bad TLS clients, the same
// certificate after a restart, and a damaged key that stops the daemon with advice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, REPO, sh, tempDir } from './helpers/cli.js';
import { type TestDaemon, startDaemon } from './helpers/daemon.js';

const tag = `lbs${process.pid % 100000}`;
const appliance = `${tag}a`;
const client = `${tag}c`;
const iface = `${tag}b`;
const SERVER = '10.219.0.1';
const work = tempDir('lifeboat-agent-tls-');
const dataDir = join(work.dir, 'data');
const args = ['--interface', iface, '--http-port', '8080', '--agent-port', '8443'];
let daemon: TestDaemon;
let api: ApiClient;
let fingerprint = ''; // AA:BB:… from /v1/appliance

const inClient = (cmd: string) => spawnSync('ip', ['netns', 'exec', client, 'bash', '-c', cmd], { encoding: 'utf8', timeout: 60_000 });
const hex = (display: string) => display.replaceAll(':', '').toLowerCase();

/** The agent's own client, in the client namespace. */
function agentPost(url: string, token: string, fp: string | null, body = 'hello.json'): { status?: number; body?: unknown; error?: string; name?: string } {
  const r = spawnSync('ip', ['netns', 'exec', client, process.execPath, '--import', 'tsx', join(REPO, 'test/helpers/agent-post.ts'), url, token, fp ?? '-', '/agent/v1/hello', join(work.dir, body)], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim()) as ReturnType<typeof agentPost>;
}

/** The boot OS's kernel parameters for `mac`, from its iPXE script. */
function bootParams(mac: string): { url: string; token: string; fp: string | null; line: string } {
  const script = inClient(`curl -sS 'http://${SERVER}:8080/boot/ipxe?mac=${mac}&platform=pcbios'`);
  assert.equal(script.status, 0, script.stderr);
  const line = /^kernel .*$/m.exec(script.stdout)?.[0] ?? assert.fail(script.stdout);
  return { url: /lifeboat\.url=(\S+)/.exec(line)?.[1] as string, token: /lifeboat\.token=(\S+)/.exec(line)?.[1] as string, fp: /lifeboat\.fp=(\S+)/.exec(line)?.[1] ?? null, line };
}

const agentService = async () => (await api.appliance()).services.find((s) => s.name === 'agent API');

before(async () => {
  sh(`ip netns add ${appliance} && ip netns add ${client}`);
  sh(`ip link add ${iface} netns ${appliance} type veth peer name ${tag}x netns ${client}`);
  sh(`ip -n ${appliance} addr add ${SERVER}/24 dev ${iface} && ip -n ${appliance} link set ${iface} up && ip -n ${appliance} link set lo up`);
  sh(`ip -n ${client} addr add 10.219.0.50/24 dev ${tag}x && ip -n ${client} link set ${tag}x up && ip -n ${client} link set lo up`);
  mkdirSync(join(dataDir, 'boot/lifeboat'), { recursive: true });
  writeFileSync(join(dataDir, 'boot/lifeboat/vmlinuz'), Buffer.alloc(1000, 7));
  writeFileSync(join(dataDir, 'boot/lifeboat/initrd.img'), Buffer.alloc(1000, 9));
  writeFileSync(
    join(work.dir, 'hello.json'),
    JSON.stringify({
      agent: { version: '0.1.0', node: 'v24.0.0' },
      inventory: {
        smbios: { system: { uuid: null, manufacturer: 'QEMU', product: 'Standard PC', serial: 'TLS-1' } },
        disks: [{ name: 'vda', sizeBytes: 64 << 20, model: null, serial: 'TLS-DISK-1', logicalSectorSize: 512, physicalSectorSize: 512 }],
        nics: [{ name: 'eth0', mac: '52:54:00:7a:00:01', driver: 'virtio_net' }],
        cpu: { model: 'QEMU Virtual CPU', count: 1 },
        memoryBytes: 512 << 20,
      },
    }),
  );
  daemon = await startDaemon(work.dir, { dataDir, netns: appliance, args });
  api = new ApiClient(daemon.socket);
});

after(async () => {
  await daemon?.stop();
  sh(`ip netns del ${appliance} 2>/dev/null || true; ip netns del ${client} 2>/dev/null || true`);
  work.cleanup();
});

test('first start: a certificate is made and shown (log, /v1/appliance); the boot parameters carry the https URL and its fingerprint; openssl sees the same', async () => {
  const status = await api.appliance();
  assert.ok(status.agentApi, 'the appliance reports its agent API');
  fingerprint = status.agentApi.fingerprint;
  assert.match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.deepEqual(status.agentApi, { url: `https://${SERVER}:8443`, fingerprint, plainHttp: false });
  const service = await agentService();
  assert.equal(service?.state, 'running');
  assert.match(service?.detail ?? '', new RegExp(`^https://${SERVER}:8443, certificate SHA-256 ${fingerprint}$`));
  const shown = spawnSync(process.execPath, [CLI, 'appliance', '--socket', daemon.socket], { encoding: 'utf8' });
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`\\nagent API {4}https://${SERVER}:8443\\ncertificate  SHA-256 ${fingerprint}\\n`));
  assert.match(daemon.log(), new RegExp(`"msg":"made the agent API's TLS key and certificate \\(first start\\)","certificate":"${dataDir}/tls/agent-cert.pem","fingerprint":"${fingerprint}"`));
  assert.equal(statSync(join(dataDir, 'tls/agent-key.pem')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, 'tls/agent-cert.pem')).mode & 0o777, 0o644);
  const p = bootParams('52:54:00:7a:00:01');
  assert.equal(p.url, `https://${SERVER}:8443`);
  assert.equal(p.fp, hex(fingerprint));
  assert.match(p.line, new RegExp(`lifeboat\\.url=https://${SERVER.replaceAll('.', '\\.')}:8443 lifeboat\\.token=[A-Za-z0-9_-]{43} lifeboat\\.fp=[0-9a-f]{64} `));
  const seen = inClient(`openssl s_client -connect ${SERVER}:8443 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 -ext subjectAltName`);
  assert.match(seen.stdout, new RegExp(`sha256 Fingerprint=${fingerprint}`));
  assert.match(seen.stdout, new RegExp(`IP Address:${SERVER.replaceAll('.', '\\.')}`), 'the boot interface\'s address is a subjectAltName');
});

test('the agent\'s hello over HTTPS with the pin from its boot parameters is accepted', async () => {
  const p = bootParams('52:54:00:7a:00:01');
  const r = agentPost(p.url, p.token, p.fp);
  assert.deepEqual(r, { status: 200, body: { machine: 'new-5254007a0001', job: null } });
  const m = await api.machine('new-5254007a0001');
  assert.equal(m.bootStage?.stage, 'agent');
  assert.deepEqual(m.disks.map((d) => d.serial), ['TLS-DISK-1']);
});

test('a wrong pin is refused by the agent after the handshake: the appliance never sees a request, let alone the token', async () => {
  const p = bootParams('52:54:00:7a:00:02');
  const before = (await agentService())?.counters ?? assert.fail('no counters');
  const hellos = (daemon.log().match(/"msg":"agent hello"/g) ?? []).length;
  const wrong = (p.fp as string).replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const r = agentPost(p.url, p.token, wrong);
  assert.equal(r.name, 'PinMismatch');
  assert.match(r.error ?? '', new RegExp(`has SHA-256 fingerprint ${p.fp}, but the boot parameters pin ${wrong}: nothing was sent`));
  const after = (await agentService())?.counters ?? assert.fail('no counters');
  assert.equal(after.connections, (before.connections as number) + 1, 'the agent did connect and shake hands');
  assert.equal(after.requests, before.requests, 'no HTTP request reached the appliance');
  assert.equal((daemon.log().match(/"msg":"agent hello"/g) ?? []).length, hellos);
  assert.equal((await api.machine('new-5254007a0002')).bootStage?.stage, 'script', 'the machine never got to the agent stage');
  // the same token with the right pin still works: nothing was spent
  assert.equal(agentPost(p.url, p.token, p.fp).status, 200);
});

test('plain HTTP to the agent API is refused with where to go instead, and the token is not accepted there', async () => {
  const p = bootParams('52:54:00:7a:00:03');
  const r = inClient(`curl -sS -w ' %{http_code}' -H 'Authorization: Bearer ${p.token}' --data-binary @${join(work.dir, 'hello.json')} http://${SERVER}:8080/agent/v1/hello`);
  assert.match(r.stdout, / 403$/);
  const body = JSON.parse(r.stdout.replace(/ 403$/, '')) as { error: string };
  assert.match(body.error, new RegExp(`served over HTTPS only, at https://${SERVER}:8443 .*"agentPlainHttp": true`));
  assert.equal((await api.machine('new-5254007a0003')).bootStage?.stage, 'script');
  assert.match(daemon.log(), /"msg":"agent API request over plain HTTP refused"/);
});

test('bad TLS clients lose only their own connections; the agent API goes on', async () => {
  const bad = inClient(
    [
      `head -c 4096 /dev/urandom | timeout 5 nc -q 1 ${SERVER} 8443 >/dev/null`,
      `printf 'GET /agent/v1/hello HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | timeout 5 nc -q 1 ${SERVER} 8443 >/dev/null`,
      `openssl s_client -connect ${SERVER}:8443 -tls1_1 </dev/null >/dev/null 2>&1`,
      `for i in $(seq 30); do curl -sk -o /dev/null -X POST https://${SERVER}:8443/agent/v1/hello & done; wait`,
      'true',
    ].join('; '),
  );
  assert.equal(bad.status, 0, bad.stderr);
  const counters = (await agentService())?.counters ?? {};
  assert.ok((counters.tlsErrors ?? 0) >= 2, JSON.stringify(counters));
  const p = bootParams('52:54:00:7a:00:04');
  assert.equal(agentPost(p.url, p.token, p.fp).status, 200);
  assert.equal(daemon.child.exitCode, null);
  assert.doesNotMatch(daemon.log(), /"level":"error"/);
});

test('a restart keeps the certificate: the same fingerprint in the log, the status and the boot parameters', async () => {
  assert.equal(await daemon.stop(), 0);
  daemon = await startDaemon(work.dir, { dataDir, netns: appliance, args });
  api = new ApiClient(daemon.socket);
  assert.equal((await api.appliance()).agentApi?.fingerprint, fingerprint);
  assert.match(daemon.log(), new RegExp(`"msg":"the agent API's TLS certificate","certificate":"[^"]+","fingerprint":"${fingerprint}"`));
  assert.doesNotMatch(daemon.log(), /first start/);
  const p = bootParams('52:54:00:7a:00:05');
  assert.equal(p.fp, hex(fingerprint));
  assert.equal(agentPost(p.url, p.token, p.fp).status, 200);
});

test('a damaged key stops the daemon with advice and is left as it is; the lab setting serves agents over plain HTTP', async () => {
  assert.equal(await daemon.stop(), 0);
  const keyPath = join(dataDir, 'tls/agent-key.pem');
  const key = readFileSync(keyPath);
  const damaged = Buffer.concat([key.subarray(0, 60), Buffer.from('garbage'), key.subarray(80)]);
  writeFileSync(keyPath, damaged);
  await assert.rejects(startDaemon(work.dir, { dataDir, netns: appliance, args }), (err: Error) => {
    assert.match(err.message, /daemon exited 1/);
    assert.match(err.message, /the agent API's TLS key [^ ]+agent-key\.pem is damaged \(.*\): restore [^ ]+tls from a backup of the appliance, or move it aside \(mv [^ ]+tls [^ ]+tls\.old\) and start again/);
    return true;
  });
  assert.ok(readFileSync(keyPath).equals(damaged), 'the damaged key was not replaced');
  writeFileSync(keyPath, key);
  const config = join(work.dir, 'plain.json');
  writeFileSync(config, JSON.stringify({ dockedDir: work.dir, boot: { agentPlainHttp: true } }));
  daemon = await startDaemon(work.dir, { dataDir, netns: appliance, args, config });
  api = new ApiClient(daemon.socket);
  const status = await api.appliance();
  assert.deepEqual(status.agentApi, { url: `http://${SERVER}:8080`, fingerprint, plainHttp: true });
  assert.match((await agentService())?.detail ?? '', /plain HTTP: a lab setting/);
  const p = bootParams('52:54:00:7a:00:06');
  assert.equal(p.url, `http://${SERVER}:8080`);
  assert.equal(p.fp, null);
  assert.deepEqual(agentPost(p.url, p.token, null), { status: 200, body: { machine: 'new-5254007a0006', job: null } });
  assert.equal(agentPost(`https://${SERVER}:8443`, p.token, hex(fingerprint)).status, 200, 'HTTPS still answers');
});
