// lifeboat backup|restore (device jobs on the appliance), lifeboat jobs list|show|watch|cancel,
// lifeboat images list|show|verify|rm — through the daemon.
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { formatBytes } from '../imaging/disk.js';
import { JOB_HEAD, client, jobLine, table, watchJob } from './client-common.js';

export function register(program: Command): void {
  program
    .command('backup')
    .description('back up a disk docked in the appliance (--device); machines over the network arrive with the boot services')
    .option('--device <path>', 'block device (or disk-image file) attached to the appliance')
    .option('--machine <name>', 'a machine (needs the boot services: not yet)')
    .option('--label <text>', 'a note kept with the image')
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { device?: string; machine?: string; label?: string; wait?: boolean; json?: boolean; socket?: string }) => {
      if (o.machine) throw usageError('backups of machines over the network need the boot services, which are not built yet: use --device for a disk docked in the appliance');
      if (!o.device) throw usageError('say what to back up: --device <path>');
      const api = client(o.socket);
      const job = await api.createJob({ type: 'backup', device: o.device, ...(o.label ? { label: o.label } : {}) });
      if (o.wait) await watchJob(api, job.id, o.json === true);
      else process.stdout.write(o.json ? `${JSON.stringify(job)}\n` : `job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
    });
  program
    .command('restore')
    .description('restore an image onto a disk docked in the appliance')
    .requiredOption('--image <id>', 'image to restore')
    .option('--device <path>', 'target block device (or file) attached to the appliance')
    .option('--machine <name>', 'a machine (needs the boot services: not yet)')
    .option('--yes', 'confirm that the device is overwritten')
    .option('--verify', 'read the device back afterwards')
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (o: { image: string; device?: string; machine?: string; yes?: boolean; verify?: boolean; wait?: boolean; json?: boolean; socket?: string }) => {
      if (o.machine) throw usageError('restores onto machines over the network need the boot services, which are not built yet: use --device');
      if (!o.device) throw usageError('say where to restore: --device <path>');
      if (!o.yes) throw usageError(`restoring overwrites ${o.device}: add --yes to confirm`);
      const api = client(o.socket);
      const job = await api.createJob({ type: 'restore', image: o.image, device: o.device, confirm: true, ...(o.verify ? { verify: true } : {}) });
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
      const list = await client(o.socket).jobs(o.state);
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
    .argument('<id>')
    .option('--wait', 'follow the job to its end')
    .option('--json', 'machine-readable output')
    .option('--socket <path>', 'daemon socket')
    .action(async (id: string, o: { wait?: boolean; json?: boolean; socket?: string }) => {
      const api = client(o.socket);
      const job = await api.createJob({ type: 'verify', image: id });
      if (o.wait) await watchJob(api, job.id, o.json === true);
      else process.stdout.write(`job ${job.id} ${job.state}: lifeboat jobs watch ${job.id}\n`);
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
