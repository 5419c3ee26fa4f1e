// The appliance itself: services, network interfaces, DHCP mode, store usage, versions.
import { escapeForTerminal } from '../../text.js';
import { Text } from 'ink';
import type { DataState } from '../data-state.js';
import { bar, duration, fit, shortBytes } from '../format.js';
import { useTheme } from '../theme.js';
import { Panel } from './Panel.js';

export function ApplianceScreen({ data, width, height }: { data: DataState; width: number; height: number }) {
  const theme = useTheme();
  const a = data.appliance;
  if (!a) {
    return (
      <Panel height={height}>
        <Text color={data.errors.appliance ? theme.tone('red') : undefined} wrap="wrap">
          {data.errors.appliance ? `! the appliance status could not be read: ${escapeForTerminal(data.errors.appliance)}` : `loading${theme.ellipsis}`}
        </Text>
      </Panel>
    );
  }
  const used = a.store.fsBytes - a.store.fsFreeBytes;
  const w = width - 4;
  const lines: Array<[string, string | undefined]> = [
    [`${a.hostname}  lifeboat ${a.version}  node ${a.node}  up ${duration(a.uptimeSeconds)}`, undefined],
    [`data ${a.dataDir}  socket ${a.socket}  DHCP mode ${a.dhcpMode}`, undefined],
    [`store ${a.store.path}`, undefined],
    [`      ${a.store.images} images, ${a.store.chunks} chunks: ${shortBytes(a.store.storedBytes)} stored for ${shortBytes(a.store.logicalBytes)} protected (x${a.store.reduction.toFixed(1)})`, undefined],
    [`disk  ${bar(used / Math.max(1, a.store.fsBytes), Math.min(30, w - 30), theme.ascii)} ${shortBytes(used)} of ${shortBytes(a.store.fsBytes)} (${shortBytes(a.store.fsFreeBytes)} free)`, used / Math.max(1, a.store.fsBytes) > 0.9 ? 'red' : undefined],
    [`jobs  ${a.jobs.running} running, ${a.jobs.active} active`, undefined],
    ['services', undefined],
    ...a.services.map((s): [string, string | undefined] => [`  ${s.name.padEnd(14)} ${s.state.padEnd(8)} ${s.detail}`, s.state === 'failed' ? 'red' : s.state === 'running' ? 'green' : undefined]),
    ['interfaces', undefined],
    ...a.interfaces.map((i): [string, string | undefined] => [`  ${i.name.padEnd(14)} ${i.mac.padEnd(18)} ${i.addresses.join(' ')}`, undefined]),
  ];
  return (
    <Panel height={height}>
      {lines.slice(0, height - 2).map(([l, tone], i) => (
        <Text key={i} bold={i === 0 || l === 'services' || l === 'interfaces'} color={tone ? theme.tone(tone) : undefined}>
          {fit(l, w, { ascii: theme.ascii })}
        </Text>
      ))}
    </Panel>
  );
}
