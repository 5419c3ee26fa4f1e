// Renderers of the engine's event stream: a live bar on a TTY, plain lines otherwise,
// JSON lines with --json. They only consume events; they never drive the engine.
import type { EngineEvent, ProgressEvent } from '../imaging/progress.js';
import { formatBytes, formatDuration, formatRate } from '../format.js';
import { escapeForTerminal } from '../text.js';

export type RenderMode = 'tty' | 'plain' | 'json';

export interface Renderer {
  event(e: EngineEvent): void;
  /** Clears a live bar before other output. */
  close(): void;
}

export function renderMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): RenderMode {
  return json ? 'json' : stream.isTTY ? 'tty' : 'plain';
}

export { formatDuration } from '../format.js';

/** One line describing progress; `width` bounds the bar. Pure, for tests and every renderer. */
export function progressLine(e: ProgressEvent, barWidth = 24): string {
  // A stream's size is unknown (bytesTotal 0) until it ends: no bar, no percentage.
  const frac = e.bytesTotal > 0 ? Math.min(1, e.bytesDone / e.bytesTotal) : null;
  const filled = Math.round((frac ?? 0) * barWidth);
  const bar = barWidth > 0 && frac !== null ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ` : '';
  const parts = frac === null ? [`${formatBytes(e.bytesDone)}`, formatRate(e.rateBps)] : [`${bar}${(frac * 100).toFixed(0).padStart(3)}%`, `${formatBytes(e.bytesDone)}/${formatBytes(e.bytesTotal)}`, formatRate(e.rateBps)];
  if (e.operation === 'backup') {
    parts.push(`new ${formatBytes(e.bytesNew)}`, `reused ${formatBytes(e.bytesReused)}`, `zero ${formatBytes(e.bytesZero)}`);
    if (e.ratio > 0) parts.push(`lz4 ${e.ratio.toFixed(2)}x`);
  }
  parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
  return parts.join('  ');
}

/** What a start event says: paths come from outside and are shown escaped. */
function startLine(e: Extract<EngineEvent, { type: 'start' }>): string {
  return `${e.operation} ${e.imageId}: ${escapeForTerminal(e.source)} -> ${escapeForTerminal(e.target) || '(check)'} (${e.bytesTotal > 0 ? formatBytes(e.bytesTotal) : 'size unknown'})${e.parent ? `, against ${e.parent}` : ''}\n`;
}

export function createRenderer(mode: RenderMode, err: NodeJS.WriteStream = process.stderr, out: NodeJS.WriteStream = process.stdout): Renderer {
  if (mode === 'json') {
    return { event: (e) => out.write(`${JSON.stringify(e)}\n`), close: () => {} };
  }
  if (mode === 'plain') {
    let lastLine = 0;
    return {
      event(e) {
        if (e.type === 'start') err.write(startLine(e));
        else if (e.type === 'warning') err.write(`warning: ${escapeForTerminal(e.message)}\n`);
        else if (e.bytesDone >= e.bytesTotal || Date.now() - lastLine >= 2000) {
          lastLine = Date.now();
          err.write(`${progressLine(e, 0)}\n`);
        }
      },
      close: () => {},
    };
  }
  let live = false;
  return {
    event(e) {
      if (e.type === 'progress') {
        const columns = err.columns ?? 100;
        const line = progressLine(e, columns >= 120 ? 30 : 16).slice(0, columns - 1);
        err.write(`\r\x1b[2K${line}`);
        live = true;
        return;
      }
      if (live) err.write('\r\x1b[2K');
      live = false;
      if (e.type === 'start') err.write(startLine(e));
      else err.write(`warning: ${escapeForTerminal(e.message)}\n`);
    },
    close() {
      if (live) err.write('\n');
      live = false;
    },
  };
}
