import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_KEY, charKey, decodeKeys } from './key-burst.js';
import { keyToIntent } from './keymap.js';
import { initialUi, uiReducer } from './ui-state.js';

const k = (over = {}) => ({ ...NO_KEY, ...over });

describe('decodeKeys', () => {
  it('four j read together are four j', () => {
    const keys = decodeKeys('jjjj');
    assert.equal(keys.length, 4);
    for (const p of keys) assert.deepEqual(p, { input: 'j', key: k() });
  });

  it('Esc and the key after it in one read are Esc, then the key, whatever the key', () => {
    for (const after of ['j', '/', '?', '3', 'q', 'é']) assert.deepEqual(decodeKeys(`\x1b${after}`).map((p) => [p.input, p.key.escape]), [['', true], [after, false]], after);
    assert.deepEqual(decodeKeys('\x1b\x1b').map((p) => p.key.escape), [true, true]);
    assert.deepEqual(decodeKeys('\x1b').map((p) => p.key.escape), [true]);
  });

  it('arrows, paging, Home/End, Delete and shift-Tab in CSI and SS3 forms, with modifiers, between other keys', () => {
    const named = (raw: string) => decodeKeys(raw).map((p) => Object.entries(p.key).filter(([, v]) => v).map(([n]) => n).join('+') || p.input);
    assert.deepEqual(named('\x1b[A\x1b[B\x1bOC\x1bOD'), ['upArrow', 'downArrow', 'rightArrow', 'leftArrow']);
    assert.deepEqual(named('\x1b[5~\x1b[6~\x1b[H\x1b[4~\x1b[3~\x1b[Z'), ['pageUp', 'pageDown', 'home', 'end', 'delete', 'shift+tab']);
    assert.deepEqual(named('j\x1b[1;5Ak'), ['j', 'upArrow', 'k']);
    assert.deepEqual(named('a\x1b[200~b'), ['a', 'b'], 'an unknown sequence is dropped, never typed');
    assert.deepEqual(named('\x1b[12'), [], 'a sequence cut short is dropped');
  });

  it('control characters become the keys they are; characters stay whole', () => {
    assert.deepEqual(decodeKeys('ab\r').map((p) => [p.input, p.key.return]), [['a', false], ['b', false], ['', true]]);
    assert.equal(charKey('\x7f').key.backspace, true);
    assert.equal(charKey('\b').key.backspace, true);
    assert.equal(charKey('\t').key.tab, true);
    assert.deepEqual(charKey('\x03'), { input: 'c', key: k({ ctrl: true }) });
    assert.deepEqual(charKey('G'), { input: 'G', key: k({ shift: true }) });
    assert.deepEqual(decodeKeys('é€😀x').map((p) => p.input), ['é', '€', '😀', 'x']);
  });

  it('gives the same keys however the bytes were split into reads (at key boundaries), and never throws on junk', () => {
    const parts = ['j', 'k', '\x1b[A', '\x1b/', '\r', '\x7f', 'é', '\x1bOB', '\x1b[5~', 'q'];
    for (let n = 0; n < 300; n++) {
      const seq = Array.from({ length: 1 + (n % 12) }, (_, i) => parts[(n * 7 + i * 3) % parts.length] as string);
      assert.deepEqual(decodeKeys(seq.join('')), seq.flatMap((p) => decodeKeys(p)), JSON.stringify(seq));
    }
    for (let n = 0; n < 2000; n++) {
      const junk = Array.from({ length: n % 40 }, (_, i) => String.fromCharCode(((n * 31 + i * 17) % 200) + (i % 3 === 0 ? 0 : 0x1b))).join('');
      for (const p of decodeKeys(junk)) assert.ok(typeof p.input === 'string' && !p.input.includes('\x1b'));
    }
  });

  it('through the keymap, "jjjj" moves four rows and Esc + / closes the help and opens the filter', () => {
    let ui = initialUi;
    let row = 0;
    for (const p of decodeKeys('jjjj')) {
      const intent = keyToIntent(ui, p.input, p.key);
      if (intent?.type === 'move') row += intent.delta;
    }
    assert.equal(row, 4);
    ui = uiReducer(ui, { type: 'help', show: true });
    for (const p of decodeKeys('\x1b/')) {
      const intent = keyToIntent(ui, p.input, p.key);
      if (intent?.type === 'ui') ui = uiReducer(ui, intent.action);
    }
    assert.equal(ui.help, false);
    assert.equal(ui.filtering, true);
  });
});
