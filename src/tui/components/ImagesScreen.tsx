// Images in the store, newest first; the selected one's full record below.
import { Box } from 'ink';
import type { DataState, ImageView } from '../data-state.js';
import { fit, fitPath, shortBytes, shortImageId } from '../format.js';
import { formatLocalTime as localTime } from '../../format.js';
import { neededBytes } from '../restore-plan.js';
import { useTheme } from '../theme.js';
import { DetailLines, Panel } from './Panel.js';
import { ListView } from './ListView.js';

interface Props {
  data: DataState;
  rows: ImageView[];
  selected: number;
  width: number;
  height: number;
  details: boolean;
}

const owner = (i: ImageView, data: DataState) => (i.machineId ? (data.machines.find((m) => m.id === i.machineId)?.name ?? i.machineId) : `appliance`);

export function ImagesScreen({ data, rows, selected, width, height, details }: Props) {
  const theme = useTheme();
  const listHeight = details ? Math.min(4, height) : Math.max(3, Math.min(rows.length + 1, height - 8));
  const text = rows.map((i) => `${fit(shortImageId(i.id), 16, { pad: true })} ${fit(owner(i, data), 14, { pad: true })} ${fitPath(i.sourcePath, 18, theme.ascii)} ${shortBytes(i.diskSize).padStart(7)} ${shortBytes(i.storedBytesNew).padStart(7)} ${i.protected ? 'P ' : '  '}${i.location ? `[${i.location}] ` : ''}${i.label ?? ''}`);
  const img = rows[selected];
  const lines = img
    ? [
        `${img.id}${img.label ? `  "${img.label}"` : ''}${img.protected ? '  protected' : ''}${img.hasPassphrase ? '  passphrase' : ''}`,
        `from ${owner(img, data)} (host ${img.host}) ${img.sourcePath} (${img.sourceKind})  ${img.diskModel ?? ''} ${img.diskSerial ?? ''}`,
        `disk ${shortBytes(img.diskSize)}  needs a target of ${shortBytes(neededBytes(img))}  new ${shortBytes(img.bytesNew)} stored as ${shortBytes(img.storedBytesNew)}  ${img.chunkCount} chunks of ${shortBytes(img.chunkSize)}`,
        `made ${localTime(img.createdAt, { seconds: true })} to ${localTime(img.completedAt, { seconds: true })}${img.parent ? `  parent ${img.parent}` : '  full'}`,
        ...(img.location ? [`on ${img.location}, not in the appliance's store: lifeboat images import ${img.id} --from <dir>/lifeboat-store`] : []),
      ]
    : ['select an image'];
  return (
    <Box flexDirection="column" height={height} width={width}>
      <ListView header={`${'MADE'.padEnd(16)} ${'MACHINE'.padEnd(14)} ${'SOURCE'.padEnd(18)} ${'SIZE'.padStart(7)} ${'STORED'.padStart(7)}   LABEL`} rows={text} selected={selected} height={listHeight} width={width} empty={data.errors.images ? `! ${data.errors.images}` : 'no images yet'} />
      <Panel height={height - listHeight}>
        <DetailLines lines={lines} width={width - 4} />
      </Panel>
    </Box>
  );
}
