// lifeboat backup|restore (a disk docked in the appliance, or a machine's disk: that job
// waits for the machine to boot), lifeboat jobs list|show|watch|cancel, lifeboat images
// list|show|verify|rm — through the daemon.
import type { Command } from 'commander';
import { JOB_STATES, type JobState } from '../api/wire.js';
import { LifeboatError, usageError } from '../errors.js';
import { formatBytes } from '../imaging/disk.js';
import { shown } from '../text.js';
import { readPassphrase } from './common.js';
import { JOB_HEAD, client, followJobs, jobLine, table, watchJob } from './client-common.js';

/** --device, or --machine with an optional --disk: exactly one target. */
function target(o: { device?: string; machine?: string; disk?: string }): { device: string } | { machine: string; disk?: string } {
  if ((o.device === undefined) === (o.machine === undefined)) throw usageError('say which disk: --device <path> (docked in the appliance) or --machine <name> [--disk <serial|path>]');
  if (o.disk !== undefined && o.machine === undefined) throw usageError('--disk goes with --machine; a docked disk is named by --device');
  return o.device !== undefined ? { device: o.device } : { machine: o.machine as string, ...(o.disk ? { disk: o.disk } : {}) };
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
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { device?: string; machine?: string; disk?: string; label?: string; passphraseFile?: string; wait?: boolean; json?: boolean; socket?: string }) => {
      const api = client(o.socket);
      const passphrase = readPassphrase(o.passphraseFile);
      const job = await api.createJob({ type: 'backup', ...target(o), ...(o.label !== undefined ? { label: o.label } : {}), ...(passphrase !== undefined ? { passphrase } : {}) });
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
    .option('--passphrase-file <file>', 'the restore passphrase of a protected image, on the first line of <file> (or LIFEBOAT_PASSPHRASE); never stored or logged')
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { image: string; device?: string; machine?: string; disk?: string; yes?: boolean; verify?: boolean; passphraseFile?: string; wait?: boolean; json?: boolean; socket?: string }) => {
      const where = target(o);
      if (!o.yes) throw usageError(`restoring overwrites ${shown(o.device ?? `a disk of ${o.machine}`)}: add --yes to confirm`);
      const api = client(o.socket);
      const passphrase = readPassphrase(o.passphraseFile);
      const job = await api.createJob({ type: 'restore', image: o.image, ...where, confirm: true, ...(o.verify ? { verify: true } : {}), ...(passphrase !== undefined ? { passphrase } : {}) });
      if (o.wait) await watchJob(api, job.id, o.json === true);
      else process.stdout.write(o.json ? `${JSON.stringify(job)}\n` : `job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
    });

  const jobs = program.command('jobs').description('backup, restore and verify jobs');
  jobs
    .command('list')
    .option('--state <state>', 'only jobs in this state (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'a JSON array of jobs')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { state: string[]; json?: boolean; socket?: string }) => {
      const bad = o.state.filter((s) => !(JOB_STATES as readonly string[]).includes(s));
      if (bad.length > 0) throw usageError(`--state ${bad.join(', ')}: not a job state (one of ${JOB_STATES.join(', ')})`);
      const list = await client(o.socket).jobs(o.state.length > 0 ? { state: o.state as JobState[] } : {});
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else process.stdout.write(list.length ? `${table(list.map(jobLine), JOB_HEAD)}\n` : 'no jobs\n');
    });
  jobs
    .command('show')
    .argument('<id>')
    .option('--json', 'the job as JSON')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { json?: boolean; socket?: string }) => {
      const j = await client(o.socket).job(id);
      process.stdout.write(o.json ? `${JSON.stringify(j, null, 2)}\n` : `${table([jobLine(j)], JOB_HEAD)}\n`);
    });
  jobs
    .command('watch')
    .argument('<id>')
    .option('--json', 'progress as JSON lines; the last line is the job')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { json?: boolean; socket?: string }) => {
      await watchJob(client(o.socket), id, o.json === true);
    });
  jobs
    .command('cancel')
    .argument('<id>')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { socket?: string }) => {
      const j = await client(o.socket).cancelJob(id);
      process.stdout.write(`job ${j.id} ${j.state}\n`);
    });

  const images = program.command('images').description('images in the appliance\'s store');
  images
    .command('list')
    .option('--json', 'a JSON array of images')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { json?: boolean; socket?: string }) => {
      const list = await client(o.socket).images();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else process.stdout.write(list.length ? `${table(list.map((i) => [i.id, i.completedAt, formatBytes(i.diskSize), i.label ?? '']), ['ID', 'COMPLETED', 'DISK', 'LABEL'])}\n` : 'no images\n');
    });
  images
    .command('show')
    .argument('<id>')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { socket?: string }) => {
      process.stdout.write(`${JSON.stringify(await client(o.socket).image(id), null, 2)}\n`);
    });
  images
    .command('verify')
    .argument('[id]')
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
    .command('rm')
    .argument('<id>')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { socket?: string }) => {
      await client(o.socket).removeImage(id);
      process.stdout.write(`removed image ${id}\n`);
    });
}
