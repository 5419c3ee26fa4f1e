// `lifeboat tui` as a process: enter the alternate screen, render the App through the
// line-diffing FrameWriter, and leave the terminal as it was however the process ends.
import { render } from 'ink';
import { createElement } from 'react';
import { ApiClient, DEFAULT_SOCKET } from '../api/client.js';
import { usageError } from '../errors.js';
import { App } from './components/App.js';
import type { TuiClient } from './client.js';
import { FrameWriter } from './frame-writer.js';
import { detectCaps, enterFullscreen } from './terminal.js';

export interface TuiOptions {
  socket?: string;
  /** Instead of the socket client (tests). */
  client?: TuiClient;
}

const SIGNAL_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGTERM: 143 };

/** Runs the console until the operator quits (0) or a signal ends it (128 + signal). */
export async function runTui(opts: TuiOptions = {}): Promise<number> {
  const out = process.stdout;
  const stdin = process.stdin;
  if (!out.isTTY || !stdin.isTTY) throw usageError('lifeboat tui needs a terminal on stdin and stdout: run it from a console or an SSH session with a tty (ssh -t)');
  const client = opts.client ?? new ApiClient(opts.socket ?? process.env.LIFEBOAT_SOCKET ?? DEFAULT_SOCKET);
  const caps = detectCaps(process.env);
  let code = 0;
  let ink: ReturnType<typeof render> | null = null;
  const writer = new FrameWriter(out, { columns: out.columns || 80, rows: out.rows || 24 }, { synchronized: process.env.TERM !== 'linux', ascii: caps.ascii });
  const session = enterFullscreen(
    out,
    stdin,
    (err) => {
      writer.stop();
      process.stderr.write(`lifeboat tui: internal error (a bug in Lifeboat, please report it): ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(70);
    },
    (sig) => {
      code = SIGNAL_CODES[sig] ?? 1;
      writer.stop();
      if (sig === 'SIGHUP') {
        // The terminal is gone: nothing to draw on, and nothing of ours to keep running.
        session.restore();
        process.exit(code);
      }
      ink?.unmount();
    },
  );
  const onResize = () => writer.resize(out.columns || 80, out.rows || 24);
  out.on('resize', onResize);
  try {
    ink = render(createElement(App, { client, caps, onQuit: () => writer.flush() }), {
      stdout: writer as unknown as NodeJS.WriteStream,
      stdin,
      stderr: process.stderr,
      // Debug mode: Ink hands every frame whole to the FrameWriter, which diffs it.
      debug: true,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    await ink.waitUntilExit();
  } finally {
    out.off('resize', onResize);
    writer.stop();
    session.restore();
    stdin.pause();
  }
  return code;
}
