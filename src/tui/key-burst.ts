// Keys that arrive together, one at a time. A terminal read can hold several keys: four
// `j` sent in one write (tmux send-keys, a paste, a fast typist, a slow link) arrive as
// "jjjj", and Esc with the key after it as "\x1b/". Ink's useInput reports such a read as
// one key ("jjjj" as text; "\x1b/" as "/" with the Esc lost), so the console decodes the
// raw input itself: decodeKeys turns what was read into the keys that were pressed, each
// then handled against the state the one before it left. Pure.
import type { Key } from 'ink';

export interface KeyPress {
  input: string;
  key: Key;
}

export const NO_KEY: Key = Object.freeze({
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
});

const press = (input: string, over: Partial<Key> = {}): KeyPress => ({ input, key: { ...NO_KEY, ...over } });

/** The key one character of a burst stands for, as Ink would have reported it alone. */
export function charKey(ch: string): KeyPress {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === '\r' || ch === '\n') return press('', { return: true });
  if (ch === '\t') return press('', { tab: true });
  if (code === 0x7f || code === 0x08) return press('', { backspace: true });
  if (code === 0x1b) return press('', { escape: true, meta: true });
  // Other control characters are ctrl + their letter (0x03 is ctrl-c).
  if (code < 0x20) return press(String.fromCharCode(code + 0x60), { ctrl: true });
  return press(ch, /^[A-Z]$/.test(ch) ? { shift: true } : {});
}

const CSI_FINAL: Record<string, Partial<Key>> = { A: { upArrow: true }, B: { downArrow: true }, C: { rightArrow: true }, D: { leftArrow: true }, H: { home: true }, F: { end: true }, Z: { tab: true, shift: true } };
const CSI_TILDE: Record<string, Partial<Key>> = { '1': { home: true }, '7': { home: true }, '4': { end: true }, '8': { end: true }, '3': { delete: true }, '5': { pageUp: true }, '6': { pageDown: true } };

/**
 * The keys in what the terminal sent, in order: arrows, Home/End, PgUp/PgDn, Delete and
 * shift-Tab sequences (CSI and SS3 forms, modifiers ignored), Esc alone or before another
 * key (Esc then that key: the console has no Alt bindings), and every other character as
 * the key it is. A sequence it does not know is dropped, never typed as text.
 */
export function decodeKeys(raw: string): KeyPress[] {
  const keys: KeyPress[] = [];
  const chars = [...raw];
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i] as string;
    if (ch !== '\x1b') {
      keys.push(charKey(ch));
      i++;
      continue;
    }
    const next = chars[i + 1];
    if (next === '[') {
      let j = i + 2;
      while (j < chars.length && /[0-9;:<=>?]/.test(chars[j] as string)) j++;
      const final = chars[j];
      if (final === undefined || !/[@-~]/.test(final)) {
        i = j; // cut short: dropped
        continue;
      }
      const params = chars.slice(i + 2, j).join('');
      const named = final === '~' ? CSI_TILDE[params.split(';')[0] ?? ''] : CSI_FINAL[final];
      if (named) keys.push(press('', named));
      i = j + 1;
      continue;
    }
    if (next === 'O' && chars[i + 2] !== undefined) {
      const named = CSI_FINAL[chars[i + 2] as string];
      if (named) keys.push(press('', named));
      i += 3;
      continue;
    }
    keys.push(charKey('\x1b'));
    i++;
  }
  return keys;
}
