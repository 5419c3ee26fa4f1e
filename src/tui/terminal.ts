// The terminal around the console: what it can show (UTF-8 or plain ASCII, colour or
// not), and the full-screen session: alternate screen and hidden cursor on entry, and
// the terminal put back exactly once however the process ends (quit, exception,
// unhandled rejection, SIGTERM, SIGHUP, process.exit).
import { writeSync } from 'node:fs';

export interface TermCaps {
  /** Plain ASCII borders, bars and sparklines (the Linux console, non-UTF-8 locales). */
  ascii: boolean;
  color: boolean;
}

export function detectCaps(env: NodeJS.ProcessEnv): TermCaps {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  const term = env.TERM ?? '';
  return {
    ascii: term === 'linux' || term === 'dumb' || !/utf-?8/i.test(locale),
    color: (env.NO_COLOR ?? '') === '' && term !== 'dumb',
  };
}

export const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
export const LEAVE = '\x1b[0m\x1b[?25h\x1b[?1049l';

export interface FullscreenSession {
  /** Leave the alternate screen, show the cursor, cooked mode again. Idempotent. */
  restore(): void;
}

export function enterFullscreen(out: { fd?: number; write(s: string): unknown }, stdin: { isTTY?: boolean; setRawMode?(on: boolean): unknown }, onFatal: (err: unknown) => void, onSignal: (signal: NodeJS.Signals) => void): FullscreenSession {
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      if (stdin.isTTY) stdin.setRawMode?.(false);
    } catch {
      // the terminal may be gone (SIGHUP): nothing left to restore on it
    }
    try {
      if (typeof out.fd === 'number') writeSync(out.fd, LEAVE);
      else out.write(LEAVE);
    } catch {
      // as above
    }
    process.off('exit', restore);
    process.off('uncaughtException', fatal);
    process.off('unhandledRejection', fatal);
    process.off('SIGTERM', signal);
    process.off('SIGHUP', signal);
  };
  const fatal = (err: unknown) => {
    restore();
    onFatal(err);
  };
  const signal = (sig: NodeJS.Signals) => onSignal(sig);
  out.write(ENTER);
  process.on('exit', restore);
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGTERM', signal);
  process.on('SIGHUP', signal);
  return { restore };
}
