import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_KEY, charKey, splitKeys } from './key-burst.js';
import { keyToIntent } from './keymap.js';
import { initialUi, uiReducer } from './ui-state.js';

const k = (over = {}) => ({ ...NO_KEY, ...over });

describe('splitKeys', () => {
  it('four j read together are four j', () => {
    const keys = splitKeys('jjjj', k());
    assert.equal(keys.length, 4);
    for (const p of keys) assert.deepEqual(p, { input: 'j', key: k() });
  });

  it('Esc and the key after it in one read (Ink: that key with meta) are Esc, then the key', () => {
    const keys = splitKeys('j', k({ meta: true }));
    assert.deepEqual(keys.map((p) => [p.input, p.key.escape]), [['', true], ['j', false]]);
    assert.deepEqual(splitKeys('jk', k({ meta: true })).map((p) => p.input), ['', 'j', 'k']);
  });

  it('a lone key, an arrow, Esc itself and ctrl-c pass through unchanged', () => {
    assert.deepEqual(splitKeys('j', k()), [{ input: 'j', key: k() }]);
    assert.deepEqual(splitKeys('', k({ upArrow: true })), [{ input: '', key: k({ upArrow: true }) }]);
    assert.deepEqual(splitKeys('', k({ escape: true, meta: true })), [{ input: '', key: k({ escape: true, meta: true }) }]);
    assert.deepEqual(splitKeys('c', k({ ctrl: true })), [{ input: 'c', key: k({ ctrl: true }) }]);
  });

  it('control characters inside a burst become the keys they are', () => {
    assert.deepEqual(splitKeys('ab\r', k()).map((p) => [p.input, p.key.return]), [['a', false], ['b', false], ['', true]]);
    assert.equal(charKey('\x7f').key.backspace, true);
    assert.equal(charKey('\b').key.backspace, true);
    assert.equal(charKey('\t').key.tab, true);
    assert.deepEqual(charKey('\x03'), { input: 'c', key: k({ ctrl: true }) });
    assert.deepEqual(charKey('G'), { input: 'G', key: k({ shift: true }) });
    assert.deepEqual(splitKeys('é€', k()).map((p) => p.input), ['é', '€'], 'whole characters, not UTF-16 halves');
    assert.deepEqual(splitKeys('😀x', k()).map((p) => p.input), ['😀', 'x']);
  });

  it('any burst, split at any point, gives the same keys as its characters one by one', () => {
    const alphabet = ['j', 'k', 'q', '/', '\r', '\x7f', 'x', 'é', '3'];
    for (let n = 0; n < 200; n++) {
      const s = Array.from({ length: 1 + (n % 9) }, (_, i) => alphabet[(n * 7 + i * 3) % alphabet.length]).join('');
      const whole = splitKeys(s, k());
      const one = [...s].flatMap((ch) => [charKey(ch)]);
      assert.deepEqual(whole, one, JSON.stringify(s));
    }
  });

  it('driven through the keymap, "jjjj" moves four rows and Esc + / opens the filter after closing the help', () => {
    let ui = initialUi;
    let row = 0;
    for (const p of splitKeys('jjjj', k())) {
      const intent = keyToIntent(ui, p.input, p.key);
      if (intent?.type === 'move') row += intent.delta;
    }
    assert.equal(row, 4);
    ui = uiReducer(ui, { type: 'help', show: true });
    for (const p of splitKeys('/', k({ meta: true }))) {
      const intent = keyToIntent(ui, p.input, p.key);
      if (intent?.type === 'ui') ui = uiReducer(ui, intent.action);
    }
    assert.equal(ui.help, false);
    assert.equal(ui.filtering, true);
  });
});
