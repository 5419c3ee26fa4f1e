// lifeboat machines list|add|show|edit|rm — through the daemon.
import type { Command } from 'commander';
import { formatBytes } from '../imaging/disk.js';
import { escapeForTerminal, shown } from '../text.js';
import { client, table } from './client-common.js';

const collect = (v: string, acc: string[]) => [...acc, v];

export function register(program: Command): void {
  const machines = program.command('machines').description('the computers Lifeboat backs up');
  machines
    .command('list')
    .option('--socket <path>', 'daemon socket (or LIFEBOAT_SOCKET)')
    .option('--json', 'a JSON array of machines')
    .action(async (o: { socket?: string; json?: boolean }) => {
      const list = await client(o.socket).machines();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) process.stdout.write('no machines yet: add one with `lifeboat machines add --name <n> --mac <mac>`\n');
      else process.stdout.write(`${table(list.map((m) => [m.name, m.macs.join(','), m.group ?? '', m.lastSeen ?? 'never']), ['NAME', 'MACS', 'GROUP', 'LAST SEEN'])}\n`);
    });
  machines
    .command('add')
    .requiredOption('--name <name>', 'machine name (lower-case letters, digits, hyphens)')
    .requiredOption('--mac <mac>', 'a MAC address (repeat for several)', collect, [] as string[])
    .option('--group <group>', 'group for schedules')
    .option('--notes <text>', 'free text')
    .option('--socket <path>', 'daemon socket')
    .option('--json', 'the machine as JSON')
    .action(async (o: { name: string; mac: string[]; group?: string; notes?: string; socket?: string; json?: boolean }) => {
      const m = await client(o.socket).addMachine({ name: o.name, macs: o.mac, ...(o.group ? { group: o.group } : {}), ...(o.notes ? { notes: o.notes } : {}) });
      process.stdout.write(o.json ? `${JSON.stringify(m)}\n` : `added machine ${shown(m.name)} (${shown(m.macs.join(', '))})\n`);
    });
  machines
    .command('show')
    .argument('<name>')
    .option('--socket <path>', 'daemon socket')
    .option('--json', 'the machine and its disks as JSON')
    .action(async (name: string, o: { socket?: string; json?: boolean }) => {
      const m = await client(o.socket).machine(name);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const notes = m.notes ? `notes    ${escapeForTerminal(m.notes, { multiline: true }).replace(/\n/g, '\n         ')}\n` : '';
      process.stdout.write(`machine  ${shown(m.name)}\nmacs     ${shown(m.macs.join(', '))}\ngroup    ${shown(m.group ?? '-')}\nseen     ${shown(m.lastSeen ?? 'never')}\n${notes}`);
      for (const d of m.disks) process.stdout.write(`disk     ${shown(d.devicePath)}  ${shown(d.model)} ${shown(d.serial)}  ${formatBytes(d.size)}\n`);
    });
  machines
    .command('edit')
    .argument('<name>')
    .option('--name <new>', 'rename')
    .option('--mac <mac>', 'replace the MACs (repeat for several)', collect, [] as string[])
    .option('--group <group>')
    .option('--notes <text>')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { name?: string; mac: string[]; group?: string; notes?: string; socket?: string }) => {
      const m = await client(o.socket).editMachine(name, { ...(o.name ? { name: o.name } : {}), ...(o.mac.length ? { macs: o.mac } : {}), ...(o.group !== undefined ? { group: o.group } : {}), ...(o.notes !== undefined ? { notes: o.notes } : {}) });
      process.stdout.write(`updated machine ${shown(m.name)}\n`);
    });
  machines
    .command('rm')
    .argument('<name>')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      await client(o.socket).removeMachine(name);
      process.stdout.write(`removed machine ${shown(name)}\n`);
    });
}
