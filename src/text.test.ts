import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import { escapeForTerminal, isSafeText, textProblem } from './text.js';

test('textProblem refuses control characters, bidi controls, separators and lone surrogates, naming the first', () => {
  const cases: Array<[string, RegExp | null]> = [
    ['office pc, 2nd disk — ünïcode ✓ 😀', null],
    ['C:\\Windows', null],
    ['a\nb', /line break \(U\+000A at position 2\).*one line/],
    ['lab\u001b[2J\u001b]0;PWN\u0007gel', /control character \(U\+001B at position 4\)/],
    ['tab\there', /a tab \(U\+0009/],
    ['del\u007f', /control character \(U\+007F/],
    ['c1\u009b31m', /control character \(U\+009B/],
    ['evil\u202etxt.exe', /bidirectional override \(U\+202E at position 5\)/],
    ['\u2066isolate', /bidirectional isolate \(U\+2066 at position 1\)/],
    ['line\u2028sep', /line separator/],
    ['half \ud83d', /lone UTF-16 surrogate/],
    ['\u0000', /control character \(U\+0000/],
  ];
  for (const [text, want] of cases) {
    const problem = textProblem(text, { max: 256 });
    if (want === null) assert.equal(problem, null, JSON.stringify(text));
    else assert.match(problem ?? '', want, JSON.stringify(text));
  }
  assert.equal(textProblem('two\nlines\tand a tab\u2028and U+2028', { max: 256, multiline: true }), null);
  assert.match(textProblem('still no \u001b', { max: 256, multiline: true }) ?? '', /U\+001B/);
  assert.match(textProblem('x'.repeat(257), { max: 256 }) ?? '', /257 characters long: keep it to 256/);
});

test('escapeForTerminal shows what a terminal would act on, and leaves clean text alone', () => {
  assert.equal(escapeForTerminal('lab\u001b[2J\u001b]0;PWN\u0007gel'), 'lab\\x1b[2J\\x1b]0;PWN\\x07gel');
  assert.equal(escapeForTerminal('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  assert.equal(escapeForTerminal('a\nb', { multiline: true }), 'a\nb');
  assert.equal(escapeForTerminal('evil\u202etxt'), 'evil\\u{202e}txt');
  assert.equal(escapeForTerminal('\u009b\u007f'), '\\x9b\\x7f');
  assert.equal(escapeForTerminal('bad \udc00 end'), 'bad \\u{dc00} end');
  for (const clean of ['', 'plain', 'ünïcode ✓ 😀 C:\\x', '日本語のラベル']) assert.equal(escapeForTerminal(clean), clean);
});

// Fuzz: strings drawn from an alphabet rich in the characters that matter, split surrogate
// pairs included. Whatever comes in, the escaped text is safe single-line text, escaping
// is a no-op on safe text, and textProblem never throws and agrees with isSafeText.
const ALPHABET = ['a', 'Z', '0', ' ', '\\', '[', ';', 'é', '✓', '\ud83d', '\ude00', '😀', '\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b', '\u200b', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\ufeff'];

test('fuzz: escaped output is always safe, and safe input is never changed', () => {
  for (let round = 0; round < 20000; round++) {
    let s = '';
    const n = randomInt(0, 24);
    for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    const escaped = escapeForTerminal(s);
    assert.equal(textProblem(escaped, { max: 1 << 20 }), null, JSON.stringify(s));
    const problem = textProblem(s, { max: 1 << 20 });
    assert.equal(isSafeText(s, { max: 1 << 20 }), problem === null);
    if (problem === null) assert.equal(escaped, s, JSON.stringify(s));
    else assert.notEqual(escaped, s, JSON.stringify(s));
    assert.equal(escapeForTerminal(s, { multiline: true }).split('\n').length, s.split('\n').length);
  }
});
