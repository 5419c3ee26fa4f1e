// The blessed layer of the wall dashboard: a screen, a blessed-contrib grid of widgets
// and a status line, drawn from the model's views. Nothing here decides anything: it
// lays out, paints the latest state, and rebuilds the widgets when the terminal resizes
// (blessed-contrib canvases size themselves only once, when attached).
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import type { GaugeElement, LineElement, LogElement, TableElement } from 'blessed-contrib';
import { type DashboardState, JOB_HEADERS, JOB_WIDTHS, jobRows, logLines, reductionLines, statusLine, storeGauge, throughputView } from './model.js';

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

  const status = blessed.box({ parent: screen, bottom: 0, left: 0, height: 1, width: '100%', tags: false, style: opts.noColor ? {} : { fg: 'white', bg: 'blue' } });
  const color = (c: string) => (opts.noColor ? undefined : c);
  let w = build();
  let last: DashboardState | null = null;

  function build(): Widgets_ {
    const root = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%-1' });
    const grid = new contrib.grid({ rows: 12, cols: 12, screen: root, ...(opts.noColor ? { color: 'default' } : {}) });
    const chart = grid.set(0, 0, 5, 8, contrib.line, {
      label: ' Throughput, MB/s (last 3 minutes) ',
      style: { line: color('yellow') ?? 'default', text: color('green') ?? 'default', baseline: color('black') ?? 'default' },
      xLabelPadding: 3,
      xPadding: 5,
      showLegend: false,
      wholeNumbersOnly: false,
    });
    const gauge = grid.set(0, 8, 2, 4, contrib.gauge, { label: ' Store usage ', stroke: color('green') ?? 'default', fill: color('white') ?? 'default' });
    const reduction = grid.set(2, 8, 3, 4, blessed.box, { label: ' Dedup + LZ4 reduction ', tags: false, padding: { left: 1 } });
    const jobs = grid.set(5, 0, 3, 12, contrib.table, {
      label: ' Running jobs ',
      columnWidth: JOB_WIDTHS,
      columnSpacing: 2,
      interactive: false,
      fg: color('white') ?? 'default',
      keys: false,
    });
    const log = grid.set(8, 0, 4, 12, contrib.log, { label: ' Recent events ', bufferLength: 200, tags: false, fg: color('green') ?? 'default' });
    return { root, chart, gauge, reduction, jobs, log };
  }

  function paint(state: DashboardState): void {
    const series = throughputView(state);
    w.chart.options.maxY = series.maxY;
    w.chart.setLabel(` Throughput ${series.now.toFixed(1)} MB/s now (last 3 minutes) `);
    w.chart.setData([{ title: 'all jobs', x: series.x, y: series.y, ...(opts.noColor ? {} : { style: { line: 'yellow' } }) }]);
    const g = storeGauge(state);
    w.gauge.setPercent(g.percent);
    w.gauge.setLabel(` Store: ${g.label} `);
    w.reduction.setContent(reductionLines(state).join('\n'));
    const rows = jobRows(state);
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
 * NO_COLOR (https://no-color.org): every attribute keeps bold, underline and inverse but
 * loses its colours; a background colour (a gauge's bar) becomes inverse video so bars
 * still show.
 */
function withoutColor(screen: Widgets.Screen): void {
  const s = screen as unknown as { codeAttr(code: number): string };
  const codeAttr = s.codeAttr.bind(screen);
  s.codeAttr = (code: number) => {
    let flags = (code >> 18) & 0x1ff;
    if ((code & 0x1ff) !== 0x1ff) flags |= 8;
    return codeAttr((flags << 18) | (0x1ff << 9) | 0x1ff);
  };
}
