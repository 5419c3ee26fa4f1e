// Schedules: when each fires next, what it backs up (and where to) and what it keeps.
import { Box } from 'ink';
import type { ScheduleView } from '../../api/contract.js';
import { destinationText } from '../../api/destination.js';
import type { DataState } from '../data-state.js';
import { fit } from '../format.js';
import { formatLocalTime as localTime } from '../../format.js';
import { scheduleTargets as targets } from '../selectors.js';
import { DetailLines, Panel } from './Panel.js';
import { ListView } from './ListView.js';

const keeps = (s: ScheduleView) => Object.entries(s.retention).map(([k, v]) => `${k} ${v}`).join(', ') || 'every image';

export function SchedulesScreen({ data, rows, selected, width, height }: { data: DataState; rows: ScheduleView[]; selected: number; width: number; height: number }) {
  const listHeight = Math.max(3, Math.min(rows.length + 1, height - 6));
  const s = rows[selected];
  const text = rows.map((r) => `${fit(r.name, 16, { pad: true })} ${r.enabled ? 'on ' : 'off'} ${fit(r.nextRun ? localTime(r.nextRun) : 'never', 21, { pad: true })} ${fit(r.calendar, 20, { pad: true })} ${targets(r)}`);
  const lines = s ? [`${s.name}  ${s.enabled ? 'enabled' : 'DISABLED'}  calendar ${s.calendar}`, `backs up ${targets(s)}${s.destination ? ` to ${destinationText(s.destination)}` : ''}`, `keeps ${keeps(s)}`, `next ${s.nextRun ? localTime(s.nextRun) : 'never'}  last ${s.lastRunAt ? localTime(s.lastRunAt) : 'never'}`] : ['select a schedule'];
  return (
    <Box flexDirection="column" height={height} width={width}>
      <ListView header={`${'NAME'.padEnd(16)} ON  ${'NEXT'.padEnd(21)} ${'CALENDAR'.padEnd(20)} TARGETS`} rows={text} selected={selected} height={listHeight} width={width} empty={data.errors.schedules ? `! ${data.errors.schedules}` : 'no schedules: lifeboat schedule add'} />
      <Panel height={height - listHeight}>
        <DetailLines lines={lines} width={width - 4} />
      </Panel>
    </Box>
  );
}
