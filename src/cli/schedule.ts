// lifeboat schedule list|add|show|rm — through the daemon. (`schedule run`, which the
// timers call, arrives with machine jobs: it needs the boot services to wake and image them.)
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { client, table } from './client-common.js';

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
        const target = (s: (typeof list)[number]) => ('machines' in s.target ? s.target.machines.join(',') : `group ${s.target.group}`);
        const keep = (s: (typeof list)[number]) => Object.entries(s.retention).map(([k, v]) => `${k}=${v}`).join(' ') || 'all';
        process.stdout.write(`${table(list.map((s) => [s.name, target(s), s.calendar, s.nextRun ?? 'never', keep(s)]), ['NAME', 'MACHINES', 'CALENDAR', 'NEXT RUN (UTC)', 'KEEP'])}\n`);
      }
    });
  schedule
    .command('add')
    .requiredOption('--name <name>', 'schedule name')
    .option('--machine <name>', 'a machine (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--group <group>', 'every machine of a group')
    .requiredOption('--calendar <expr>', "systemd OnCalendar expression, e.g. 'Mon..Fri 22:00' or daily")
    .option('--keep-last <n>', 'keep the newest n images', count('--keep-last'))
    .option('--keep-daily <n>', 'keep one image a day for n days', count('--keep-daily'))
    .option('--keep-weekly <n>', 'keep one image a week for n weeks', count('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep one image a month for n months', count('--keep-monthly'))
    .option('--json', 'the schedule as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { name: string; machine: string[]; group?: string; calendar: string; keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; json?: boolean; socket?: string }) => {
      if ((o.machine.length > 0) === (o.group !== undefined)) throw usageError('name the machines with --machine (repeatable) or a --group, not both');
      const retention = {
        ...(o.keepLast ? { keepLast: o.keepLast } : {}),
        ...(o.keepDaily ? { daily: o.keepDaily } : {}),
        ...(o.keepWeekly ? { weekly: o.keepWeekly } : {}),
        ...(o.keepMonthly ? { monthly: o.keepMonthly } : {}),
      };
      const s = await client(o.socket).addSchedule({
        name: o.name,
        ...(o.machine.length > 0 ? { machines: o.machine } : { group: o.group as string }),
        calendar: o.calendar,
        ...(Object.keys(retention).length > 0 ? { retention } : {}),
      });
      process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `added schedule ${s.name}: ${s.calendar}, next run ${s.nextRun ?? 'never'} (UTC)\n`);
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
      process.stdout.write(`removed schedule ${name}\n`);
    });
}
