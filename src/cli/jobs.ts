// lifeboat backup|restore (a disk docked in the appliance, or a machine's disk: that job
// waits for the machine to boot), lifeboat jobs list|show|watch|cancel, lifeboat images
// list|show|verify|rm — through the daemon.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDestination } from '../api/destination.js';
import { JOB_STATES, type JobState } from '../api/wire.js';
import { LifeboatError, usageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { shown } from '../text.js';
import { readPassphrase } from './common.js';
import { client, followJobs, jobEnding, parseSince, positiveCount, table, watchJob } from './client-common.js';
import type { Manifest } from '../imaging/repo/manifest.js';
import { JOB_LIST_HEAD, jobListRow, jobStory, when } from './job-text.js';
import { manifestText } from './image-text.js';
import { type KeepOptions, keepOptions, pruneText, retentionOf } from './prune-text.js';

/** --device, or --machine with an optional --disk: exactly one target. */
function target(o: { device?: string; machine?: string; disk?: string }): { device: string } | { machine: string; disk?: string } {
  if ((o.device === undefined) === (o.machine === undefined)) throw usageError('say which disk: --device <path> (docked in the appliance) or --machine <name> [--disk <serial|path>]');
  if (o.disk !== undefined && o.machine === undefined) throw usageError('--disk goes with --machine; a docked disk is named by --device');
  return o.device !== undefined ? { device: o.device } : { machine: o.machine as string, ...(o.disk ? { disk: o.disk } : {}) };
}

/** --to: checked here so a typo is said before the daemon is asked. */
function destinationOption(value: string): string {
  parseDestination(value);
  return value;
}

/** --end: what a machine does after its job. */
function jobEnd(value: string): 'reboot' | 'poweroff' {
  if (value !== 'reboot' && value !== 'poweroff') throw usageError(`--end must be reboot or poweroff, not ${shown(value)}`);
  return value;
}

export function register(program: Command): void {
  program
    .command('backup')
    .description('back up a disk docked in the appliance (--device) or a machine (--machine: the job waits until it boots into Lifeboat)')
    .option('--device <path>', 'block device (or disk-image file) attached to the appliance')
    .option('--machine <name>', 'a machine; its job waits for it to network-boot')
    .option('--disk <serial|path>', 'with --machine: one disk (default: every disk)')
    .option('--label <text>', 'a note kept with the image')
    .option('--passphrase-file <file>', 'protect restores of the image with the passphrase on the first line of <file> (or LIFEBOAT_PASSPHRASE); it goes to the daemon over the socket and is never stored')
    .option('--end <reboot|poweroff>', 'with --machine: what the machine does after the job (default reboot)', jobEnd)
    .option('--to <destination>', 'with --machine: where the image goes: appliance (default), disk:LABEL=<label> or disk:UUID=<uuid> (a filesystem on a disk attached to the machine), share:<name> (a share in the daemon\'s config)', destinationOption)
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { device?: string; machine?: string; disk?: string; label?: string; passphraseFile?: string; end?: 'reboot' | 'poweroff'; to?: string; wait?: boolean; json?: boolean; socket?: string }) => {
      const where = target(o);
      if (o.end !== undefined && o.machine === undefined) throw usageError('--end goes with --machine: a disk docked in the appliance has nothing to reboot');
      const elsewhere = o.to !== undefined && o.to !== 'appliance';
      if (elsewhere && o.machine === undefined) throw usageError('--to goes with --machine: a disk docked in the appliance is backed up into the appliance');
      if (elsewhere && o.passphraseFile !== undefined) throw usageError('--passphrase-file protects images in the appliance\'s store: give none with --to other than appliance');
      const api = client(o.socket);
      const passphrase = elsewhere ? undefined : readPassphrase(o.passphraseFile);
      const job = await api.createJob({ type: 'backup', ...where, ...(o.label !== undefined ? { label: o.label } : {}), ...(passphrase !== undefined ? { passphrase } : {}), ...(o.end ? { end: o.end } : {}), ...(elsewhere ? { destination: o.to as string } : {}) });
      if (o.wait) await watchJob(api, job.id, o.json === true);
      else process.stdout.write(o.json ? `${JSON.stringify(job)}\n` : `job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
    });
  program
    .command('restore')
    .description('restore an image onto a disk docked in the appliance')
    .requiredOption('--image <id>', 'image to restore')
    .option('--device <path>', 'target block device (or file) attached to the appliance')
    .option('--machine <name>', 'a machine; the job waits for it to network-boot')
    .option('--disk <serial|path>', 'with --machine: the disk to overwrite (default: its only disk)')
    .option('--yes', 'confirm that the device is overwritten')
    .option('--verify', 'read the device back afterwards')
    .option('--grow-last', 'on a larger target, enlarge the last partition and its filesystem to the end of the disk')
    .option('--passphrase-file <file>', 'the restore passphrase of a protected image, on the first line of <file> (or LIFEBOAT_PASSPHRASE); never stored or logged')
    .option('--verify-first', 'read and check every chunk before the first write (default when the device holds partitions)')
    .option('--no-verify-first', 'stream without checking first, even onto a device with partitions')
    .option('--end <reboot|poweroff>', 'with --machine: what the machine does after the job (default reboot)', jobEnd)
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { image: string; device?: string; machine?: string; disk?: string; yes?: boolean; verify?: boolean; verifyFirst?: boolean; growLast?: boolean; end?: 'reboot' | 'poweroff'; passphraseFile?: string; wait?: boolean; json?: boolean; socket?: string }) => {
      const where = target(o);
      if (o.end !== undefined && o.machine === undefined) throw usageError('--end goes with --machine: a disk docked in the appliance has nothing to reboot');
      if (!o.yes) throw usageError(`restoring overwrites ${shown(o.device ?? `a disk of ${o.machine}`)}: add --yes to confirm`);
      const api = client(o.socket);
      const passphrase = readPassphrase(o.passphraseFile);
      const job = await api.createJob({ type: 'restore', image: o.image, ...where, confirm: true, ...(o.verify ? { verify: true } : {}), ...(passphrase !== undefined ? { passphrase } : {}), ...(o.verifyFirst !== undefined ? { verifyFirst: o.verifyFirst } : {}), ...(o.growLast ? { growLast: true } : {}), ...(o.end ? { end: o.end } : {}) });
      if (o.wait) await watchJob(api, job.id, o.json === true);
      else process.stdout.write(o.json ? `${JSON.stringify(job)}\n` : `job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
    });

  const jobs = program.command('jobs').description('backup, restore and verify jobs');
  jobs
    .command('list')
    .description('jobs, newest first: times, duration, who asked, machine or device, disk, result')
    .option('--state <state>', `only jobs in this state (repeatable): ${JOB_STATES.join(', ')}`, (v: string, acc: string[] = []) => [...acc, v])
    .option('--since <time>', 'only jobs created at or after this time (2026-12-01, 2026-12-01T08:00Z, or 24h, 7d ago)', (v: string) => parseSince(v))
    .option('--limit <n>', 'at most n jobs (200 when not given)', positiveCount('--limit'))
    .option('--json', 'a JSON array of jobs')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { state?: string[]; since?: string; limit?: number; json?: boolean; socket?: string }) => {
      const states = o.state ?? [];
      const bad = states.filter((s) => !(JOB_STATES as readonly string[]).includes(s));
      if (bad.length > 0) throw usageError(`--state ${bad.join(', ')}: not a job state (one of ${JOB_STATES.join(', ')})`);
      const list = await client(o.socket).jobs({ ...(states.length > 0 ? { state: states as JobState[] } : {}), ...(o.since ? { since: o.since } : {}), ...(o.limit ? { limit: o.limit } : {}) });
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else process.stdout.write(list.length ? `${table(list.map((j) => jobListRow(j)), JOB_LIST_HEAD)}\n` : 'no jobs\n');
    });
  jobs
    .command('show')
    .description('one job\'s whole story: parameters, state changes, log lines, figures, how it ended')
    .argument('<id>', 'job id (see `lifeboat jobs list`)')
    .option('--json', 'the job as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { json?: boolean; socket?: string }) => {
      const j = await client(o.socket).job(id);
      process.stdout.write(o.json ? `${JSON.stringify(j, null, 2)}\n` : `${jobStory(j)}\n`);
    });
  jobs
    .command('watch')
    .description('follow a job live to its end (exit 0 only when it is done)')
    .argument('<id>', 'job id (see `lifeboat jobs list`)')
    .option('--json', 'progress as JSON lines; the last line is the job')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { json?: boolean; socket?: string }) => {
      await watchJob(client(o.socket), id, o.json === true);
    });
  jobs
    .command('cancel')
    .description('stop a job; answers once it has stopped, with what really happened')
    .argument('<id>', 'job id (see `lifeboat jobs list`)')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { socket?: string }) => {
      // The daemon answers once a job it runs has stopped: its state is what really happened.
      // A machine's agent stops at its next request (or the daemon gives up on it after a
      // while): the job says `cancelling` until then, and this waits for the real end.
      const api = client(o.socket);
      let j = await api.cancelJob(id);
      if (j.state === 'cancelling') process.stderr.write(`job ${j.id} cancelling: waiting for its machine's agent to stop\n`);
      const giveUpAt = Date.now() + 10 * 60_000;
      while (j.state === 'cancelling' && Date.now() < giveUpAt) {
        await new Promise((r) => setTimeout(r, 500));
        j = await api.job(id);
      }
      const ending = jobEnding(j);
      process.stdout.write(`job ${j.id} ${j.state}\n${ending ? `${ending}\n` : ''}`);
      if (j.state !== 'cancelled') throw new LifeboatError('conflict', `job ${j.id} was not cancelled: it ended ${j.state}${j.outcome ? ` (${j.outcome})` : ''}`);
    });

  const images = program.command('images').description("images in the appliance's store: list, show, verify, protect, prune, remove");
  images
    .command('list')
    .description('every image, newest first')
    .option('--json', 'a JSON array of images')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }) => {
      const list = await client(o.socket).images();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else process.stdout.write(list.length ? `${table(list.map((i) => [i.id, when(i.completedAt), formatBytes(i.diskSize), i.sourcePath, i.location ?? 'appliance', i.protected ? 'protected' : '', i.hasPassphrase ? 'passphrase' : '', i.label ?? '']), ['ID', 'COMPLETED', 'DISK', 'SOURCE', 'LOCATION', 'PRUNING', 'RESTORE', 'LABEL'])}\n` : 'no images\n');
    });
  images
    .command('show')
    .description('one image in words: source, figures, certification, partition layout (--json: the manifest)')
    .argument('<id>', 'image id (see `lifeboat images list`)')
    .option('--json', 'the manifest as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { json?: boolean; socket?: string }) => {
      const api = client(o.socket);
      const record = (await api.images()).find((i) => i.id === id);
      if (record?.location !== undefined) {
        // Not in the appliance's store: what the appliance recorded, and how to bring it in.
        if (o.json) process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
        else process.stdout.write(`image        ${record.id}\nlocation     ${record.location} (not in the appliance's store: \`lifeboat images import ${record.id} --from <dir>/lifeboat-store\` brings it in)\nsource       ${record.sourcePath}${record.diskSerial ? ` serial ${record.diskSerial}` : ''} of ${record.host}\ncompleted    ${record.completedAt}\ndisk         ${formatBytes(record.diskSize)}, ${record.chunkCount} chunks, ${formatBytes(record.bytesNew)} new → ${formatBytes(record.storedBytesNew)} stored\nparent       ${record.parent ?? 'none (full)'}\n`);
        return;
      }
      const m = await api.image(id);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const extra = record ? [`location     appliance`, `pruning      ${record.protected ? 'protected: no retention policy removes it (`lifeboat images unprotect`)' : 'not protected'}`] : [];
      process.stdout.write(`${manifestText(m as unknown as Manifest, extra)}\n`);
    });
  for (const [verb, value] of [['protect', true], ['unprotect', false]] as const) {
    images
      .command(verb)
      .description(value ? 'keep an image from every prune (retention never removes it; `images rm` refuses it)' : 'let retention policies prune an image again')
      .argument('<id>', 'image id (see `lifeboat images list`)')
      .option('--socket <path>', 'daemon socket')
      .action(async (id: string, o: { socket?: string }) => {
        const r = await client(o.socket).editImage(id, { protected: value });
        process.stdout.write(`image ${r.id} ${r.protected ? 'protected' : 'unprotected'}\n`);
      });
  }
  keepOptions(images.command('prune').description('remove images by a retention policy, per source disk (never a protected one); --dry-run shows what it would do'))
    .option('--dry-run', 'remove nothing: show which images the policy keeps, and which it would remove')
    .option('--json', 'the report as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: KeepOptions & { dryRun?: boolean; json?: boolean; socket?: string }) => {
      const retention = retentionOf(o);
      if (!retention) throw usageError('say what to keep: --keep-last, --keep-daily, --keep-weekly and/or --keep-monthly');
      const report = await client(o.socket).pruneImages({ retention, ...(o.dryRun ? { dryRun: true } : {}) });
      process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : `${pruneText(report)}\n`);
    });
  images
    .command('verify')
    .description('re-read every chunk of an image (or of --all) and check it')
    .argument('[id]', 'image id (see `lifeboat images list`)')
    .option('--all', 'verify every image, one after another (what the weekly timer runs)')
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string | undefined, o: { all?: boolean; wait?: boolean; json?: boolean; socket?: string }) => {
      if ((id === undefined) === (o.all !== true)) throw usageError('name one image, or --all');
      const api = client(o.socket);
      if (id !== undefined) {
        const job = await api.createJob({ type: 'verify', image: id });
        if (o.wait) await watchJob(api, job.id, o.json === true);
        else process.stdout.write(`job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
        return;
      }
      // One at a time: each re-reads every chunk of its image.
      const results: Array<{ image: string; job: string; state: string; error?: string }> = [];
      for (const image of await api.images()) {
        const job = await api.createJob({ type: 'verify', image: image.id });
        const final = (await followJobs(api, [job], () => {})).get(job.id);
        const r = { image: image.id, job: job.id, state: final?.state ?? 'unknown', ...(final?.error ? { error: final.error } : {}) };
        results.push(r);
        if (!o.json) process.stdout.write(`${image.id}: ${r.state === 'done' ? 'ok' : `${r.state}${r.error ? `: ${shown(r.error)}` : ''}`}\n`);
      }
      if (o.json) process.stdout.write(`${JSON.stringify(results)}\n`);
      const bad = results.filter((r) => r.state !== 'done');
      if (bad.length > 0) throw new LifeboatError('integrity', `${bad.length} of ${results.length} image(s) failed verification: ${bad.map((b) => b.image).join(', ')}`);
      if (!o.json) process.stdout.write(`all ${results.length} image(s) verified\n`);
    });
  images
    .command('import')
    .description('check an image a machine wrote to a disk or share (every chunk decoded and hashed) and bring it into the appliance\'s store')
    .argument('<id>', 'image id (see `lifeboat images list`)')
    .requiredOption('--from <dir>', 'the lifeboat-store directory holding it, under the docked directory (a client\'s disk mounted there) or a share\'s localPath')
    .option('--json', 'the result as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { from: string; json?: boolean; socket?: string }) => {
      const from = resolve(o.from); // the daemon takes absolute paths only
      const r = await client(o.socket).importImage(id, { from });
      process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `image ${r.image.id} imported into the appliance's store: ${r.chunksCopied} chunk(s) copied, ${r.chunksPresent} already there; every chunk was checked\n`);
    });
  images
    .command('rm')
    .description('remove an image (a protected one is refused); gc frees its chunks later')
    .argument('<id>', 'image id (see `lifeboat images list`)')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { socket?: string }) => {
      await client(o.socket).removeImage(id);
      process.stdout.write(`removed image ${id}\n`);
    });
}
