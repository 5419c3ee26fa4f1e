// lifeboat audit: the audit trail (who changed what, when), newest first, through the daemon.
import type { Command } from 'commander';
import { client, parseSince, positiveCount, table } from './client-common.js';
import { when } from './job-text.js';

/** One audit event's details as `key=value` words (values as JSON when not plain text). */
export function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
}

export function register(program: Command): void {
  program
    .command('audit')
    .description('the audit trail: who changed what and when, newest first')
    .option('--since <time>', 'only events at or after this time (2026-12-01, 2026-12-01T08:00Z, or 24h, 7d ago)', (v: string) => parseSince(v))
    .option('--limit <n>', 'at most n events (100 when not given)', positiveCount('--limit'))
    .option('--json', 'a JSON array of events')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { since?: string; limit?: number; json?: boolean; socket?: string }) => {
      const events = await client(o.socket).audit({ ...(o.since ? { since: o.since } : {}), ...(o.limit ? { limit: o.limit } : {}) });
      if (o.json) process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
      else process.stdout.write(events.length ? `${table(events.map((e) => [when(e.at), e.actor, e.action, e.subject, detailsText(e.details)]), ['TIME', 'WHO', 'ACTION', 'SUBJECT', 'DETAILS'])}\n` : 'no audit events\n');
    });
}
