import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { NotifyConfigSchema, composeNotification, mailMessage, webhookPayload } from './notification.js';

const at = new Date('2026-12-03T02:00:00Z');

test('a failed schedule: subject and text name the schedule, the host, the time and the log', () => {
  const n = composeNotification({ unit: 'lifeboat-schedule@nightly.service', host: 'lifeboat-1', at, log: ['job 1 failed: pc-3 did not boot'] });
  assert.equal(n.subject, 'Lifeboat on lifeboat-1: schedule nightly failed');
  assert.match(n.text, /^schedule nightly failed on lifeboat-1 at 2026-12-03T02:00:00\.000Z\./);
  assert.match(n.text, /\n {2}job 1 failed: pc-3 did not boot\n/);
  assert.match(n.text, /journalctl -u lifeboat-schedule@nightly\.service/);
  const body = JSON.parse(webhookPayload(n)) as Record<string, string>;
  assert.equal(body.unit, 'lifeboat-schedule@nightly.service');
  assert.match(body.text ?? '', /^Lifeboat on lifeboat-1: schedule nightly failed\n/);
});

test('fuzz: no unit name, host, message or log line can add a mail header or end the message early', () => {
  for (let i = 0; i < 500; i++) {
    const junk = () => randomBytes(1 + (i % 60)).toString('latin1') + ['\r\nBcc: evil@example.org', '\n.\n', '\u2028To: x@y', ''][i % 4];
    const n = composeNotification({ unit: junk(), host: junk(), at, log: [junk(), junk()], message: junk() });
    const mail = mailMessage(n, 'ops@example.org', 'lifeboat@example.org');
    const [head, ...rest] = mail.split('\n\n');
    const names = (head ?? '').split('\n').map((l) => l.split(':')[0]);
    assert.deepEqual(names, ['To', 'From', 'Subject', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding', 'Auto-Submitted'], JSON.stringify(head));
    assert.ok(!rest.join('\n\n').split('\n').includes('.'), 'no lone dot line');
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(n.subject, /[\u0000-\u001f\u007f]/);
  }
});

test('the notify config: http(s) webhooks and plain addresses only', () => {
  assert.ok(NotifyConfigSchema.safeParse({ webhook: 'https://chat.example.org/hooks/abc', mailTo: 'ops@example.org, boss@example.org', sendmail: '/usr/sbin/sendmail' }).success);
  for (const bad of [{ webhook: 'file:///etc/passwd' }, { webhook: 'not a url' }, { mailTo: 'ops@example.org\r\nBcc: x@y' }, { mailTo: '-oQ/tmp@x' + ' y' }, { sendmail: 'sendmail' }, { colour: 'red' }]) {
    assert.equal(NotifyConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
