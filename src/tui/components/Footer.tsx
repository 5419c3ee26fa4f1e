// The bottom two lines: the last message (info or error), and the keys of this screen.
import { Box, Text } from 'ink';
import { fit } from '../format.js';
import { useTheme } from '../theme.js';
import type { Flash, Screen } from '../ui-state.js';

const HINTS: Record<Screen, string> = {
  machines: 'b backup  r restore  n new  e edit  w wake  d delete  ? keys  q quit',
  images: 'r restore  v verify  d delete  enter details  / filter  ? keys  q quit',
  jobs: 'c cancel  enter details  / filter  ? keys  q quit (jobs keep running)',
  schedules: 'd delete  enter details  / filter  ? keys  q quit',
  appliance: '1-5 screens  ? keys  q quit',
};

export function Footer({ screen, flash, width, dialog }: { screen: Screen; flash: Flash | null; width: number; dialog: boolean }) {
  const theme = useTheme();
  const hints = dialog ? 'esc closes the dialog' : HINTS[screen];
  return (
    <Box flexDirection="column">
      <Text color={flash?.kind === 'error' ? theme.tone('red') : theme.tone('green')} bold={flash?.kind === 'error'}>
        {fit(flash ? `${flash.kind === 'error' ? '! ' : ''}${flash.text}` : '', width, { ascii: theme.ascii }) || ' '}
      </Text>
      <Text dimColor>{fit(` ${hints}`, width, { ascii: theme.ascii })}</Text>
    </Box>
  );
}
