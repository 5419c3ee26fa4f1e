// lifeboat notify as systemd's OnFailure= runs it: a real local HTTP receiver gets the JSON,
// a sendmail stand-in (a script recording its arguments and input) gets the mail; a receiver
// answering 500, a sendmail exiting 75, or nothing configured is a failure (exit 1) that
// says what to do; the units carry OnFailure=lifeboat-notify@%n.service.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, REPO, tempDir } from './helpers/cli.js';

let work: { dir: string; cleanup: () => void };
const received: Array<{ path: string; type: string; body: string }> = [];
let status = 204;
let server: ReturnType<typeof createServer>;
let url: string;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  work = tempDir(`lifeboat-notify-${process.pid}-`);
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/lifeboat`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  work.cleanup();
});

const config = (notify: Record<string, unknown>) => {
  const path = join(work.dir, `config-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ dataDir: '/var/lib/lifeboat', notify }));
  return path;
};
const standIn = (exit: number) => {
  const script = join(work.dir, `sendmail-${exit}`);
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$@" > "$0.args"\ncat > "$0.mail"\n${exit ? `echo "queue full" >&2\n` : ''}exit ${exit}\n`);
  chmodSync(script, 0o755);
  return script;
};

test('a failed schedule is posted to the webhook and mailed through sendmail', async () => {
  const sendmail = standIn(0);
  const r = await run(['notify', '--unit', 'lifeboat-schedule@nightly.service', '--no-journal', '--message', '2 of 3 backups failed', '--config', config({ webhook: url, mailTo: 'ops@example.org', mailFrom: 'lifeboat@example.org', sendmail })]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^posted to http:\/\/127\.0\.0\.1:\d+$/m);
  assert.match(r.stdout, /^mailed ops@example\.org through .*sendmail-0$/m);
  const hook = received.at(-1);
  assert.equal(hook?.path, '/hooks/lifeboat');
  assert.equal(hook?.type, 'application/json');
  const payload = JSON.parse(hook?.body ?? '{}') as { subject: string; unit: string; text: string };
  assert.match(payload.subject, /^Lifeboat on \S+: schedule nightly failed$/);
  assert.equal(payload.unit, 'lifeboat-schedule@nightly.service');
  assert.match(payload.text, /2 of 3 backups failed/);
  assert.equal(readFileSync(`${sendmail}.args`, 'utf8'), '-t\n-oi\n');
  const mail = readFileSync(`${sendmail}.mail`, 'utf8');
  assert.match(mail, /^To: ops@example\.org\nFrom: lifeboat@example\.org\nSubject: Lifeboat on \S+: schedule nightly failed\n/);
  assert.match(mail, /\n\nschedule nightly failed on \S+ at \d{4}-/);
});

test('a receiver answering 500 or a sendmail that fails is a failure that says so; the other channel is still tried', async () => {
  status = 500;
  const sendmail = standIn(0);
  const r = await run(['notify', '--unit', 'lifeboat-verify.service', '--no-journal', '--config', config({ webhook: url, mailTo: 'ops@example.org', sendmail })]);
  status = 204;
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^lifeboat: the failure of lifeboat-verify\.service was not delivered everywhere: webhook http:\/\/127\.0\.0\.1:\d+ answered HTTP 500/m);
  assert.match(readFileSync(`${sendmail}.mail`, 'utf8'), /Subject: Lifeboat on \S+: the weekly verify of every image failed/, 'mail still went');

  const broken = standIn(75);
  const m = await run(['notify', '--unit', 'lifeboat-verify.service', '--no-journal', '--config', config({ mailTo: 'ops@example.org', sendmail: broken })]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /sendmail-75 -t -oi exited 75: queue full: the mail was not sent/);

  const missing = await run(['notify', '--unit', 'x.service', '--no-journal', '--config', config({ mailTo: 'ops@example.org', sendmail: join(work.dir, 'no-such-sendmail') })]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found: install a mail transfer agent/);
});

test('nothing configured, or a bad config, is refused with what to set', async () => {
  const none = await run(['notify', '--unit', 'x.service', '--no-journal', '--config', config({})]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /nobody was told that x\.service failed: set notify\.webhook and\/or notify\.mailTo in /);
  const bad = await run(['notify', '--unit', 'x.service', '--config', config({ webhook: 'file:///etc/passwd' })]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /notify: webhook: must be an http:\/\/ or https:\/\/ URL/);
});

test('the schedule and verify units run lifeboat notify on failure', () => {
  for (const unit of ['lifeboat-schedule@.service', 'lifeboat-verify.service']) assert.match(readFileSync(join(REPO, 'systemd', unit), 'utf8'), /^OnFailure=lifeboat-notify@%n\.service$/m, unit);
  assert.match(readFileSync(join(REPO, 'systemd', 'lifeboat-notify@.service'), 'utf8'), /^ExecStart=\/usr\/local\/bin\/lifeboat notify --unit %i /m);
});
