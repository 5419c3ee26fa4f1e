// The top two lines: the screens as tabs with their keys, and the connection state.
import { Box, Text } from 'ink';
import type { Connection } from '../data-state.js';
import { fit } from '../format.js';
import { useTheme } from '../theme.js';
import { SCREENS, SCREEN_TITLES, type Screen } from '../ui-state.js';

export function Header({ screen, connection, width, filter, filtering }: { screen: Screen; connection: Connection; width: number; filter: string; filtering: boolean }) {
  const theme = useTheme();
  const state = connection.status === 'online' ? `${theme.dot} online` : connection.status === 'connecting' ? `connecting${theme.ellipsis}` : `${theme.dot} OFFLINE`;
  const labels = (title: (s: Screen) => string) => SCREENS.map((s, i) => ({ s, label: ` ${i + 1} ${title(s)} ` }));
  const width_ = (t: Array<{ label: string }>) => 9 + t.reduce((n, x) => n + x.label.length, 0) + state.length + 1;
  // Narrow terminals get short tab names, then numbers only: the header stays one line.
  let tabs = labels((s) => SCREEN_TITLES[s]);
  if (width_(tabs) > width) tabs = labels((s) => SCREEN_TITLES[s].slice(0, 4));
  if (width_(tabs) > width) tabs = labels(() => '').map((t) => ({ ...t, label: t.label.trimEnd() + ' ' }));
  const used = 9 + tabs.reduce((n, t) => n + t.label.length, 0);
  const stateColor = connection.status === 'online' ? 'green' : 'red';
  let second: string;
  if (connection.status === 'reconnecting') second = `reconnecting${theme.ellipsis} attempt ${connection.attempt}, next try in ${Math.ceil(connection.retryInMs / 1000)}s: ${connection.error}`;
  else if (filtering || filter) second = `filter: ${filter}${filtering ? '_' : ''}${filtering ? '   (enter keeps, esc clears)' : ''}`;
  else second = '';
  return (
    <Box flexDirection="column">
      <Box>
        <Text bold>{' Lifeboat'}</Text>
        {tabs.map((t) => (
          <Text key={t.s} inverse={t.s === screen} bold={t.s === screen}>
            {t.label}
          </Text>
        ))}
        <Text>{' '.repeat(Math.max(1, width - used - state.length))}</Text>
        <Text color={theme.tone(stateColor)} bold>
          {state}
        </Text>
      </Box>
      <Text color={connection.status === 'reconnecting' ? theme.tone('red') : undefined} inverse={connection.status === 'reconnecting'}>
        {fit(second, width, { ascii: theme.ascii, pad: connection.status === 'reconnecting' }) || ' '}
      </Text>
    </Box>
  );
}
