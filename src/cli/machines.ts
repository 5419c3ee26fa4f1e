// lifeboat machines list|add|show|edit|approve|ignore|wake|rm — through the daemon.
import { type Command, Option } from 'commander';
import { formatBytes } from '../format.js';
import { usageError } from '../errors.js';
import { escapeForTerminal, shown } from '../text.js';
import { NO_PASSPHRASE_HELP, PASSPHRASE_FILE_HELP, client, passphraseSetting, passphraseText, table } from './client-common.js';

const collect = (v: string, acc: string[] = []) => [...acc, v];
const LOADERS = ['auto', 'ipxe', 'ipxe-full', 'signed'] as const;
const LOCAL_BOOTS = ['exit', 'sanboot'] as const;
type Loader = (typeof LOADERS)[number];
type LocalBoot = (typeof LOCAL_BOOTS)[number];
const loaderOption = () => new Option('--loader <loader>', 'x64 UEFI network loader: auto (signed chain, works with Secure Boot), ipxe (snponly.efi), ipxe-full (ipxe.efi), signed').choices(LOADERS);
const localBootOption = () => new Option('--local-boot <how>', 'leaving the network boot when there is nothing to do: exit (to the next boot device) or sanboot (first BIOS disk)').choices(LOCAL_BOOTS);

interface Staged {
  status?: string;
  bootStage?: { stage: string; at: string; detail?: string };
}
const statusOf = (m: Staged) => m.status ?? 'managed';
const stageOf = (m: Staged) => (m.bootStage ? `${m.bootStage.stage} ${m.bootStage.at}${m.bootStage.detail ? ` (${m.bootStage.detail})` : ''}` : '-');

export function register(program: Command): void {
  const machines = program.command('machines').description('the computers Lifeboat backs up');
  machines
    .command('list')
    .description('every machine: status, MACs, group, last seen, last boot stage')
    .option('--socket <path>', 'daemon socket (or LIFEBOAT_SOCKET)')
    .option('--json', 'a JSON array of machines')
    .action(async (o: { socket?: string; json?: boolean }) => {
      const list = await client(o.socket).machines();
      if (o.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (list.length === 0) process.stdout.write('no machines yet: add one with `lifeboat machines add --name <n> --mac <mac>`\n');
      else process.stdout.write(`${table(list.map((m) => [m.name, statusOf(m), m.macs.join(','), m.group ?? '', m.lastSeen ?? 'never', m.bootStage?.stage ?? '-']), ['NAME', 'STATUS', 'MACS', 'GROUP', 'LAST SEEN', 'BOOT'])}\n`);
    });
  machines
    .command('add')
    .description('add a machine by its name and MAC address(es)')
    .requiredOption('--name <name>', 'machine name (lower-case letters, digits, hyphens)')
    .option('--mac <mac>', 'a MAC address (required; repeat for several)', collect)
    .option('--group <group>', 'group for schedules')
    .option('--notes <text>', 'free text')
    .addOption(loaderOption())
    .addOption(localBootOption())
    .option('--address <ipv4>', 'a fixed IPv4 address from the full DHCP server (on the boot network, outside the DHCP range)')
    .option('--socket <path>', 'daemon socket')
    .option('--json', 'the machine as JSON')
    .action(async (o: { name: string; mac?: string[]; group?: string; notes?: string; loader?: Loader; localBoot?: LocalBoot; address?: string; socket?: string; json?: boolean }) => {
      if (!o.mac?.length) throw usageError(`machine ${o.name} needs a MAC address to be recognised when it network-boots: add --mac 52:54:00:12:34:56 (repeat for several)`);
      const m = await client(o.socket).addMachine({
        name: o.name,
        macs: o.mac,
        ...(o.group ? { group: o.group } : {}),
        ...(o.notes ? { notes: o.notes } : {}),
        ...(o.loader ? { bootLoader: o.loader } : {}),
        ...(o.localBoot ? { localBoot: o.localBoot } : {}),
        ...(o.address ? { fixedAddress: o.address } : {}),
      });
      process.stdout.write(o.json ? `${JSON.stringify(m)}\n` : `added machine ${shown(m.name)} (${shown(m.macs.join(', '))})\n`);
    });
  machines
    .command('show')
    .description('one machine: identity, boot settings, inventory, disks')
    .argument('<name>', 'machine name')
    .option('--socket <path>', 'daemon socket')
    .option('--json', 'the machine and its disks as JSON')
    .action(async (name: string, o: { socket?: string; json?: boolean }) => {
      const m = await client(o.socket).machine(name);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return;
      }
      const notes = m.notes ? `notes    ${escapeForTerminal(m.notes, { multiline: true }).replace(/\n/g, '\n         ')}` : null;
      process.stdout.write(
        [
          `machine  ${shown(m.name)}`,
          `status   ${statusOf(m)}${m.status === 'discovered' ? ' (approve it: lifeboat machines approve <name> --name <new-name>)' : ''}`,
          `macs     ${shown(m.macs.join(', '))}`,
          `uuid     ${shown(m.systemUuid ?? '-')}`,
          `group    ${shown(m.group ?? '-')}`,
          `loader   ${m.bootLoader ?? 'auto'} (x64 UEFI); local boot ${m.localBoot ?? 'default (BIOS: sanboot, UEFI: exit)'}`,
          `address  ${m.fixedAddress ? `${m.fixedAddress} (fixed, full DHCP)` : 'dynamic'}`,
          `seen     ${shown(m.lastSeen ?? 'never')}`,
          `boot     ${shown(stageOf(m))}`,
          `passphrase ${passphraseText(m.passphraseFile)}`,
          ...(notes ? [notes] : []),
          '',
        ].join('\n'),
      );
      for (const d of m.disks) process.stdout.write(`disk     ${shown(d.devicePath)}  ${shown(d.model)} ${shown(d.serial)}  ${formatBytes(d.size)}\n`);
    });
  machines
    .command('edit')
    .description('change a machine: name, MACs, group, notes, boot settings')
    .argument('<name>', 'machine name')
    .option('--name <new>', 'rename')
    .option('--mac <mac>', 'replace the MACs (repeat for several)', collect)
    .option('--group <group>', 'group for schedules')
    .option('--notes <text>', 'free text')
    .addOption(loaderOption())
    .addOption(localBootOption())
    .option('--passphrase-file <path>', PASSPHRASE_FILE_HELP)
    .option('--no-passphrase', NO_PASSPHRASE_HELP)
    .option('--address <ipv4|none>', 'a fixed IPv4 address from the full DHCP server; none: back to a dynamic one')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { name?: string; mac?: string[]; group?: string; notes?: string; loader?: Loader; localBoot?: LocalBoot; passphraseFile?: string; passphrase?: boolean; address?: string; socket?: string }) => {
      const m = await client(o.socket).editMachine(name, {
        ...passphraseSetting(o, true),
        ...(o.name ? { name: o.name } : {}),
        ...(o.mac?.length ? { macs: o.mac } : {}),
        ...(o.group !== undefined ? { group: o.group } : {}),
        ...(o.notes !== undefined ? { notes: o.notes } : {}),
        ...(o.loader ? { bootLoader: o.loader } : {}),
        ...(o.localBoot ? { localBoot: o.localBoot } : {}),
        ...(o.address !== undefined ? { fixedAddress: o.address === 'none' ? null : o.address } : {}),
      });
      process.stdout.write(`updated machine ${shown(m.name)}\n`);
    });
  machines
    .command('approve')
    .description('take a discovered machine into Lifeboat (optionally naming it)')
    .argument('<name>', 'machine name')
    .option('--name <new>', 'its name from now on')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { name?: string; socket?: string }) => {
      const m = await client(o.socket).editMachine(name, { status: null, ...(o.name ? { name: o.name } : {}) });
      process.stdout.write(`approved machine ${m.name}: it can be backed up and restored now\n`);
    });
  machines
    .command('ignore')
    .description('never boot this machine into Lifeboat (its network boots go to its local disk)')
    .argument('<name>', 'machine name')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      const m = await client(o.socket).editMachine(name, { status: 'ignored' });
      process.stdout.write(`ignoring machine ${m.name}: its network boots go to its local disk (approve it to change that)\n`);
    });
  machines
    .command('wake')
    .description('send Wake-on-LAN to each MAC of the machine on the boot network')
    .argument('<name>')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      const r = await client(o.socket).wakeMachine(name);
      process.stdout.write(`Wake-on-LAN sent to ${r.machine} (${r.macs.join(', ')})\n`);
    });
  machines
    .command('rm')
    .description('remove a machine (its images stay)')
    .argument('<name>', 'machine name')
    .option('--socket <path>', 'daemon socket')
    .action(async (name: string, o: { socket?: string }) => {
      await client(o.socket).removeMachine(name);
      process.stdout.write(`removed machine ${shown(name)}\n`);
    });
}
