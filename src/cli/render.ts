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

/**
 * One line describing progress in at most `columns` characters. Fields are dropped lowest
 * priority first when it is narrow (lz4, zero, reused, new, the bytes, then MB/s) and the
 * bar shrinks, then goes; the ETA always shows (the percentage too, from 16 columns). Pure, for every renderer.
 */
export function progressLine(e: ProgressEvent, columns = Infinity, withBar = true): string {
  // A stream's size is unknown (bytesTotal 0) until it ends: no bar, no percentage.
  const frac = e.bytesTotal > 0 ? Math.min(1, e.bytesDone / e.bytesTotal) : null;
  // [text, priority]: higher stays longer.
  const fields: Array<[string, number]> = [];
  if (frac !== null) fields.push([`${(frac * 100).toFixed(0).padStart(3)}%`, 9], [`${formatBytes(e.bytesDone)}/${formatBytes(e.bytesTotal)}`, 5]);
  else fields.push([formatBytes(e.bytesDone), 9]);
  fields.push([formatRate(e.rateBps), 7]);
  if (e.operation === 'backup') {
    fields.push([`new ${formatBytes(e.bytesNew)}`, 4], [`reused ${formatBytes(e.bytesReused)}`, 3], [`zero ${formatBytes(e.bytesZero)}`, 1]);
    if (e.ratio > 0) fields.push([`lz4 ${e.ratio.toFixed(2)}x`, 2]);
  }
  fields.push([`ETA ${formatDuration(e.etaSeconds)}`, 10]);
  const line = (minPriority: number, barWidth: number) => {
    const filled = Math.round((frac ?? 0) * barWidth);
    const bar = barWidth > 0 && frac !== null ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ` : '';
    return bar + fields.filter(([, p]) => p >= minPriority).map(([t]) => t).join('  ');
  };
  const bars = !withBar ? [0] : columns >= 120 ? [30, 16, 8] : [16, 8];
  for (const minPriority of [0, 2, 3, 4, 5, 6]) {
    for (const w of bars) {
      const l = line(minPriority, w);
      if (l.length <= columns) return l;
    }
  }
  for (const minPriority of [0, 8, 10]) {
    const l = line(minPriority, 0);
    if (l.length <= columns) return l;
  }
  return line(10, 0).slice(0, Math.max(0, columns));
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
          err.write(`${progressLine(e, Infinity, false)}\n`);
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
        const line = progressLine(e, columns - 1);
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
