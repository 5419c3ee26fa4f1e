// lifeboat notify --unit <unit>: tells a person that a unit failed (systemd runs it through
// OnFailure= of the schedule and verify units) — by webhook and/or mail, as the config's
// `notify` key says. Exit 0 only when every configured channel took the message.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { LifeboatError, describeSystemError, usageError } from '../errors.js';
import { DEFAULT_CONFIG } from '../daemon/config.js';
import { type NotifyConfig, NotifyConfigSchema, composeNotification, mailMessage, postWebhook, sendMail, webhookPayload } from '../notify/index.js';

export function readNotifyConfig(path: string): NotifyConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw usageError(`config ${path} is not valid JSON: ${err.message}`);
    throw describeSystemError(err, `config ${path}`);
  }
  const r = NotifyConfigSchema.safeParse((json as { notify?: unknown } | null)?.notify ?? {});
  if (!r.success) throw usageError(`config ${path}: notify: ${r.error.issues.map((i) => `${i.path.join('.') || '(notify)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** The unit's last log lines from the journal, if there is one to ask. */
function journalOf(unit: string): string[] {
  const r = spawnSync('journalctl', ['-u', unit, '-n', '20', '--no-pager', '-q', '-o', 'short-iso'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.split('\n').filter((l) => l.trim() !== '') : [];
}

export function register(program: Command): void {
  program
    .command('notify')
    .description('tell a person that a unit failed: webhook and/or mail, per the config (what OnFailure= runs)')
    .requiredOption('--unit <unit>', 'the unit that failed, e.g. lifeboat-schedule@nightly.service')
    .option('--message <text>', 'a line of its own to add')
    .option('--config <path>', `config file with the notify key (${DEFAULT_CONFIG} when not given)`)
    .option('--no-journal', 'do not add the unit\'s last journal lines')
    .action(async (o: { unit: string; message?: string; config?: string; journal: boolean }) => {
      const path = o.config ?? DEFAULT_CONFIG;
      const cfg = readNotifyConfig(path);
      if (!cfg.webhook && !cfg.mailTo) throw new LifeboatError('user', `nobody was told that ${o.unit} failed: set notify.webhook and/or notify.mailTo in ${path}`);
      const n = composeNotification({ unit: o.unit, host: hostname(), at: new Date(), log: o.journal ? journalOf(o.unit) : [], ...(o.message ? { message: o.message } : {}) });
      const failures: string[] = [];
      if (cfg.webhook) {
        await postWebhook(cfg.webhook, webhookPayload(n)).then(
          () => process.stdout.write(`posted to ${new URL(cfg.webhook as string).origin}\n`),
          (err: Error) => failures.push(err.message),
        );
      }
      if (cfg.mailTo) {
        const sendmail = cfg.sendmail ?? '/usr/sbin/sendmail';
        await sendMail(sendmail, mailMessage(n, cfg.mailTo, cfg.mailFrom)).then(
          () => process.stdout.write(`mailed ${cfg.mailTo} through ${sendmail}\n`),
          (err: Error) => failures.push(err.message),
        );
      }
      if (failures.length > 0) throw new LifeboatError('external', `the failure of ${o.unit} was not delivered everywhere: ${failures.join('; ')}`);
    });
}
