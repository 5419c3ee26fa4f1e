// Keys → intents, as a pure function of the UI state: the one place that says what a key
// does where. The help overlay lists KEY_HELP, so the two cannot drift apart silently
// (keymap.test.ts presses every key KEY_HELP names).
import type { Key } from 'ink';
import { SCREENS, type UiAction, type UiState } from './ui-state.js';

export type ActionKey = 'b' | 'r' | 'w' | 'v' | 'd' | 'c' | 'a' | 'i' | 'n' | 'e';

export type Intent =
  | { type: 'ui'; action: UiAction }
  | { type: 'move'; delta: number }
  | { type: 'quit' }
  | { type: 'act'; key: ActionKey }
  | { type: 'open' }
  | { type: 'submit' }
  | { type: 'answer'; yes: boolean };

export const KEY_HELP: Array<[string, string]> = [
  ['1 2 3 4 5', 'Machines, Images, Jobs, Schedules, Appliance'],
  ['up/down j/k', 'move; PgUp/PgDn by ten, g/G first/last'],
  ['enter', 'open or close the details of the selected row'],
  ['/', 'filter the list (enter keeps it, esc clears it)'],
  ['b', 'back up the selected machine (choose disks) or docked disk'],
  ['r', 'restore: image -> target machine or docked disk -> disk'],
  ['n e', 'new machine; edit the selected one (name, MACs, group, notes)'],
  ['w', 'wake the selected machine (Wake-on-LAN)'],
  ['a i', 'approve or ignore a discovered machine (asks)'],
  ['v', 'verify the selected image'],
  ['d', 'delete the selected image, machine or schedule (asks)'],
  ['c', 'cancel the selected job (asks)'],
  ['space a', 'in a list dialog: choose one / all'],
  ['tab', 'in a form: next field (up/down too); enter saves'],
  ['esc', 'close a dialog or the details; clear the filter'],
  ['?', 'this help'],
  ['q', 'quit (jobs keep running in the daemon)'],
];

const ACTIONS = new Set<string>(['b', 'r', 'w', 'v', 'd', 'c', 'a', 'i', 'n', 'e']);
/**
 * How many characters a key press erases: one for backspace or delete, and one per DEL or
 * BS byte when several arrive in one read (held or fast keys: Ink then reports the bytes
 * as input and neither flag).
 */
function erased(input: string, key: Key): number {
  if (input.length > 1 && /^[\x7f\b]+$/.test(input)) return input.length;
  return key.backspace || key.delete ? 1 : 0;
}
const printable = (input: string, key: Key) => input.length > 0 && !key.ctrl && !key.meta && !key.return && !key.tab && !key.escape && ![...input].some((ch) => ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127);

export function keyToIntent(ui: UiState, input: string, key: Key): Intent | null {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  const up = key.upArrow || (input === 'k' && !ui.filtering);
  const down = key.downArrow || (input === 'j' && !ui.filtering);
  const d = ui.dialog;
  if (d) {
    if (key.escape) return { type: 'ui', action: { type: 'dialog', dialog: null } };
    if (d.kind === 'notice') return key.return || input === 'q' ? { type: 'ui', action: { type: 'dialog', dialog: null } } : null;
    if (d.kind === 'confirm') return input === 'y' || input === 'Y' ? { type: 'answer', yes: true } : input === 'n' || input === 'N' ? { type: 'answer', yes: false } : null;
    if (d.kind === 'pick') {
      if (key.upArrow || input === 'k') return { type: 'ui', action: { type: 'dialog-move', delta: -1 } };
      if (key.downArrow || input === 'j') return { type: 'ui', action: { type: 'dialog-move', delta: 1 } };
      if (input === ' ') return { type: 'ui', action: { type: 'dialog-toggle' } };
      if (input === 'a' && d.multi) return { type: 'ui', action: { type: 'dialog-toggle', all: true } };
      return key.return ? { type: 'submit' } : null;
    }
    if (d.kind === 'form') {
      if (key.return) return { type: 'submit' };
      if (key.tab || key.downArrow) return { type: 'ui', action: { type: 'dialog-move', delta: key.shift ? -1 : 1 } };
      if (key.upArrow) return { type: 'ui', action: { type: 'dialog-move', delta: -1 } };
      if (erased(input, key) > 0) return { type: 'ui', action: { type: 'dialog-backspace', count: erased(input, key) } };
      return printable(input, key) ? { type: 'ui', action: { type: 'dialog-type', text: input } } : null;
    }
    // restore-confirm
    if (d.plan.verdict === 'same') return input === 'y' || input === 'Y' ? { type: 'submit' } : input === 'n' || input === 'N' ? { type: 'answer', yes: false } : null;
    if (key.return) return { type: 'submit' };
    if (erased(input, key) > 0) return { type: 'ui', action: { type: 'dialog-backspace', count: erased(input, key) } };
    return printable(input, key) ? { type: 'ui', action: { type: 'dialog-type', text: input } } : null;
  }
  if (ui.help) return { type: 'ui', action: { type: 'help', show: false } };
  if (ui.filtering) {
    if (key.escape) return { type: 'ui', action: { type: 'filter-end', keep: false } };
    if (key.return) return { type: 'ui', action: { type: 'filter-end', keep: true } };
    if (erased(input, key) > 0) return { type: 'ui', action: { type: 'filter-backspace', count: erased(input, key) } };
    if (up || down) return { type: 'move', delta: up ? -1 : 1 };
    return printable(input, key) ? { type: 'ui', action: { type: 'filter-input', text: input } } : null;
  }
  if (input === 'q') return { type: 'quit' };
  const n = Number(input);
  if (input.length === 1 && n >= 1 && n <= SCREENS.length) return { type: 'ui', action: { type: 'screen', screen: SCREENS[n - 1] as UiState['screen'] } };
  if (up) return { type: 'move', delta: -1 };
  if (down) return { type: 'move', delta: 1 };
  if (key.pageUp) return { type: 'move', delta: -10 };
  if (key.pageDown) return { type: 'move', delta: 10 };
  if (input === 'g') return { type: 'move', delta: -1e9 };
  if (input === 'G') return { type: 'move', delta: 1e9 };
  if (key.return) return { type: 'open' };
  if (input === '/') return { type: 'ui', action: { type: 'filter-start' } };
  if (input === '?') return { type: 'ui', action: { type: 'help', show: true } };
  if (key.escape) return ui.details ? { type: 'ui', action: { type: 'details', show: false } } : { type: 'ui', action: { type: 'filter-end', keep: false } };
  if (ACTIONS.has(input)) return { type: 'act', key: input as ActionKey };
  return null;
}
