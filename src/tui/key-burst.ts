// Keys that arrive together, one at a time. Ink hands a handler one event per read: four
// `j` sent in one write (tmux send-keys, a paste, a fast typist, a slow link) arrive as
// the input "jjjj", and Esc followed by a key in the same read as that key "with meta".
// splitKeys turns such an event back into the keys that were pressed, so each one is
// handled against the state the one before it left. Pure; the console has no Alt bindings,
// so meta + a key always means Esc, then the key.
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

const isNamedKey = (k: Key) => k.upArrow || k.downArrow || k.leftArrow || k.rightArrow || k.pageDown || k.pageUp || k.home || k.end || k.return || k.tab || k.backspace || k.delete || k.escape;

/** The keys one Ink input event stands for, in the order they were pressed. */
export function splitKeys(input: string, key: Key): KeyPress[] {
  if (isNamedKey(key) || key.ctrl) return [{ input, key }];
  const chars = [...input];
  if (key.meta) {
    // ESC then the rest, read together: Esc, then each key after it.
    return chars.length ? [charKey('\x1b'), ...chars.map(charKey)] : [{ input, key }];
  }
  if (chars.length <= 1) return [{ input, key }];
  return chars.map(charKey);
}
