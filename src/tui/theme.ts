// Colours and glyphs by what the terminal can show (see terminal.ts): components ask the
// theme, so NO_COLOR and ASCII terminals need no branches in them.
import { createContext, useContext } from 'react';
import type { TermCaps } from './terminal.js';

export interface Theme extends TermCaps {
  /** A colour name, or undefined when colour is off. */
  tone(color: string): string | undefined;
  border: 'single' | 'classic';
  pointer: string;
  dot: string;
  ellipsis: string;
}

export function makeTheme(caps: TermCaps): Theme {
  return { ...caps, tone: (c) => (caps.color ? c : undefined), border: caps.ascii ? 'classic' : 'single', pointer: '>', dot: caps.ascii ? '*' : '●', ellipsis: caps.ascii ? '...' : '…' };
}

export const ThemeContext = createContext<Theme>(makeTheme({ ascii: false, color: true }));
export const useTheme = () => useContext(ThemeContext);

export const STATE_COLORS: Record<string, string> = { running: 'cyan', cancelling: 'yellow', queued: 'blue', 'waiting-for-boot': 'magenta', booting: 'magenta', done: 'green', failed: 'red', cancelled: 'yellow', interrupted: 'yellow' };
