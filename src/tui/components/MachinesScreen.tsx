// Machines (and the disks docked in the appliance): what each is doing, its last backup,
// and for the selected one its hardware inventory and disks with their partitions.
import { Box, Text } from 'ink';
import type { LocalDevice, Machine, MachineWithDisks } from '../../api/contract.js';
import type { DataState } from '../data-state.js';
import { fit, fitPath, shortBytes } from '../format.js';
import { formatLocalTime as localTime } from '../../format.js';
import { type MachineRow, machineStatus } from '../selectors.js';
import { useTheme } from '../theme.js';
import { DetailLines, Panel } from './Panel.js';
import { ListView } from './ListView.js';

interface Props {
  data: DataState;
  rows: MachineRow[];
  selected: number;
  width: number;
  height: number;
  details: boolean;
  now: number;
}

function MachineDetail({ listed, m, data, width, now }: { listed: Machine; m: MachineWithDisks | undefined; data: DataState; width: number; now: number }) {
  const theme = useTheme();
  if (!m) return <Text dimColor>{`loading${theme.ellipsis}`}</Text>;
  // The list carries what its schedules promise (the single-machine answer does not).
  const st = machineStatus({ ...m, backupPromise: listed.backupPromise }, data.jobs, now);
  const inv = m.inventory;
  const lines = [
    `${m.name}  ${st.now}  last backup ${st.lastBackup}${m.lastSeen ? `  seen ${localTime(m.lastSeen)}` : ''}`,
    `${[m.vendor, m.model].filter(Boolean).join(' ') || 'vendor/model unknown'}  serial ${m.serial ?? '-'}  uuid ${m.systemUuid ?? '-'}`,
    `cpu ${inv?.cpu?.model ?? '-'}${inv?.cpu?.cores ? ` (${inv.cpu.cores} cores)` : ''}  memory ${inv?.memoryBytes ? shortBytes(inv.memoryBytes) : '-'}  firmware ${inv?.firmware ?? '-'}`,
    `MACs ${m.macs.join(' ')}${m.group ? `  group ${m.group}` : ''}  loader ${m.bootLoader ?? 'auto'}`,
    ...(m.status === 'discovered' ? ['DISCOVERED by a network boot: a approves it, i ignores it'] : m.status === 'ignored' ? ['IGNORED: its network boots go to its local disk (a approves it)'] : []),
    ...(st.overdue ? [`OVERDUE: ${st.overdue.schedule} was due ${localTime(st.overdue.dueAt)}; last good ${st.overdue.lastGood ? localTime(st.overdue.lastGood) : 'never'}`] : []),
    `network boot ${m.bootStage ? `reached ${m.bootStage.stage} ${localTime(m.bootStage.at)}${m.bootStage.detail ? ` (${m.bootStage.detail})` : ''}` : 'never seen'}`,
  ];
  const disks = m.disks.flatMap((d) => [
    `disk ${d.devicePath}  ${d.model ?? '?'}  serial ${d.serial ?? '-'}  ${shortBytes(d.size)}  ${d.partitions.table}`,
    ...d.partitions.entries.map((p) => `   ${String(p.number).padStart(2)} ${shortBytes(p.size).padStart(7)} ${p.filesystem ?? p.type ?? ''} ${p.label ?? ''}`),
  ]);
  return (
    <DetailLines lines={[...lines, ...(disks.length ? disks : ['no disks known yet: the inventory arrives when it first runs the boot OS'])]} width={width} />
  );
}

/** What a device row is: the system disk, a docked disk or a docked disk-image file. */
export function deviceRole(d: LocalDevice): string {
  return d.system ? 'system disk' : d.kind === 'file' ? 'docked file' : 'docked disk';
}

function DeviceDetail({ d, width }: { d: LocalDevice; width: number }) {
  const lines = [
    d.system
      ? `${d.path}  the appliance's own system disk (holds ${d.system}): never a backup or restore target`
      : `${d.path}  ${d.kind === 'file' ? 'disk-image file docked in the appliance' : 'docked in the appliance'}${d.inUse ? '  IN USE: never a restore target' : ''}`,
    `${d.model ?? 'model unknown'}  serial ${d.serial ?? '-'}  ${shortBytes(d.sizeBytes)}  sector ${d.logicalSectorSize}`,
    ...d.partitions.map((p) => `   ${p.path} ${shortBytes(p.sizeBytes).padStart(7)} ${p.fsType ?? ''} ${p.label ?? ''}`),
  ];
  return <DetailLines lines={lines} width={width} />;
}

export function MachinesScreen({ data, rows, selected, width, height, details, now }: Props) {
  const theme = useTheme();
  const listHeight = details ? Math.min(4, height) : Math.max(3, Math.min(rows.length + 1, Math.floor(height / 2)));
  const text = rows.map((r) => {
    if (r.kind === 'device') return `${fitPath(r.device.path, 18, theme.ascii)} ${fit(deviceRole(r.device), 17, { pad: true })} ${fit(shortBytes(r.device.sizeBytes), 17, { pad: true })} ${r.device.model ?? ''}`;
    const st = machineStatus(r.machine, data.jobs, now);
    const doing = r.machine.status ?? st.now;
    return `${fit(r.machine.name, 18, { pad: true })} ${fit(doing, 17, { pad: true })} ${fit(st.lastBackup, 17, { pad: true })} ${[r.machine.vendor, r.machine.model].filter(Boolean).join(' ')}`;
  });
  const tones = rows.map((r) => {
    if (r.kind === 'device') return r.device.system ? 'yellow' : 'cyan';
    const st = machineStatus(r.machine, data.jobs, now);
    return st.overdue || st.lastBackupOk === false ? 'red' : undefined;
  });
  const overdue = data.machines.filter((m) => m.backupPromise?.overdue).map((m) => m.name);
  const errors = [data.errors.machines, data.errors.devices, overdue.length ? `${overdue.length} overdue (last good backup older than the schedule promises): ${overdue.join(', ')}` : ''].filter(Boolean).join('; ');
  const row = rows[selected];
  return (
    <Box flexDirection="column" height={height} width={width}>
      <ListView header={`${'NAME'.padEnd(18)} ${'NOW'.padEnd(17)} ${'LAST BACKUP'.padEnd(17)} MODEL`} rows={text} tones={tones} selected={selected} height={listHeight} width={width} empty="no machines yet: add one with `lifeboat machines add`; docked disks appear here too" />
      {errors ? <Text color={theme.tone('red')}>{fit(`! ${errors}`, width)}</Text> : null}
      <Panel height={height - listHeight - (errors ? 1 : 0)}>
        {row?.kind === 'machine' ? <MachineDetail listed={row.machine} m={data.machineDetails[row.machine.name]} data={data} width={width - 4} now={now} /> : row ? <DeviceDetail d={row.device} width={width - 4} /> : <Text dimColor>select a machine</Text>}
      </Panel>
    </Box>
  );
}
