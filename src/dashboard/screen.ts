// The blessed layer of the wall dashboard: a screen, a blessed-contrib grid of widgets
// and a status line, drawn from the model's views. Nothing here decides anything: it
// lays out, paints the latest state, and rebuilds the widgets when the terminal resizes
// (blessed-contrib canvases size themselves only once, when attached).
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import type { GaugeElement, LineElement, LogElement, TableElement } from 'blessed-contrib';
import { type DashboardState, JOB_HEADERS, jobColumnWidths, jobRows, logLines, reductionLines, statusLine, storeGauge, throughputView } from './model.js';

export interface DashboardScreen {
  render(state: DashboardState): void;
  /** Leaves the alternate screen and gives the terminal back as it was. */
  destroy(): void;
}

export interface ScreenOptions {
  /** Called on `q`, Escape or Ctrl-C. */
  onQuit: () => void;
  noColor?: boolean;
}

interface Widgets_ {
  root: Widgets.BoxElement;
  chart: LineElement;
  gauge: GaugeElement;
  reduction: Widgets.BoxElement;
  jobs: TableElement;
  log: LogElement;
}

export function createDashboardScreen(opts: ScreenOptions): DashboardScreen {
  const screen = blessed.screen({
    smartCSR: true,
    title: 'Lifeboat',
    warnings: false,
    autoPadding: true,
  });
  if (opts.noColor) withoutColor(screen);
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
    const r = (screen.height as number) < 30 ? { chart: 7, gauge: 4, jobs: 3 } : { chart: 6, gauge: 3, jobs: 3 };
    const chart = grid.set(0, 0, r.chart, 8, contrib.line, {
      label: ' Throughput ',
      style: { line: 'yellow', text: 'green', baseline: 'white' },
      xLabelPadding: 3,
      xPadding: 5,
      showLegend: false,
    });
    const gauge = grid.set(0, 8, r.gauge, 4, contrib.gauge, { label: ' Store ', stroke: 'green', fill: 'white' });
    const reduction = grid.set(r.gauge, 8, r.chart - r.gauge, 4, blessed.box, { label: ' Dedup + LZ4 ', tags: false, padding: { left: 1 } });
    // The table's rows are its width − 3 (border and a left margin).
    widths = jobColumnWidths(Math.max(20, (screen.width as number) - 3));
    const jobs = grid.set(r.chart, 0, r.jobs, 12, contrib.table, { label: ' Running jobs ', columnWidth: widths, columnSpacing: 2, interactive: false, fg: 'white', keys: false });
    const log = grid.set(r.chart + r.jobs, 0, 12 - r.chart - r.jobs, 12, contrib.log, { label: ' Recent events ', bufferLength: 200, tags: false, fg: 'green' });
    return { root, chart, gauge, reduction, jobs, log };
  }

  function paint(state: DashboardState): void {
    const series = throughputView(state);
    w.chart.options.maxY = series.maxY;
    w.chart.setLabel(` Throughput ${series.now.toFixed(1)} MB/s now (last 3 minutes) `);
    w.chart.setData([{ title: 'all jobs', x: series.x, y: series.y }]);
    const g = storeGauge(state);
    w.gauge.setPercent(g.percent);
    const full = ` Store: ${g.label} `;
    w.gauge.setLabel((w.gauge.width as number) - 4 >= full.length ? full : ` Store: ${g.short} `);
    w.reduction.setContent(reductionLines(state).join('\n'));
    const rows = jobRows(state, widths[1]);
    w.jobs.setData({ headers: JOB_HEADERS, data: rows.length ? rows : [['', 'no jobs running']] });
    const lines = logLines(state);
    w.log.setItems(lines.length ? lines : ['no events yet']);
    w.log.scrollTo(lines.length);
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
