// lifeboat schedule list|add|show|edit|enable|disable|rm|run — through the daemon. `schedule run` is what the
// schedule's timer runs: it creates the jobs, follows them to their end, prunes the
// schedule's images by its retention policy (then gc), and exits 1 if any job failed.
import type { Command } from 'commander';
import { shown } from '../text.js';
import { scheduleTargetText } from '../api/constants.js';
import { destinationText, parseDestination } from '../api/destination.js';
import { LifeboatError, usageError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { ScheduleView } from '../api/contract.js';
import { NO_PASSPHRASE_HELP, PASSPHRASE_FILE_HELP, client, followJobs, passphraseSetting, passphraseText, table } from './client-common.js';
import { when } from './job-text.js';
import { type KeepOptions, keepOptions, pruneText, retentionOf } from './prune-text.js';

/** "90s", "30m", "2h", "1d" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw usageError(`--boot-timeout takes a duration like 90s, 30m or 2h (got ${JSON.stringify(text)})`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
}

const repeat = (v: string, acc: string[] = []) => [...acc, v];

/** --to: the job's parser, so a typo is said before the daemon is asked. */
function destinationOption(value: string): string {
  parseDestination(value);
  return value;
}

const TO_HELP = "where its machines' backups go: appliance (default), disk:LABEL=<label> or disk:UUID=<uuid> (a filesystem on a disk attached to each machine), share:<name> (a share in the daemon's config)";

/** `schedule show`: the schedule in words. Pure. */
export function scheduleText(s: ScheduleView): string {
  const keep = Object.entries(s.retention).map(([k, v]) => `${k}=${v}`).join(' ') || 'every image (no retention policy)';
  return [
    `schedule:     ${s.name}${s.enabled ? '' : ' (disabled)'}`,
    `backs up:     ${scheduleTargetText(s.target)}`,
    `to:           ${shown(destinationText(s.destination))}${s.destination ? " (its images there are not pruned: retention prunes the appliance's store)" : ''}`,
    `calendar:     ${s.calendar}`,
    `next run:     ${s.nextRun ? when(s.nextRun) : 'never'}`,
    `last run:     ${s.lastRunAt ? when(s.lastRunAt) : 'never'}`,
    `keeps:        ${keep}`,
    `passphrase:   ${passphraseText(s.passphraseFile)}`,
    `created:      ${when(s.createdAt)}`,
    ...(s.warnings ?? []).map((w) => `warning:      will not fire by itself: ${w}`),
  ].join('\n');
}

export function register(program: Command): void {
  const schedule = program.command('schedule').description('scheduled backups of machines or docked disks, with retention');
  schedule
    .command('list')
    .description('every schedule: what it backs up, when it runs next, what it keeps')
    .option('--json', 'a JSON array of schedules')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }) => {
      const list = await client(o.socket).schedules();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) process.stdout.write('no schedules\n');
      else {
        const keep = (s: (typeof list)[number]) => Object.entries(s.retention).map(([k, v]) => `${k}=${v}`).join(' ') || 'all';
        process.stdout.write(`${table(list.map((s) => [s.name, scheduleTargetText(s.target), s.calendar, s.enabled ? (s.nextRun ? when(s.nextRun) : 'never') : 'disabled', keep(s), destinationText(s.destination)]), ['NAME', 'BACKS UP', 'CALENDAR', 'NEXT RUN', 'KEEP', 'TO'])}\n`);
      }
    });
  keepOptions(
    schedule
      .command('add')
      .description('add a schedule: machines, a group or docked disks, a calendar, a retention policy')
      .requiredOption('--name <name>', 'schedule name')
      .option('--machine <name>', 'a machine (repeatable)', repeat)
      .option('--group <group>', 'every machine of a group')
      .option('--device <path>', 'a disk docked in the appliance (repeatable)', repeat)
      .requiredOption('--calendar <expr>', "systemd OnCalendar expression, e.g. 'Mon..Fri 22:00' or daily"),
  )
    .option('--passphrase-file <path>', PASSPHRASE_FILE_HELP)
    .option('--no-passphrase', 'its backups are not protected by a passphrase (the default)')
    .option('--to <destination>', TO_HELP, destinationOption)
    .option('--json', 'the schedule as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: KeepOptions & { name: string; machine?: string[]; group?: string; device?: string[]; calendar: string; passphraseFile?: string; passphrase?: boolean; to?: string; json?: boolean; socket?: string }) => {
      const target = targetOf(o);
      if (!target) throw usageError('name what to back up: machines with --machine (repeatable), a --group, or docked disks with --device (repeatable) — one of them');
      const retention = retentionOf(o);
      const { passphraseFile } = passphraseSetting(o, false);
      const elsewhere = o.to !== undefined && o.to !== 'appliance';
      if (elsewhere && o.device !== undefined) throw usageError('--to is for machines\' backups (their agents write there): docked disks are backed up into the appliance');
      if (elsewhere && passphraseFile !== undefined) throw usageError('--passphrase-file protects images in the appliance\'s store: give none with --to other than appliance');
      const s = await client(o.socket).addSchedule({ name: o.name, ...target, calendar: o.calendar, ...(retention ? { retention } : {}), ...(passphraseFile ? { passphraseFile } : {}), ...(elsewhere ? { destination: o.to as string } : {}) });
      process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `added schedule ${shown(s.name)}: ${shown(s.calendar)}, next run ${s.nextRun ? when(s.nextRun) : 'never'}\n`);
      for (const w of s.warnings ?? []) process.stderr.write(`lifeboat: warning: schedule ${s.name} will not fire by itself: ${shown(w)}\n`);
    });
  keepOptions(
    schedule
      .command('edit')
      .description('change a schedule: its calendar, what it backs up, its retention policy')
      .argument('<name>', 'schedule name')
      .option('--machine <name>', 'back up these machines instead (repeatable)', repeat)
      .option('--group <group>', 'back up every machine of this group instead')
      .option('--device <path>', 'back up these docked disks instead (repeatable)', repeat)
      .option('--calendar <expr>', 'a new systemd OnCalendar expression'),
  )
    .option('--keep-all', 'drop the retention policy: keep every image')
    .option('--passphrase-file <path>', PASSPHRASE_FILE_HELP)
    .option('--no-passphrase', NO_PASSPHRASE_HELP)
    .option('--to <destination>', `${TO_HELP}; appliance sends them to the appliance again`, destinationOption)
    .option('--json', 'the schedule as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: KeepOptions & { machine?: string[]; group?: string; device?: string[]; calendar?: string; keepAll?: boolean; passphraseFile?: string; passphrase?: boolean; to?: string; json?: boolean; socket?: string }) => {
      const given = [o.machine, o.group, o.device].filter((t) => t !== undefined).length;
      if (given > 1) throw usageError('name one new target: --machine (repeatable), --group, or --device (repeatable)');
      const retention = retentionOf(o);
      if (retention && o.keepAll) throw usageError('--keep-all drops the policy; --keep-* sets one: give one or the other');
      const patch = { ...(targetOf(o) ?? {}), ...(o.calendar !== undefined ? { calendar: o.calendar } : {}), ...(retention ? { retention } : o.keepAll ? { retention: {} } : {}), ...passphraseSetting(o, true), ...(o.to !== undefined ? { destination: o.to } : {}) };
      if (Object.keys(patch).length === 0) throw usageError('say what to change: --calendar, --machine/--group/--device, --keep-* or --keep-all, --passphrase-file or --no-passphrase, --to (enable and disable are their own commands)');
      const s = await client(o.socket).editSchedule(name, patch);
      say(o.json === true, s, `changed schedule ${s.name}`);
    });
  for (const [verb, enabled] of [['enable', true], ['disable', false]] as const) {
    schedule
      .command(verb)
      .description(enabled ? 'let a schedule run by its timer again' : 'stop a schedule from running by its timer (`schedule run` still runs it)')
      .argument('<name>', 'schedule name')
      .option('--json', 'the schedule as JSON')
      .option('--socket <path>', 'daemon socket')
      .action(async (name: string, o: { json?: boolean; socket?: string }) => {
        const s = await client(o.socket).editSchedule(name, { enabled });
        say(o.json === true, s, `${enabled ? 'enabled' : 'disabled'} schedule ${s.name}`);
      });
  }
  schedule
    .command('show')
    .description('one schedule in words (--json for the record)')
    .argument('<name>', 'schedule name')
    .option('--json', 'the schedule as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { json?: boolean; socket?: string }) => {
      const s = await client(o.socket).schedule(name);
      process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${scheduleText(s)}\n`);
    });
  schedule
    .command('rm')
    .description('remove a schedule and its timer (its images stay)')
    .argument('<name>', 'schedule name')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      await client(o.socket).removeSchedule(name);
      process.stdout.write(`removed schedule ${shown(name)}\n`);
    });
  schedule
    .command('run')
    .description('run a schedule now, as its timer does: back up, wait, prune by its retention, gc; exit 1 if a job failed')
    .argument('<name>', 'schedule name')
    .option('--boot-timeout <duration>', 'how long a machine may take to boot before its job fails, e.g. 30m (1h when not given)', parseDuration)
    .option('--dry-run', 'start nothing and remove nothing: show which images the retention policy keeps and which it would remove')
    .option('--json', 'the result as JSON (jobs, prune report)')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { bootTimeout?: number; dryRun?: boolean; json?: boolean; socket?: string }) => {
      const api = client(o.socket);
      if (o.dryRun) {
        const report = await api.pruneSchedule(name, { dryRun: true });
        process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${pruneText(report)}\n`);
        return;
      }
      const say = (line: string) => {
        if (!o.json) process.stdout.write(`${line}\n`);
      };
      const run = await api.runSchedule(name, { bootTimeoutSeconds: o.bootTimeout ?? 3600 });
      for (const j of run.jobs) say(`job ${j.id}: ${j.type} of ${shown(j.devicePath ?? j.machineName ?? j.machineId ?? '?')}${j.options?.destination ? ` to ${shown(destinationText(j.options.destination))}` : ''} ${j.state}`);
      for (const r of run.refused) process.stderr.write(`lifeboat: schedule ${shown(name)}: ${shown(r.target)}: ${shown(r.error)}\n`);
      const final = await followJobs(api, run.jobs, say);
      const failed = [...final.values()].filter((j) => j.state !== 'done');
      const pruned = await api.pruneSchedule(name, {});
      if (pruned.removed.length > 0) say(`pruned ${pruned.removed.length} image(s) by the retention policy: ${pruned.removed.join(', ')}`);
      if (pruned.protectedKept.length > 0) say(`kept ${pruned.protectedKept.length} protected image(s) the policy would remove: ${pruned.protectedKept.join(', ')}`);
      if ('skipped' in pruned.gc) {
        if (pruned.removed.length > 0) process.stderr.write(`lifeboat: gc skipped: ${pruned.gc.skipped} (the gc timer frees the space later)\n`);
      } else say(`gc removed ${pruned.gc.chunksRemoved} chunk(s), ${formatBytes(pruned.gc.bytesRemoved)}`);
      if (o.json) process.stdout.write(`${JSON.stringify({ schedule: name, jobs: [...final.values()], refused: run.refused, prune: pruned })}\n`);
      const problems = failed.length + run.refused.length;
      if (problems > 0) throw new LifeboatError('user', `schedule ${name}: ${problems} of ${run.jobs.length + run.refused.length} backup(s) did not succeed`);
      say(`schedule ${shown(name)}: ${run.jobs.length} backup(s) done`);
    });
}

function targetOf(o: { machine?: string[]; group?: string; device?: string[] }): { machines: string[] } | { group: string } | { devices: string[] } | null {
  if ([o.machine, o.group, o.device].filter((t) => t !== undefined).length !== 1) return null;
  return o.machine ? { machines: o.machine } : o.device ? { devices: o.device } : { group: o.group as string };
}

function say(json: boolean, s: ScheduleView, done: string): void {
  process.stdout.write(json ? `${JSON.stringify(s)}\n` : `${done}: ${s.calendar}, next run ${s.nextRun ? when(s.nextRun) : 'never'}\n`);
  for (const w of s.warnings ?? []) process.stderr.write(`lifeboat: warning: schedule ${s.name} will not fire by itself: ${w}\n`);
}
