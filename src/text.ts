// The one policy for text that people type and other people read: labels, names, notes,
// hosts, serials. On the way in, textProblem() refuses what makes a terminal, a log or a
// datafile lie: control characters (ESC starts terminal commands, BEL, DEL, the C1 block),
// bidirectional overrides and isolates (U+202A–202E, U+2066–2069, which reorder what a
// reader sees) and broken UTF-16 (lone surrogates); tabs and line ends (\n, U+2028,
// U+2029) only where a field is multi-line. On the way out, escapeForTerminal()
// shows anything of that kind as a visible escape (\x1b, \u{202e}), so text stored before
// this policy, or read from a manifest someone else wrote, prints as what it is.
//
// Pure and dependency-free: the API contract (which the boot OS bundles), the engine, the
// management database and every renderer use this same file.

export interface TextRules {
  /** The most characters (UTF-16 code units, as JavaScript counts them) allowed. */
  max: number;
  /** Tabs and line feeds allowed (notes); never any other control character. */
  multiline?: boolean;
}

/** Characters refused in any text field and escaped on output (besides tab and line feed). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
/** Line ends: allowed only in multi-line fields (U+2028 and U+2029 are Unicode's own). */
const LINE_ENDS = /[\t\n\u2028\u2029]/;
// eslint-disable-next-line no-control-regex -- the same set, global, with tab and line feed
const UNSAFE_ALL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;

const codePoint = (c: string) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

function kindOf(c: string): string {
  const n = c.codePointAt(0) ?? 0;
  if (n >= 0x202a && n <= 0x202e) return 'a bidirectional override';
  if (n >= 0x2066 && n <= 0x2069) return 'a bidirectional isolate';
  if (n === 0x2028 || n === 0x2029) return 'a line separator';
  if (n >= 0xd800 && n <= 0xdfff) return 'a broken character (a lone UTF-16 surrogate)';
  if (n === 0x09) return 'a tab';
  if (n === 0x0a) return 'a line break';
  return 'a control character';
}

/**
 * Why `value` is not acceptable text under `rules`, or null when it is. The reason names
 * the first bad character and where it is, and says what to do.
 */
export function textProblem(value: string, rules: TextRules): string | null {
  if (value.length > rules.max) return `is ${value.length} characters long: keep it to ${rules.max}`;
  const bad = UNSAFE.exec(value) ?? (rules.multiline ? null : LINE_ENDS.exec(value));
  if (!bad) return null;
  const c = bad[0];
  return `contains ${kindOf(c)} (${codePoint(c)} at position ${bad.index + 1}): remove it${c === '\n' ? ' (this field is one line)' : ''}`;
}

/** True when `value` passes textProblem. */
export function isSafeText(value: string, rules: TextRules): boolean {
  return textProblem(value, rules) === null;
}

/**
 * `text` with every character a terminal would act on or hide shown as an escape instead:
 * \t \n \r as such, other C0 and C1 controls and DEL as \xHH, separators, bidi controls and
 * lone surrogates as \u{HHHH}. A backslash is left alone (C:\ reads as written). With
 * `multiline`, line feeds are kept. Clean text comes back unchanged.
 */
export function escapeForTerminal(text: string, opts: { multiline?: boolean } = {}): string {
  return text.replace(UNSAFE_ALL, (c) => {
    if (c === '\n') return opts.multiline ? c : '\\n';
    if (opts.multiline && (c === '\u2028' || c === '\u2029')) return c;
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const n = c.codePointAt(0) ?? 0;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}

/** escapeForTerminal for a value that may be missing: '' for null and undefined. */
export function shown(value: string | null | undefined): string {
  return value === null || value === undefined ? '' : escapeForTerminal(value);
}
