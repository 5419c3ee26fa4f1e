import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Key } from 'ink';
import { KEY_HELP, keyToIntent } from './keymap.js';
import { type UiState, initialUi, pick, uiReducer } from './ui-state.js';

const none: Key = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false };
const key = (over: Partial<Key> = {}): Key => ({ ...none, ...over });

describe('keyToIntent', () => {
  it('every single-character key the help names does something on a list screen', () => {
    const singles = KEY_HELP.flatMap(([k]) => k.split(/[ /]/)).filter((k) => k.length === 1 && k !== 'a' && !/[0-9]/.test(k));
    for (const k of [...singles, '1', '5']) assert.notEqual(keyToIntent(initialUi, k, key()), null, `key ${k}`);
  });

  it('q quits on a screen, but is a letter while filtering or typing a name', () => {
    assert.deepEqual(keyToIntent(initialUi, 'q', key()), { type: 'quit' });
    const filtering: UiState = { ...initialUi, filtering: true };
    assert.deepEqual(keyToIntent(filtering, 'q', key()), { type: 'ui', action: { type: 'filter-input', text: 'q' } });
    assert.deepEqual(keyToIntent(initialUi, 'c', key({ ctrl: true })), { type: 'quit' });
  });

  it('arrows and j/k move; numbers switch screens; esc closes a dialog', () => {
    assert.deepEqual(keyToIntent(initialUi, 'j', key()), { type: 'move', delta: 1 });
    assert.deepEqual(keyToIntent(initialUi, '', key({ upArrow: true })), { type: 'move', delta: -1 });
    assert.deepEqual(keyToIntent(initialUi, '3', key()), { type: 'ui', action: { type: 'screen', screen: 'jobs' } });
    const withDialog: UiState = { ...initialUi, dialog: { kind: 'notice', title: 't', lines: [] } };
    assert.deepEqual(keyToIntent(withDialog, '', key({ escape: true })), { type: 'ui', action: { type: 'dialog', dialog: null } });
    assert.equal(keyToIntent(withDialog, 'q', key()) === null || keyToIntent(withDialog, 'q', key())?.type === 'ui', true);
  });

  it('a confirm dialog only listens to y and n', () => {
    const d: UiState = { ...initialUi, dialog: { kind: 'confirm', title: 't', lines: [], command: { type: 'cancel-job', id: 'x' } } };
    assert.deepEqual(keyToIntent(d, 'y', key()), { type: 'answer', yes: true });
    assert.deepEqual(keyToIntent(d, 'n', key()), { type: 'answer', yes: false });
    assert.equal(keyToIntent(d, '', key({ return: true })), null);
    assert.equal(keyToIntent(d, 'q', key()), null);
  });

  it('erasing: one backspace or delete, or every DEL/BS byte of a burst (held or fast keys arrive as one input)', () => {
    const filtering: UiState = { ...initialUi, filtering: true, filter: { ...initialUi.filter, machines: 'desk-12' } };
    assert.deepEqual(keyToIntent(filtering, '', key({ backspace: true })), { type: 'ui', action: { type: 'filter-backspace', count: 1 } });
    assert.deepEqual(keyToIntent(filtering, '\x7f', key({ delete: true })), { type: 'ui', action: { type: 'filter-backspace', count: 1 } });
    const burst = keyToIntent(filtering, '\x7f\x7f\x7f', key());
    assert.deepEqual(burst, { type: 'ui', action: { type: 'filter-backspace', count: 3 } });
    if (burst?.type !== 'ui') throw new Error('unreachable');
    assert.equal(uiReducer(filtering, burst.action).filter.machines, 'desk');
    assert.equal(uiReducer(filtering, { type: 'filter-backspace', count: 99 }).filter.machines, '', 'never past the start');
    assert.equal(keyToIntent(filtering, '\x7fx', key()), null, 'a burst mixing erase and text is neither');
  });
});

describe('uiReducer', () => {
  it('moves within bounds and filters per screen', () => {
    let s = uiReducer(initialUi, { type: 'move', delta: 5, count: 3 });
    assert.equal(s.selected.machines, 2);
    s = uiReducer(s, { type: 'move', delta: -9, count: 3 });
    assert.equal(s.selected.machines, 0);
    s = uiReducer(uiReducer(s, { type: 'filter-start' }), { type: 'filter-input', text: 'pc' });
    s = uiReducer(s, { type: 'screen', screen: 'images' });
    assert.equal(s.filter.machines, 'pc');
    assert.equal(s.filter.images, '');
    assert.equal(s.filtering, false);
  });

  it('pick dialogs: cursor skips nothing, toggles refuse disabled choices with their reason', () => {
    const d = pick('t', 'backup-disks', [{ label: 'a', value: { kind: 'image', id: 'a' }, disabled: 'too small' }, { label: 'b', value: { kind: 'image', id: 'b' } }], { multi: true });
    let s = uiReducer(initialUi, { type: 'dialog', dialog: d });
    assert.equal(s.dialog?.kind === 'pick' && s.dialog.cursor, 1);
    s = uiReducer(s, { type: 'dialog-toggle', all: true });
    assert.deepEqual(s.dialog?.kind === 'pick' && s.dialog.chosen, [false, true]);
    s = uiReducer(s, { type: 'dialog-move', delta: -1 });
    s = uiReducer(s, { type: 'dialog-toggle' });
    assert.equal(s.dialog?.kind === 'pick' && s.dialog.error, 'too small');
  });
});
