// Which columns the Jobs list shows at a given width, pure. The type, the target, the
// state (whole: "interrupted" is the longest shown), the percentage and the ETA always
// show; the rest is dropped, lowest priority first, when the terminal is narrow: MB/s,
// then the bar, then the LZ4 ratio, then new/reused. The target gets at least
// TARGET_MIN columns before any optional column, and what is left over after them.

export const TYPE_W = 7;
export const STATE_W = 11;
export const PCT_W = 4;
export const ETA_W = 7;
export const RATE_W = 12;
export const RATIO_W = 5;
export const NEW_REUSED_W = 11;
export const BAR_MIN = 6;
export const TARGET_MIN = 20;
export const TARGET_MAX = 32;

export interface JobColumns {
  type: number;
  target: number;
  state: number;
  /** 0: no bar. */
  bar: number;
  rate: boolean;
  ratio: boolean;
  newReused: boolean;
}

/** The columns for a list `width` wide (the row marker's two columns included). */
export function jobColumns(width: number): JobColumns {
  let room = width - 2 - (TYPE_W + 1) - (STATE_W + 1) - PCT_W - (ETA_W + 1);
  const target = Math.max(8, Math.min(TARGET_MIN, room - 1));
  room -= target + 1;
  // In priority order: once one does not fit, none after it shows either.
  let full = false;
  const take = (w: number) => {
    if (full || room < w + 1) return !(full = true);
    room -= w + 1;
    return true;
  };
  const rate = take(RATE_W);
  const bar = take(BAR_MIN) ? BAR_MIN : 0;
  const ratio = take(RATIO_W);
  const newReused = take(NEW_REUSED_W);
  // What is left widens the target (up to TARGET_MAX), then the bar.
  const extraTarget = Math.max(0, Math.min(TARGET_MAX - target, room));
  room -= extraTarget;
  return { type: TYPE_W, target: target + extraTarget, state: STATE_W, bar: bar ? bar + Math.max(0, room) : 0, rate, ratio, newReused };
}

/** The cells of a row (or the header) joined in column order, optional ones only when shown. */
export function joinCells(c: JobColumns, cells: { type: string; target: string; state: string; bar: string; pct: string; rate: string; ratio: string; newReused: string; eta: string }): string {
  const parts = [cells.type, cells.target, cells.state];
  if (c.bar) parts.push(cells.bar);
  parts.push(cells.pct);
  if (c.rate) parts.push(cells.rate);
  if (c.ratio) parts.push(cells.ratio);
  if (c.newReused) parts.push(cells.newReused);
  parts.push(cells.eta);
  return parts.join(' ');
}
