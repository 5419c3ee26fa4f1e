// The two effects of a notification, each checked: an HTTP POST (2xx or it failed, with a
// timeout), and sendmail fed the message on stdin (exit 0 or it failed, with its stderr).
import { spawn } from 'node:child_process';
import { LifeboatError } from '../errors.js';

export async function postWebhook(url: string, body: string, timeoutMs = 15_000): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new LifeboatError('external', `webhook ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}: check notify.webhook in the config and that the receiver is up`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new LifeboatError('external', `webhook ${new URL(url).origin} answered HTTP ${res.status}: the failure was not delivered there; check the receiver`);
}

export function sendMail(sendmail: string, message: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(sendmail, ['-t', '-oi'], { stdio: ['pipe', 'ignore', 'pipe'] });
    // Our own timer (spawn's `timeout` keeps the process alive for its length when the program is missing).
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    timer.unref();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LifeboatError('external', `${sendmail}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found: install a mail transfer agent (e.g. Debian\'s exim4 or msmtp-mta) or set notify.sendmail' : err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new LifeboatError('external', `${sendmail} -t -oi ${signal ? `was killed by ${signal}` : `exited ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}: the mail was not sent`));
    });
    child.stdin.on('error', () => {}); // an early exit is reported by 'close'
    child.stdin.end(message);
  });
}
