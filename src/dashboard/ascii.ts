// The dashboard on a terminal without UTF-8 (the Linux console in a non-UTF-8 locale):
// blessed draws box lines in ASCII there, but its chart is drawn in braille dots, which
// would come out as "?". brailleAscii gives each braille cell the ASCII character closest
// to its dots, so the chart's axes and line still read: | for a vertical stroke, _ - '
// for dots on one row, * for anything else. Pure.

/** The ASCII stand-in for one braille cell (U+2800–U+28FF); undefined for anything else. */
export function brailleAscii(ch: string): string | undefined {
  const code = ch.codePointAt(0) ?? 0;
  if (ch.length !== 1 || code < 0x2800 || code > 0x28ff) return undefined;
  const dots = code - 0x2800;
  if (dots === 0) return ' ';
  const left = 0x01 | 0x02 | 0x04 | 0x40;
  const right = 0x08 | 0x10 | 0x20 | 0x80;
  const column = (dots & ~left) === 0 || (dots & ~right) === 0;
  const count = [...dots.toString(2)].filter((b) => b === '1').length;
  if (column && count >= 3) return '|';
  if ((dots & ~0x09) === 0) return "'";
  if ((dots & ~0x12) === 0 || (dots & ~0x24) === 0) return '-';
  if ((dots & ~0xc0) === 0) return '_';
  return '*';
}

/** Every braille cell and its stand-in, to add to blessed's Unicode-to-ASCII table. */
export function brailleTable(): Record<string, string> {
  const table: Record<string, string> = {};
  for (let c = 0x2800; c <= 0x28ff; c++) table[String.fromCharCode(c)] = brailleAscii(String.fromCharCode(c)) as string;
  return table;
}
