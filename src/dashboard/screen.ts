// The blessed layer of the wall dashboard: a screen, a blessed-contrib grid of widgets
// and a status line, drawn from the model's views. Nothing here decides anything: it
// lays out, paints the latest state, and rebuilds the widgets when the terminal resizes
// (blessed-contrib canvases size themselves only once, when attached).
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import type { GaugeElement, LineElement, LogElement, TableElement } from 'blessed-contrib';
import { type DashboardState, JOB_HEADERS, jobColumnWidths, jobRows, logLines, reductionLines, statusLine, storeGauge, throughputView } from './model.js';
import { brailleTable } from './ascii.js';
import { attentionLines, attentionTitle, gaugeInput, hourView, padForChart } from './panels.js';

export interface DashboardScreen {
  render(state: DashboardState): void;
  /** Leaves the alternate screen and gives the terminal back as it was. */
  destroy(): void;
}

export interface ScreenOptions {
  /** Called on `q`, Escape or Ctrl-C. */
  onQuit: () => void;
  noColor?: boolean;
  /** Plain ASCII (the Linux console, non-UTF-8 locales): detectCaps in src/tui/terminal.ts. */
  ascii?: boolean;
}

interface Widgets_ {
  root: Widgets.BoxElement;
  chart: LineElement;
  gauge: GaugeElement;
  reduction: Widgets.BoxElement;
  jobs: TableElement;
  log: LogElement;
  attention: LogElement;
}

export function createDashboardScreen(opts: ScreenOptions): DashboardScreen {
  const screen = blessed.screen({
    smartCSR: true,
    title: 'Lifeboat',
    warnings: false,
    autoPadding: true,
  });
  if (opts.noColor) withoutColor(screen);
  // Box lines as characters, never through the terminal's alternate character set: tmux
  // and the Linux console do not all switch to it (tmux showed "lqqk" for "┌──┐"). On a
  // UTF-8 terminal they are Unicode; on any other blessed draws them in ASCII (+ - |).
  const tput = (screen as unknown as { tput: { brokenACS: boolean; unicode: boolean; numbers: Record<string, number>; utoa: Record<string, string> } }).tput;
  tput.brokenACS = true;
  // The console's rule (src/tui/terminal.ts): TERM=linux, or a locale that is not UTF-8, gets ASCII.
  if (opts.ascii) {
    tput.unicode = false;
    tput.numbers.U8 = 0;
    // The chart's braille dots as | _ - * instead of "?".
    tput.utoa = { ...tput.utoa, ...brailleTable() };
  }
  screen.key(['q', 'C-c', 'escape'], () => opts.onQuit());

  const status = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: '100%', tags: false, style: { fg: 'white', bg: 'blue' } });
  let widths: number[] = [];
  let w = build();
  let last: DashboardState | null = null;

  function build(): Widgets_ {
    const root = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%-1' });
    // Colours are always asked for; NO_COLOR strips them where the screen writes them.
    const grid = new contrib.grid({ rows: 12, cols: 12, screen: root });
    // A gauge draws its bar on its 3rd and 4th inner lines: below 30 lines it gets more rows.
    // Below 30 lines the chart gives a row to the events and attention panels.
    const r = (screen.height as number) < 30 ? { chart: 6, gauge: 4, jobs: 3 } : { chart: 6, gauge: 3, jobs: 3 };
    const chart = grid.set(0, 0, r.chart, 8, contrib.line, {
      label: ' Throughput, MB/s over the last hour ',
      style: { line: 'yellow', text: 'green', baseline: 'white' },
      xLabelPadding: 3,
      xPadding: 5,
      showLegend: false,
    });
    // The y axis's unit, below its numbers beside the time labels (blessed-contrib has no axis title).
    blessed.box({ parent: chart, bottom: 1, left: 0, width: 4, height: 1, content: 'MB/s', tags: false, style: { fg: 'green' } });
    const gauge = grid.set(0, 8, r.gauge, 4, contrib.gauge, { label: ' Store ', stroke: 'green', fill: 'white' });
    const reduction = grid.set(r.gauge, 8, r.chart - r.gauge, 4, blessed.box, { label: ' Dedup + LZ4 ', tags: false, padding: { left: 1 } });
    // The table's rows are its width − 3 (border and a left margin).
    widths = jobColumnWidths(Math.max(20, (screen.width as number) - 3));
    const jobs = grid.set(r.chart, 0, r.jobs, 12, contrib.table, { label: ' Running jobs ', columnWidth: widths, columnSpacing: 2, interactive: false, fg: 'white', keys: false });
    const log = grid.set(r.chart + r.jobs, 0, 12 - r.chart - r.jobs, 7, contrib.log, { label: ' Recent events ', bufferLength: 200, tags: false, fg: 'green' });
    const attention = grid.set(r.chart + r.jobs, 7, 12 - r.chart - r.jobs, 5, contrib.log, { label: ' Attention ', bufferLength: 100, tags: false, fg: 'red' });
    return { root, chart, gauge, reduction, jobs, log, attention };
  }

  function paint(state: DashboardState): void {
    const live = throughputView(state);
    const hour = hourView(state.history, Date.now(), live.now * 1e6);
    w.chart.options.maxY = hour.maxY;
    const title = ` Throughput, MB/s over the last hour: ${live.now.toFixed(1)} now, peak ${hour.peak.toFixed(1)} `;
    w.chart.setLabel((w.chart.width as number) - 4 >= title.length ? title : ` MB/s, last hour: ${live.now.toFixed(1)} now `);
    const series = padForChart(hour, (w.chart as unknown as { canvasSize?: { width: number } }).canvasSize?.width ?? 0);
    w.chart.setData([{ title: 'all jobs', x: series.x, y: series.y }]);
    const g = storeGauge(state);
    w.gauge.setPercent(gaugeInput(g.percent));
    const full = ` Store: ${g.label} `;
    w.gauge.setLabel((w.gauge.width as number) - 4 >= full.length ? full : ` Store: ${g.short} `);
    w.reduction.setContent(reductionLines(state).join('\n'));
    const rows = jobRows(state, widths[1]);
    w.jobs.setData({ headers: JOB_HEADERS, data: rows.length ? rows : [['', 'no jobs running']] });
    const lines = logLines(state);
    w.log.setItems(lines.length ? lines : ['no events yet']);
    w.log.scrollTo(lines.length);
    const attention = attentionTitle(state.failed, state.overdue);
    w.attention.setLabel((w.attention.width as number) - 4 >= attention.length ? attention : attention.replace(' Attention: ', ' '));
    w.attention.setItems(attentionLines(state.failed, state.overdue));
    status.setContent(` ${statusLine(state)}`);
    screen.render();
  }

  screen.on('resize', () => {
    w.root.destroy();
    w = build();
    if (last) paint(last);
  });

  return {
    render(state) {
      last = state;
      paint(state);
    },
    destroy() {
      screen.destroy();
    },
  };
}

/**
 * NO_COLOR (https://no-color.org): before each draw every cell keeps bold, underline and
 * inverse but loses its colours; a cell with a background colour (a gauge's bar, the
 * status line) becomes inverse video so it still shows.
 */
function withoutColor(screen: Widgets.Screen): void {
  const s = screen as unknown as { lines: Array<Array<[number, string]>>; draw(start: number, end: number): void };
  const draw = s.draw.bind(screen);
  s.draw = (start: number, end: number) => {
    for (let y = start; y <= end; y++) {
      for (const cell of s.lines[y] ?? []) {
        const code = cell[0];
        const flags = ((code >> 18) & 0x1ff) | ((code & 0x1ff) !== 0x1ff ? 8 : 0);
        cell[0] = (flags << 18) | (0x1ff << 9) | 0x1ff;
      }
    }
    draw(start, end);
  };
}
