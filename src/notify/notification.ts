// What a failure notification says, as pure functions of the facts: which unit failed, on
// which host, when, and the last lines of its log. Header values are single lines of
// printable text (CR, LF and other controls become spaces), so nothing in a unit name or a
// log line can add a mail header; the body is plain text, lines capped.
import { z } from 'zod';

export const NotifyConfigSchema = z
  .object({
    /** An http(s) URL that receives a JSON POST per failure. */
    webhook: z
      .string()
      .max(2048)
      .refine((u) => {
        try {
          return ['http:', 'https:'].includes(new URL(u).protocol);
        } catch {
          return false;
        }
      }, 'must be an http:// or https:// URL')
      .optional(),
    /** Where mail goes (one address or several, comma-separated). */
    mailTo: z
      .string()
      .max(1024)
      .refine((s) => s.split(',').every((a) => /^[^\s@<>(),;:"\\]+@[A-Za-z0-9.-]+$/.test(a.trim())), 'must be e-mail addresses like ops@example.org, comma-separated')
      .optional(),
    mailFrom: z.string().regex(/^[^\s@<>(),;:"\\]+@[A-Za-z0-9.-]+$/, 'must be one e-mail address').optional(),
    /** The sendmail program (default /usr/sbin/sendmail). */
    sendmail: z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'must be an absolute path').optional(),
  })
  .strict();
export type NotifyConfig = z.infer<typeof NotifyConfigSchema>;

export interface Notification {
  subject: string;
  text: string;
  unit: string;
  host: string;
  at: string;
}

/** One line of printable text, at most `max` characters. */
export function oneLine(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function composeNotification(f: { unit: string; host: string; at: Date; log: string[]; message?: string }): Notification {
  const unit = oneLine(f.unit, 120);
  const host = oneLine(f.host, 120);
  const what = unit.startsWith('lifeboat-schedule@') ? `schedule ${unit.replace(/^lifeboat-schedule@/, '').replace(/\.service$/, '')}` : unit.startsWith('lifeboat-verify') ? 'the weekly verify of every image' : unit;
  const lines = [
    `${what} failed on ${host} at ${f.at.toISOString()}.`,
    ...(f.message ? ['', oneLine(f.message, 1000)] : []),
    '',
    ...(f.log.length ? ['Its last log lines:', ...f.log.slice(-30).map((l) => `  ${oneLine(l, 500)}`)] : ['(no log lines available)']),
    '',
    `See: journalctl -u ${unit}; lifeboat jobs list --state failed`,
  ];
  return { subject: oneLine(`Lifeboat on ${host}: ${what} failed`, 200), text: lines.join('\n'), unit, host, at: f.at.toISOString() };
}

/** The JSON a webhook receives (`text` is what chat services such as Slack and Mattermost show). */
export function webhookPayload(n: Notification): string {
  return JSON.stringify({ text: `${n.subject}\n${n.text}`, subject: n.subject, unit: n.unit, host: n.host, at: n.at, source: 'lifeboat' });
}

/** The mail as sendmail -t reads it: headers (single lines), a blank line, the body. */
export function mailMessage(n: Notification, to: string, from: string | undefined): string {
  const headers = [`To: ${oneLine(to, 1024)}`, ...(from ? [`From: ${oneLine(from, 256)}`] : []), `Subject: ${n.subject}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', 'Auto-Submitted: auto-generated'];
  // A body line of a lone "." ends the message for some sendmails: -oi is passed too, and such lines are doubled.
  const body = n.text.split('\n').map((l) => (l.startsWith('.') ? `.${l}` : l));
  return `${headers.join('\n')}\n\n${body.join('\n')}\n`;
}
