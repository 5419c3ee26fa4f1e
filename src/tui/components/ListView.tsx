// A scrolling list of preformatted rows with a header; the selected row is marked and
// inverse, and stays in view.
import { Box, Text } from 'ink';
import { fit, windowStart } from '../format.js';
import { useTheme } from '../theme.js';

export interface ListViewProps {
  header: string;
  rows: string[];
  selected: number;
  height: number;
  width: number;
  tones?: Array<string | undefined>;
  empty?: string;
}

export function ListView({ header, rows, selected, height, width, tones, empty }: ListViewProps) {
  const theme = useTheme();
  const visible = Math.max(1, height - 1);
  const start = windowStart(rows.length, selected, visible);
  const shown = rows.slice(start, start + visible);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>{fit(`  ${header}`, width, { ascii: theme.ascii })}</Text>
      {rows.length === 0 ? <Text dimColor>{fit(`  ${empty ?? 'nothing here'}`, width)}</Text> : null}
      {shown.map((row, i) => {
        const index = start + i;
        const on = index === selected;
        const tone = tones?.[index];
        return (
          <Text key={index} inverse={on} color={tone ? theme.tone(tone) : undefined}>
            {fit(`${on ? theme.pointer : ' '} ${row}`, width, { ascii: theme.ascii, pad: on })}
          </Text>
        );
      })}
    </Box>
  );
}
