// The Range header of a GET (RFC 9110 §14): one byte range of a file of `size` bytes.
// Several ranges are answered with the whole file (a server may ignore Range); a range
// that cannot be satisfied is 416. Pure: a header string in, a decision out.

export type RangeDecision =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number } // inclusive end
  | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return { kind: 'whole' }; // another unit: ignore the header
  const specs = (m[1] as string).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length !== 1) return { kind: 'whole' };
  const spec = /^(\d{0,15})-(\d{0,15})$/.exec(specs[0] as string);
  if (!spec) return { kind: 'whole' }; // malformed: ignore, as RFC 9110 allows
  const [, first, last] = spec as unknown as [string, string, string];
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // suffix: the last N bytes
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return { kind: 'whole' }; // invalid range-spec: ignore
  return { kind: 'partial', start, end };
}
