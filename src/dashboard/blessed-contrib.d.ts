// The parts of blessed-contrib 4.11 the wall dashboard uses (the package ships no types).
// Widgets are blessed boxes and lists with a setData of their own.
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  type Options = Record<string, unknown>;
  type Factory<W> = (options: Options) => W;

  export interface GridOptions {
    rows: number;
    cols: number;
    /** The node widgets are appended to: the screen, or a box (positions are percentages of it). */
    screen: Widgets.Node;
    hideBorder?: boolean;
    color?: string;
    dashboardMargin?: number;
  }

  export class grid {
    constructor(options: GridOptions);
    set<W>(row: number, col: number, rowSpan: number, colSpan: number, widget: Factory<W>, options: Options): W;
  }

  export interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }
  export interface LineElement extends Widgets.BoxElement {
    options: Options & { maxY?: number; minY?: number };
    setData(data: LineSeries[]): void;
  }

  export interface GaugeElement extends Widgets.BoxElement {
    /** 0–100 (values ≤ 1.001 are taken as fractions). */
    setPercent(percent: number): void;
  }

  export interface TableElement extends Widgets.BoxElement {
    setData(data: { headers: string[]; data: string[][] }): void;
  }

  export interface LogElement extends Widgets.ListElement {
    log(line: string): void;
  }

  export const line: Factory<LineElement>;
  export const gauge: Factory<GaugeElement>;
  export const table: Factory<TableElement>;
  export const log: Factory<LogElement>;

  const contrib: { grid: typeof grid; line: typeof line; gauge: typeof gauge; table: typeof table; log: typeof log };
  export default contrib;
}
