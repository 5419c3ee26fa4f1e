// Every key, from the keymap's own table.
import { Text } from 'ink';
import { fit } from '../format.js';
import { KEY_HELP } from '../keymap.js';
import { useTheme } from '../theme.js';
import { Panel } from './Panel.js';

export function HelpOverlay({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  return (
    <Panel width={width} height={height}>
      <Text bold>Keys (any key closes)</Text>
      {KEY_HELP.slice(0, Math.max(0, height - 3)).map(([k, what]) => (
        <Text key={k}>{fit(`${k.padEnd(12)} ${what}`, width - 4, { ascii: theme.ascii })}</Text>
      ))}
    </Panel>
  );
}
