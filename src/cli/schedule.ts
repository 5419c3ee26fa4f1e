// lifeboat schedule list|add|show|rm|run — through the daemon. `schedule run` is what the
// schedule's timer runs: it creates the jobs, follows them to their end, prunes the
// schedule's images by its retention policy (then gc), and exits 1 if any job failed.
import type { Command } from 'commander';
import { shown } from '../text.js';
import { scheduleTargetText } from '../api/constants.js';
import { LifeboatError, usageError } from '../errors.js';
import { formatBytes } from '../imaging/disk.js';
import { client, followJobs, table } from './client-common.js';

/** "90s", "30m", "2h", "1d" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw usageError(`--boot-timeout takes a duration like 90s, 30m or 2h (got ${JSON.stringify(text)})`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

const count = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} takes a whole number of images, at least 1 (got ${JSON.stringify(v)})`);
  return n;
};

export function register(program: Command): void {
  const schedule = program.command('schedule').description('scheduled backups of machines, with retention');
  schedule
    .command('list')
    .option('--json', 'a JSON array of schedules')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }) => {
      const list = await client(o.socket).schedules();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) process.stdout.write('no schedules\n');
      else {
        const target = (s: (typeof list)[number]) => scheduleTargetText(s.target);
        const keep = (s: (typeof list)[number]) => Object.entries(s.retention).map(([k, v]) => `${k}=${v}`).join(' ') || 'all';
        process.stdout.write(`${table(list.map((s) => [s.name, target(s), s.calendar, s.nextRun ?? 'never', keep(s)]), ['NAME', 'BACKS UP', 'CALENDAR', 'NEXT RUN (UTC)', 'KEEP'])}\n`);
      }
    });
  schedule
    .command('add')
    .requiredOption('--name <name>', 'schedule name')
    .option('--machine <name>', 'a machine (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--group <group>', 'every machine of a group')
    .option('--device <path>', 'a disk docked in the appliance (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .requiredOption('--calendar <expr>', "systemd OnCalendar expression, e.g. 'Mon..Fri 22:00' or daily")
    .option('--keep-last <n>', 'keep the newest n images', count('--keep-last'))
    .option('--keep-daily <n>', 'keep one image a day for n days', count('--keep-daily'))
    .option('--keep-weekly <n>', 'keep one image a week for n weeks', count('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep one image a month for n months', count('--keep-monthly'))
    .option('--json', 'the schedule as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { name: string; machine: string[]; group?: string; device: string[]; calendar: string; keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; json?: boolean; socket?: string }) => {
      if ([o.machine.length > 0, o.group !== undefined, o.device.length > 0].filter(Boolean).length !== 1) throw usageError('name what to back up: machines with --machine (repeatable), a --group, or docked disks with --device (repeatable) — one of them');
      const retention = {
        ...(o.keepLast ? { keepLast: o.keepLast } : {}),
        ...(o.keepDaily ? { daily: o.keepDaily } : {}),
        ...(o.keepWeekly ? { weekly: o.keepWeekly } : {}),
        ...(o.keepMonthly ? { monthly: o.keepMonthly } : {}),
      };
      const s = await client(o.socket).addSchedule({
        name: o.name,
        ...(o.machine.length > 0 ? { machines: o.machine } : o.device.length > 0 ? { devices: o.device } : { group: o.group as string }),
        calendar: o.calendar,
        ...(Object.keys(retention).length > 0 ? { retention } : {}),
      });
      process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `added schedule ${shown(s.name)}: ${shown(s.calendar)}, next run ${s.nextRun ?? 'never'} (UTC)\n`);
      for (const w of s.warnings ?? []) process.stderr.write(`lifeboat: warning: schedule ${s.name} will not fire by itself: ${shown(w)}\n`);
    });
  schedule
    .command('show')
    .argument('<name>')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      process.stdout.write(`${JSON.stringify(await client(o.socket).schedule(name), null, 2)}\n`);
    });
  schedule
    .command('rm')
    .argument('<name>')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      await client(o.socket).removeSchedule(name);
      process.stdout.write(`removed schedule ${shown(name)}\n`);
    });
  schedule
    .command('run')
    .description("run a schedule now, as its timer does: back up, wait, prune by its retention, gc; exit 1 if a job failed")
    .argument('<name>')
    .option('--boot-timeout <duration>', 'how long a machine may take to boot before its job fails (e.g. 30m)', parseDuration, 3600)
    .option('--json', 'the result as JSON (jobs, prune report)')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { bootTimeout: number; json?: boolean; socket?: string }) => {
      const api = client(o.socket);
      const say = (line: string) => {
        if (!o.json) process.stdout.write(`${line}\n`);
      };
      const run = await api.runSchedule(name, { bootTimeoutSeconds: o.bootTimeout });
      for (const j of run.jobs) say(`job ${j.id}: ${j.type} of ${shown(j.devicePath ?? j.machineId ?? '?')} ${j.state}`);
      for (const r of run.refused) process.stderr.write(`lifeboat: schedule ${shown(name)}: ${shown(r.target)}: ${shown(r.error)}\n`);
      const final = await followJobs(api, run.jobs, say);
      const failed = [...final.values()].filter((j) => j.state !== 'done');
      const pruned = await api.pruneSchedule(name);
      if (pruned.removed.length > 0) say(`pruned ${pruned.removed.length} image(s) by the retention policy: ${pruned.removed.join(', ')}`);
      if (pruned.protectedKept.length > 0) say(`kept ${pruned.protectedKept.length} protected image(s) the policy would remove: ${pruned.protectedKept.join(', ')}`);
      if ('skipped' in pruned.gc) {
        if (pruned.removed.length > 0) process.stderr.write(`lifeboat: gc skipped: ${pruned.gc.skipped} (the gc timer frees the space later)\n`);
      } else say(`gc removed ${pruned.gc.chunksRemoved} chunk(s), ${formatBytes(pruned.gc.bytesRemoved)}`);
      if (o.json) process.stdout.write(`${JSON.stringify({ schedule: name, jobs: [...final.values()], refused: run.refused, prune: pruned })}\n`);
      const problems = failed.length + run.refused.length;
      if (problems > 0) {
        throw Object.assign(new LifeboatError('user', `schedule ${name}: ${problems} of ${run.jobs.length + run.refused.length} backup(s) did not succeed`), {});
      }
      say(`schedule ${shown(name)}: ${run.jobs.length} backup(s) done`);
    });
}
