// A schedule's (and a machine's) passphrase file, through the real daemon: the database
// keeps only the path; a scheduled backup of a docked disk-image file reads the file when
// it runs and its image is protected (a restore without the passphrase is refused); an
// unsafe, missing or relative file is refused when set and fails the run before the disk
// is read; the secret appears in no log, record, event or answer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/api/client.js';
import { CLI, REPO, tempDir } from './helpers/cli.js';
import { type TestDaemon, randomDisk, startDaemon } from './helpers/daemon.js';

const SECRET = `horse-battery-${process.pid}`;
let work: { dir: string; cleanup: () => void };
let daemon: TestDaemon;
let api: ApiClient;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LIFEBOAT_SOCKET: daemon.socket, LIFEBOAT_PASSPHRASE: '' }, cwd: REPO });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = <T>(out: string) => JSON.parse(out.trim().split('\n').pop() as string) as T;
type RunOut = { jobs: Array<{ id: string; state: string; imageId?: string; error?: string; outcome?: string }> };

/** Every byte the daemon keeps (database files) and said (its log): none may hold the secret. */
function assertSecretNowhere(): void {
  assert.ok(!daemon.log().includes(SECRET), 'the daemon log never holds the passphrase');
  const dbDir = join(daemon.dataDir, 'db');
  for (const f of readdirSync(dbDir)) assert.ok(!readFileSync(join(dbDir, f), 'utf8').includes(SECRET), `database file ${f} never holds the passphrase`);
}

before(async () => {
  work = tempDir(`lifeboat-pass-${process.pid}-`);
  daemon = await startDaemon(work.dir);
  api = new ApiClient(daemon.socket);
});

after(async () => {
  await daemon?.stop('SIGKILL');
  work.cleanup();
});

test('a schedule with a passphrase file: refused settings, a protected image, refused runs, and back to unprotected', async () => {
  const disk = join(work.dir, 'docked.img');
  randomDisk(disk, 4);
  const pass = join(work.dir, 'pass');
  writeFileSync(pass, `${SECRET}\nnot this line\n`, { mode: 0o600 });
  const open = join(work.dir, 'open-pass');
  writeFileSync(open, `${SECRET}\n`, { mode: 0o644 });
  chmodSync(open, 0o644);

  // Refused when set: world-readable, missing, relative (API), both flags; nothing is created.
  const base = ['schedule', 'add', '--name', 'locked', '--device', disk, '--calendar', 'daily'];
  const worldReadable = await run([...base, '--passphrase-file', open]);
  assert.equal(worldReadable.code, 1, worldReadable.stderr);
  assert.match(worldReadable.stderr, /mode 0644: others may read it; run `chmod 600 .*open-pass`/);
  const missing = await run([...base, '--passphrase-file', join(work.dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /passphrase file .*nope does not exist/);
  await assert.rejects(api.addSchedule({ name: 'locked', devices: [disk], calendar: 'daily', passphraseFile: 'pass' }), /absolute path/);
  const both = await run([...base, '--passphrase-file', pass, '--no-passphrase']);
  assert.equal(both.code, 2, both.stderr);
  assert.deepEqual(await api.schedules(), [], 'no refused schedule was created');

  const add = await run([...base, '--passphrase-file', pass, '--json']);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(lastJson<{ passphraseFile: string }>(add.stdout).passphraseFile, pass, 'the path is the setting');
  const show = await run(['schedule', 'show', 'locked']);
  assert.match(show.stdout, new RegExp(`passphrase: +from file ${pass.replaceAll('/', '\\/')}`));
  assert.ok(!show.stdout.includes(SECRET));

  // A scheduled backup reads the file and protects its image: a restore without the passphrase, or with a wrong one, is refused.
  const first = await run(['schedule', 'run', 'locked', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const job = lastJson<RunOut>(first.stdout).jobs[0];
  assert.equal(job?.state, 'done');
  const imageId = job?.imageId as string;
  assert.ok((await api.image(imageId)).passphrase, 'the image carries a passphrase verifier');
  const target = join(work.dir, 'restored.img');
  const bare = await run(['restore', '--image', imageId, '--device', target, '--yes', '--wait']);
  assert.equal(bare.code, 1);
  assert.match(bare.stderr, /protected by a restore passphrase: give it with --passphrase-file/);
  const wrongFile = join(work.dir, 'wrong');
  writeFileSync(wrongFile, 'not-it\n', { mode: 0o600 });
  const wrong = await run(['restore', '--image', imageId, '--device', target, '--yes', '--wait', '--passphrase-file', wrongFile]);
  assert.match(wrong.stderr, /wrong restore passphrase/);
  const right = await run(['restore', '--image', imageId, '--device', target, '--yes', '--wait', '--passphrase-file', pass]);
  assert.equal(right.code, 0, right.stderr);
  assert.ok(readFileSync(target).equals(readFileSync(disk)), 'the first line of the file is the passphrase');

  // The file turns unsafe, then goes: the run fails before the disk is read, with what to fix; no image is made.
  const imagesBefore = (await api.images()).length;
  chmodSync(pass, 0o644);
  const unsafe = await run(['schedule', 'run', 'locked', '--json']);
  assert.equal(unsafe.code, 1);
  const failed = lastJson<RunOut>(unsafe.stdout).jobs[0];
  assert.equal(failed?.state, 'failed');
  assert.match(failed?.error ?? '', /chmod 600/);
  assert.match(failed?.outcome ?? '', /no image was made/);
  chmodSync(pass, 0o600);
  rmSync(pass);
  const gone = await run(['schedule', 'run', 'locked', '--json']);
  assert.equal(gone.code, 1);
  assert.match(lastJson<RunOut>(gone.stdout).jobs[0]?.error ?? '', /does not exist.*create it/);
  assert.equal((await api.images()).length, imagesBefore, 'no image from the refused runs');

  // --no-passphrase: the next backup is unprotected, and its job says so (the previous image was protected).
  const clear = await run(['schedule', 'edit', 'locked', '--no-passphrase', '--json']);
  assert.equal(clear.code, 0, clear.stderr);
  assert.equal(lastJson<{ passphraseFile?: string }>(clear.stdout).passphraseFile, undefined);
  const plain = await run(['schedule', 'run', 'locked', '--json']);
  assert.equal(plain.code, 0, plain.stderr);
  const plainJob = lastJson<RunOut>(plain.stdout).jobs[0];
  assert.ok(!(await api.image(plainJob?.imageId as string)).passphrase, 'the next image is not protected');
  const log = (await api.job(plainJob?.id as string)).log ?? [];
  assert.ok(log.some((l) => l.level === 'warning' && /is protected by a restore passphrase, but this one is not/.test(l.message)), JSON.stringify(log));

  assert.ok(!JSON.stringify(await api.jobs({})).includes(SECRET), 'no job record holds the passphrase');
  assert.ok(!JSON.stringify(await api.audit()).includes(SECRET), 'no event holds the passphrase');
  assertSecretNowhere();
});

test('a machine with a passphrase file: set, shown as its path, refused when unsafe, checked when its backup is asked for', async () => {
  const pass = join(work.dir, 'machine-pass');
  writeFileSync(pass, `${SECRET}\n`, { mode: 0o600 });
  assert.equal((await run(['machines', 'add', '--name', 'desk', '--mac', '52:54:00:aa:bb:01'])).code, 0);
  const set = await run(['machines', 'edit', 'desk', '--passphrase-file', pass]);
  assert.equal(set.code, 0, set.stderr);
  const show = await run(['machines', 'show', 'desk']);
  assert.match(show.stdout, new RegExp(`passphrase from file ${pass.replaceAll('/', '\\/')}`));
  assert.equal((await api.machine('desk')).passphraseFile, pass);

  chmodSync(pass, 0o666);
  const unsafe = await run(['machines', 'edit', 'desk', '--passphrase-file', pass]);
  assert.equal(unsafe.code, 1);
  assert.match(unsafe.stderr, /mode 0666: .*chmod 600/);
  // The setting stands, but the file turned unsafe: a backup of the machine is refused before any job waits for it.
  const backup = await run(['backup', '--machine', 'desk']);
  assert.equal(backup.code, 1);
  assert.match(backup.stderr, /passphrase file .*machine-pass has mode 0666/);
  assert.deepEqual((await api.jobs({})).filter((j) => j.machineId !== undefined), [], 'no job was created');
  chmodSync(pass, 0o600);
  const waiting = await run(['backup', '--machine', 'desk', '--json']);
  assert.equal(waiting.code, 0, waiting.stderr);
  const waitingJob = lastJson<{ id: string; state: string }>(waiting.stdout);
  assert.equal(waitingJob.state, 'waiting-for-boot');
  assert.equal((await run(['jobs', 'cancel', waitingJob.id])).code, 0);

  const clear = await run(['machines', 'edit', 'desk', '--no-passphrase']);
  assert.equal(clear.code, 0, clear.stderr);
  assert.equal((await api.machine('desk')).passphraseFile, undefined);
  assertSecretNowhere();
});
