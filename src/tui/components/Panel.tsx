// A bordered box whose lines keep their height and are clipped at the bottom when the
// terminal is short (Yoga would otherwise shrink the lines onto one another).
import { Box, Text } from 'ink';
import { fit } from '../format.js';
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

/** A detail view's lines, the first in bold, each cut to `width` (ASCII where the terminal needs it). */
export function DetailLines({ lines, width }: { lines: string[]; width: number }) {
  const theme = useTheme();
  return (
    <>
      {lines.map((l, i) => (
        <Text key={i} bold={i === 0}>
          {fit(l, width, { ascii: theme.ascii })}
        </Text>
      ))}
    </>
  );
}
