// Jobs: a row per job with its progress bar and live figures (MB/s now and average, LZ4
// ratio, new vs reused bytes, ETA); below, the selected job's throughput sparkline (from
// the progress events this console saw) and its log.
import { Box, Text } from 'ink';
import type { JobView } from '../../api/contract.js';
import type { DataState } from '../data-state.js';
import { bar, duration, fit, fitPath, mbps, shortBytes, sparkline } from '../format.js';
import { formatLocalTime as localTime } from '../../format.js';
import { ETA_W, NEW_REUSED_W, PCT_W, RATE_W, RATIO_W, jobColumns, joinCells } from '../job-columns.js';
import { jobSubject } from '../selectors.js';
import { STATE_COLORS, useTheme } from '../theme.js';
import { ListView } from './ListView.js';
import { DetailLines, Panel } from './Panel.js';

interface Props {
  data: DataState;
  rows: JobView[];
  selected: number;
  width: number;
  height: number;
  details: boolean;
}

/** The target in `width` columns: a machine keeps its name (the disk serial is cut), a path its end. */
export function fitTarget(j: JobView, data: DataState, width: number, ascii: boolean): string {
  const subject = jobSubject(j, data);
  return j.machineId ? fit(subject, width, { ascii, pad: true }) : fitPath(subject, width, ascii);
}

export function jobRow(j: JobView, data: DataState, width: number, ascii: boolean): string {
  const c = jobColumns(width);
  const p = j.live;
  const done = p ? p.bytesDone / Math.max(1, p.bytesTotal) : j.state === 'done' ? 1 : j.progress ? j.progress.bytesDone / Math.max(1, j.progress.bytesTotal) : 0;
  const head = {
    type: fit(j.type, c.type, { pad: true }),
    target: fitTarget(j, data, c.target, ascii),
    state: fit(j.state === 'waiting-for-boot' ? 'waiting' : j.state, c.state, { pad: true }),
    bar: c.bar ? bar(done, c.bar, ascii) : '',
    pct: `${Math.floor(done * 100)}%`.padStart(PCT_W),
  };
  if (!p) {
    // An ended job shows its final figures (average MB/s, LZ4 ratio, new/reused) from its stats.
    const st = j.stats;
    if (j.state === 'done' && st && st.durationMs) {
      const total = st.bytesTotal ?? (st.bytesRead ?? 0) + (st.bytesZero ?? 0);
      const avg = total / Math.max(0.001, st.durationMs / 1000);
      const ratio = st.compressionRatio !== undefined ? `x${st.compressionRatio.toFixed(2)}` : '';
      const newReused = st.bytesNew !== undefined ? `${shortBytes(st.bytesNew)}/${shortBytes(st.bytesReused ?? 0)}` : '';
      return joinCells(c, { ...head, rate: `-/${mbps(avg)}`.padStart(RATE_W), ratio: ratio.padStart(RATIO_W), newReused: newReused.padStart(NEW_REUSED_W), eta: duration(st.durationMs / 1000).padStart(ETA_W) });
    }
    const said = j.targetIncomplete ? `TARGET INCOMPLETE: ${j.outcome ?? ''}` : (j.error ?? j.outcome);
    const line = [head.type, head.target, head.state, ...(c.bar ? [head.bar] : []), head.pct].join(' ');
    return said ? `${line} ${fit(said, Math.max(1, width - 3 - line.length), { ascii })}` : line;
  }
  return joinCells(c, { ...head, rate: `${mbps(p.rateBps)}/${mbps(p.avgBps)}`.padStart(RATE_W), ratio: `x${p.ratio.toFixed(2)}`.padStart(RATIO_W), newReused: `${shortBytes(p.bytesNew)}/${shortBytes(p.bytesReused)}`.padStart(NEW_REUSED_W), eta: duration(p.etaSeconds).padStart(ETA_W) });
}

/** The list's header line, in the same columns as the rows. */
export function jobHeader(width: number): string {
  const c = jobColumns(width);
  return joinCells(c, { type: 'TYPE'.padEnd(c.type), target: 'TARGET'.padEnd(c.target), state: 'STATE'.padEnd(c.state), bar: (c.bar >= 8 ? 'PROGRESS' : '').padEnd(c.bar), pct: 'DONE', rate: 'MB/s now/avg'.padStart(RATE_W), ratio: 'LZ4'.padStart(RATIO_W), newReused: 'new/reused'.padStart(NEW_REUSED_W), eta: 'ETA'.padStart(ETA_W) });
}

/** "14:05:03": the local time of day (the zone is named on the job's created line). */
const clock = (iso: string) => localTime(iso, { seconds: true }).slice(11, 19);

function JobDetail({ job, data, width, height }: { job: JobView; data: DataState; width: number; height: number }) {
  const theme = useTheme();
  const rates = data.rates[job.id] ?? [];
  const spark = rates.length ? sparkline(rates, width - 24, theme.ascii) : '(no progress seen yet)';
  const peak = rates.length ? Math.max(...rates) : 0;
  // Lines seen live in this console, else those the daemon kept (a restarted console).
  const lines = data.logs[job.id]?.length ? (data.logs[job.id] ?? []) : (job.log ?? []);
  const log = [
    ...lines.map((l) => `${clock(l.at)} ${l.level === 'info' ? '' : `${l.level}: `}${l.message}`),
    ...(job.error && !lines.some((l) => l.message.includes(job.error as string)) ? [`error: ${job.error}`] : []),
    ...(job.outcome ? [`outcome: ${job.outcome}`] : []),
  ];
  const head = [
    `${job.id}  ${job.type} ${jobSubject(job, data)}  ${job.state}${job.imageId ? `  image ${job.imageId}` : ''}`,
    ...(job.targetIncomplete ? [`TARGET INCOMPLETE: ${job.devicePath ?? 'the target'} must not be used; restore it again`] : []),
    `by ${job.requestedBy}  created ${localTime(job.createdAt, { seconds: true })}${job.startedAt ? `  started ${clock(job.startedAt)}` : ''}${job.finishedAt ? `  finished ${clock(job.finishedAt)}` : ''}`,
  ];
  const logRoom = Math.max(0, height - head.length - 2);
  return (
    <>
      <DetailLines lines={head} width={width} />
      <Text>
        {'MB/s '}
        <Text color={theme.tone('cyan')}>{spark}</Text>
        {rates.length ? ` peak ${mbps(peak)}` : ''}
      </Text>
      {(log.length ? log.slice(-logRoom) : ['no log lines yet']).map((l, i) => (
        <Text key={i} dimColor={!log.length} color={/^\S+ error/.test(l) || l.startsWith('error') ? theme.tone('red') : undefined}>
          {fit(l, width, { ascii: theme.ascii })}
        </Text>
      ))}
    </>
  );
}

export function JobsScreen({ data, rows, selected, width, height, details }: Props) {
  const theme = useTheme();
  const listHeight = details ? Math.min(4, height) : Math.max(3, Math.min(rows.length + 1, Math.floor(height / 2)));
  const header = jobHeader(width);
  const job = rows[selected];
  return (
    <Box flexDirection="column" height={height} width={width}>
      <ListView header={header} rows={rows.map((j) => jobRow(j, data, width, theme.ascii))} tones={rows.map((j) => STATE_COLORS[j.state])} selected={selected} height={listHeight} width={width} empty={data.errors.jobs ? `! ${data.errors.jobs}` : 'no jobs yet: b on the Machines screen starts a backup'} />
      <Panel height={height - listHeight}>
        {job ? <JobDetail job={job} data={data} width={width - 4} height={height - listHeight - 2} /> : <Text dimColor>select a job</Text>}
      </Panel>
    </Box>
  );
}
