// Backups to a network share the appliance names (issue 15, claim 9), end to end on the lab of
// test/helpers/vm-lab.ts: Samba's smbd in the lab's namespace (test/helpers/smb-share.ts,
// serving a directory outside the docked directory), the daemon's config naming it
// (`shares.nas`, password in a 0600 file, `localPath` = the served directory), machine A
// (SeaBIOS + iPXE, lab disk A) booting the real boot OS:
//   - `lifeboat backup --machine a --to share:nas --wait` → the agent mounts the share with the
//     kernel's cifs, the image is committed in <share>/lifeboat-store, recorded with location
//     `share nas`, and `lifeboat image verify --store <share>/lifeboat-store` passes here;
//   - `lifeboat images import <id> --from <localPath>/lifeboat-store` brings it into the
//     appliance (location: the appliance) and the daemon's verify passes;
//   - a second backup there is incremental against the first image in that store;
//   - an unknown share, or a password file others may read, is refused before a job exists;
//     the password shows nowhere (job record, database files, daemon log, the console);
//   - with the SMB server down the job fails with the reason and advice, and no image is added.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageRecord, Job } from '../../src/api/wire.js';
import { lifeboat, tempDir } from '../helpers/cli.js';
import { makeDiskA } from '../helpers/lab-disks.js';
import { type SmbShare, startSmbShare } from '../helpers/smb-share.js';
import { type VmSpec, VmLab, prepareBootOs } from '../helpers/vm-lab.js';

const JOB_MS = 900_000;
const work = tempDir('lifeboat-sharebackup-');
const nas = tempDir('lifeboat-nas-');
const diskA = join(work.dir, 'a.img');
const specA: VmSpec = { name: 'a', mac: '52:54:00:1d:01:0a', firmware: 'bios', uuid: randomUUID(), disk: { file: diskA, bus: 'virtio', serial: `SHARE-A-${process.pid}` } };
const password = `Nas pw=${randomBytes(6).toString('hex')}`;
const passwordFile = join(work.dir, 'nas.password');
let lab: VmLab;
let share: SmbShare | null = null;

before(async () => {
  prepareBootOs(join(work.dir, 'data'));
  makeDiskA(diskA);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const shareDir = join(nas.dir, 'share'); // what startSmbShare serves
  lab = await VmLab.start(work.dir, { agent: { silenceMinutes: 2 }, shares: { nas: { type: 'smb', unc: '//10.219.0.1/lifeboat', username: 'backup', passwordFile, localPath: shareDir } } });
  share = await startSmbShare({ ns: lab.ns, address: lab.server, dir: nas.dir, name: 'lifeboat', username: 'backup', password });
  assert.equal(share.dir, shareDir);
  lab.cli(['machines', 'add', '--name', 'a', '--mac', specA.mac]);
});

after(async () => {
  await lab?.stop();
  await share?.stop();
  work.cleanup();
  nas.cleanup();
});

test('an unknown share, or a password file others may read, is refused before a job exists', async () => {
  const r = lifeboat(['backup', '--machine', 'a', '--to', 'share:office', '--socket', lab.daemon.socket]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no share named "?office"?.*nas/);
  chmodSync(passwordFile, 0o644);
  try {
    const loose = lifeboat(['backup', '--machine', 'a', '--to', 'share:nas', '--socket', lab.daemon.socket]);
    assert.notEqual(loose.code, 0);
    assert.match(loose.stderr, /share nas's password file .*nas\.password has mode 0644: others may read it; run `chmod 600/);
    assert.ok(!loose.stderr.includes(password));
  } finally {
    chmodSync(passwordFile, 0o600);
  }
  assert.deepEqual(await lab.api.jobs({}), []);
});

/** `lifeboat backup --machine a --to share:nas --wait --json` with A booted for it; the job record (done) and A's console. */
async function backupToShare(label: string): Promise<{ job: Job; serial: string; explain: string }> {
  const cli: ChildProcess = lab.cliSpawn(['backup', '--machine', 'a', '--to', 'share:nas', '--label', label, '--wait', '--json']);
  let stdout = '';
  let stderr = '';
  cli.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  cli.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  await lab.until(async () => (await lab.api.jobs({ state: ['waiting-for-boot'] })).some((j) => j.machineName === 'a'), 30_000, 'the job waits for its boot', []);
  const vm = lab.boot(specA);
  try {
    await lab.hello('a', vm, 600_000);
    const timer = setTimeout(() => cli.kill('SIGTERM'), JOB_MS);
    const code = await ended;
    clearTimeout(timer);
    const explain = `\nexit ${code}\nstderr: ${stderr.slice(-1500)}\n${lab.diagnostics([vm])}\n--- smbd ---\n${share?.log().slice(-1500)}`;
    assert.equal(code, 0, `the backup to the share failed${explain}`);
    const job = JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as Job;
    assert.equal(job.state, 'done', explain);
    const seconds = (Date.parse(job.finishedAt ?? '') - Date.parse(job.startedAt ?? '')) / 1000;
    console.log(`share backup (${label}): job ${seconds.toFixed(1)} s (running → done, TCG), ${JSON.stringify(job.stats)}`);
    return { job, serial: vm.serial(), explain };
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
}

let firstImage = '';

test('A is backed up to share nas: committed in <share>/lifeboat-store, recorded there, verified here, then imported', { timeout: JOB_MS + 600_000 }, async () => {
  const { job, serial, explain } = await backupToShare('to the nas');
  const id = job.imageId ?? '';
  assert.ok(id, 'the job names its image');
  firstImage = id;
  const store = join(share?.dir ?? '', 'lifeboat-store');
  assert.ok(existsSync(join(store, 'images', id)), `the image is in ${store}${explain}`);
  assert.match(serial, /mounting share nas \(\/\/10\.219\.0\.1\/lifeboat as backup\)/);

  const record = JSON.parse(lab.cli(['images', 'show', id, '--json'])) as ImageRecord;
  assert.equal(record.location, 'share nas');
  const verify = lifeboat(['image', 'verify', id, '--store', store]);
  assert.equal(verify.code, 0, `image verify on the share's store: ${verify.stdout}${verify.stderr}`);

  const jobText = lab.cli(['jobs', 'show', job.id, '--json']);
  const dbDir = join(work.dir, 'data', 'db');
  const database = readdirSync(dbDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'latin1')).join('\n');
  assert.ok(database.includes(id), `the database files under ${dbDir} hold the image record`);
  for (const [where, text] of [['the job record', jobText], ['the database files', database], ['the daemon log', lab.daemon.log()], ['A\'s console', serial]] as const) {
    assert.ok(!text.includes(password), `the share's password appears in ${where}`);
  }

  lab.cli(['images', 'import', id, '--from', store]);
  const imported = JSON.parse(lab.cli(['images', 'show', id, '--json'])) as ImageRecord;
  assert.equal(imported.location, undefined, 'after the import the image is the appliance\'s');
  lab.cli(['images', 'verify', id]);
});

test('a second backup to the share is incremental against the first image in that store', { timeout: JOB_MS + 600_000 }, async () => {
  assert.ok(firstImage, 'the first backup ran');
  const { job, explain } = await backupToShare('to the nas again');
  const id = job.imageId ?? '';
  assert.notEqual(id, firstImage);
  assert.ok((job.stats?.bytesReused ?? 0) > 0, `the second image reused the first's chunks: ${JSON.stringify(job.stats)}${explain}`);
  assert.equal(job.stats?.bytesNew, 0, 'A\'s disk did not change: nothing new');
  const record = JSON.parse(lab.cli(['images', 'show', id, '--json'])) as ImageRecord;
  assert.equal(record.location, 'share nas');
  assert.equal(record.parent, firstImage);
  const verify = lifeboat(['image', 'verify', id, '--store', join(share?.dir ?? '', 'lifeboat-store')]);
  assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
});

test('with the share\'s server down, the job fails with the reason and advice, and no image is recorded', { timeout: JOB_MS + 600_000 }, async () => {
  await share?.stop();
  const before = (JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).map((i) => i.id).sort();
  const cli: ChildProcess = lab.cliSpawn(['backup', '--machine', 'a', '--to', 'share:nas', '--wait', '--json']);
  let stdout = '';
  cli.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const ended = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
  await lab.until(async () => (await lab.api.jobs({ state: ['waiting-for-boot'] })).some((j) => j.machineName === 'a'), 30_000, 'the job waits for its boot', []);
  const vm = lab.boot(specA);
  try {
    await lab.hello('a', vm, 600_000);
    const timer = setTimeout(() => cli.kill('SIGTERM'), JOB_MS);
    const code = await ended;
    clearTimeout(timer);
    const job = JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as Job;
    const explain = `\n${stdout.slice(-1500)}\n${lab.diagnostics([vm])}`;
    assert.notEqual(code, 0, explain);
    assert.equal(job.state, 'failed', explain);
    assert.match(job.error ?? '', /cannot reach the SMB server 10\.219\.0\.1 on port 445 from this machine .*check its address, that it runs/, explain);
    assert.ok(!JSON.stringify(job).includes(password));
    const after = (JSON.parse(lab.cli(['images', 'list', '--json'])) as ImageRecord[]).map((i) => i.id).sort();
    assert.deepEqual(after, before, 'no image was recorded');
  } finally {
    cli.kill('SIGTERM');
    await vm.kill();
  }
});
