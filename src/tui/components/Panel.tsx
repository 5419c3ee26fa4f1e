// A bordered box whose lines keep their height and are clipped at the bottom when the
// terminal is short (Yoga would otherwise shrink the lines onto one another).
import { Box } from 'ink';
import type { ReactNode } from 'react';
import { useTheme } from '../theme.js';

export function Panel({ height, width, borderColor, children }: { height: number; width?: number; borderColor?: string | undefined; children: ReactNode }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" borderStyle={theme.border} borderColor={borderColor} height={height} width={width} paddingX={1} overflow="hidden">
      <Box flexDirection="column" flexShrink={0}>
        {children}
      </Box>
    </Box>
  );
}
