// What the operator is looking at: the screen, the selection and filter on each screen,
// the help overlay, a flash message, and at most one dialog. A pure reducer; keymap.ts
// turns keys into its actions, use-commands.ts turns dialog answers into API calls.
import type { NewJobBody } from '../api/contract.js';
import { type FormField, type FormPurpose, eraseFrom, typeInto } from './form.js';
import type { RestorePlan } from './restore-plan.js';

export const SCREENS = ['machines', 'images', 'jobs', 'schedules', 'appliance'] as const;
export type Screen = (typeof SCREENS)[number];
export const SCREEN_TITLES: Record<Screen, string> = { machines: 'Machines', images: 'Images', jobs: 'Jobs', schedules: 'Schedules', appliance: 'Appliance' };

/** An API call a dialog leads to, run by use-commands.ts once the operator agrees. */
export type Command =
  | { type: 'create-jobs'; bodies: NewJobBody[]; what: string }
  | { type: 'cancel-job'; id: string }
  | { type: 'remove-image'; id: string }
  | { type: 'remove-machine'; name: string }
  | { type: 'wake-machine'; name: string }
  | { type: 'set-machine-status'; name: string; status: 'ignored' | null }
  | { type: 'remove-schedule'; name: string };

export type PickValue = { kind: 'image'; id: string } | { kind: 'machine'; name: string } | { kind: 'device'; path: string } | { kind: 'disk'; machine: string; diskId: string } | { kind: 'option'; option: 'verify' | 'growLast' };
export type PickPurpose = 'backup-disks' | 'backup-device' | 'restore-image' | 'restore-target' | 'restore-disk' | 'restore-options';

export interface Choice {
  label: string;
  value: PickValue;
  /** Why it cannot be chosen, if it cannot. */
  disabled?: string;
}

export type Dialog =
  | { kind: 'confirm'; title: string; lines: string[]; command: Command }
  | { kind: 'notice'; title: string; lines: string[] }
  /** cursor -1: nothing chosen yet (a restore target is never chosen for the operator). */
  | { kind: 'pick'; title: string; purpose: PickPurpose; choices: Choice[]; cursor: number; multi: boolean; chosen: boolean[]; imageId?: string; plan?: Extract<RestorePlan, { verdict: 'same' | 'other' }>; error?: string }
  /** Text fields; cursor is the field being typed into. */
  | { kind: 'form'; title: string; lines: string[]; purpose: FormPurpose; fields: FormField[]; cursor: number; error?: string }
  | { kind: 'restore-confirm'; plan: Extract<RestorePlan, { verdict: 'same' | 'other' }>; typed: string; error?: string };

export interface Flash {
  text: string;
  kind: 'info' | 'error';
}

export interface UiState {
  screen: Screen;
  selected: Record<Screen, number>;
  /** The selected row's identity (job id, image id, machine name…): the selection follows
   * its row when the list reorders (a new job on top) instead of staying on a row number. */
  selectedKey: Record<Screen, string | null>;
  filter: Record<Screen, string>;
  /** The filter line has the keyboard. */
  filtering: boolean;
  help: boolean;
  /** The selected row's details fill the lower pane (enter toggles). */
  details: boolean;
  flash: Flash | null;
  dialog: Dialog | null;
}

const perScreen = <T>(v: T): Record<Screen, T> => ({ machines: v, images: v, jobs: v, schedules: v, appliance: v });

export const initialUi: UiState = { screen: 'machines', selected: perScreen(0), selectedKey: perScreen<string | null>(null), filter: perScreen(''), filtering: false, help: false, details: false, flash: null, dialog: null };

export type UiAction =
  | { type: 'screen'; screen: Screen }
  | { type: 'move'; delta: number; count: number }
  | { type: 'select'; index: number; key?: string | null }
  | { type: 'filter-start' }
  | { type: 'filter-input'; text: string }
  /** count: how many characters (keys typed fast arrive together). */
  | { type: 'filter-backspace'; count?: number }
  | { type: 'filter-end'; keep: boolean }
  | { type: 'help'; show: boolean }
  | { type: 'details'; show: boolean }
  | { type: 'flash'; flash: Flash | null }
  | { type: 'dialog'; dialog: Dialog | null }
  | { type: 'dialog-move'; delta: number }
  | { type: 'dialog-toggle'; all?: boolean }
  | { type: 'dialog-type'; text: string }
  | { type: 'dialog-backspace'; count?: number }
  | { type: 'dialog-error'; error: string };

const clamp = (i: number, count: number) => (count <= 0 ? 0 : Math.min(count - 1, Math.max(0, i)));

function onDialog(d: Dialog, action: UiAction): Dialog {
  switch (action.type) {
    case 'dialog-move':
      if (d.kind === 'form') return { ...d, cursor: clamp(d.cursor + action.delta, d.fields.length), error: undefined };
      return d.kind === 'pick' ? { ...d, cursor: clamp(d.cursor + action.delta, d.choices.length), error: undefined } : d;
    case 'dialog-toggle': {
      if (d.kind !== 'pick' || !d.multi) return d;
      if (action.all) {
        const every = d.choices.every((c, i) => c.disabled || d.chosen[i]);
        return { ...d, chosen: d.choices.map((c) => !c.disabled && !every) };
      }
      if (d.choices[d.cursor]?.disabled) return { ...d, error: d.choices[d.cursor]?.disabled };
      return { ...d, chosen: d.chosen.map((v, i) => (i === d.cursor ? !v : v)), error: undefined };
    }
    case 'dialog-type':
      if (d.kind === 'form') return { ...d, fields: typeInto(d.fields, d.cursor, action.text), error: undefined };
      return d.kind === 'restore-confirm' ? { ...d, typed: (d.typed + action.text).slice(0, 4096), error: undefined } : d;
    case 'dialog-backspace':
      if (d.kind === 'form') return { ...d, fields: eraseFrom(d.fields, d.cursor, action.count ?? 1), error: undefined };
      return d.kind === 'restore-confirm' ? { ...d, typed: d.typed.slice(0, Math.max(0, d.typed.length - (action.count ?? 1))), error: undefined } : d;
    case 'dialog-error':
      return d.kind === 'pick' || d.kind === 'restore-confirm' || d.kind === 'form' ? { ...d, error: action.error } : d;
    default:
      return d;
  }
}

export function uiReducer(state: UiState, action: UiAction): UiState {
  const s = state.screen;
  switch (action.type) {
    case 'screen':
      return { ...state, screen: action.screen, filtering: false, help: false, details: false };
    case 'move':
      return { ...state, selected: { ...state.selected, [s]: clamp(state.selected[s] + action.delta, action.count) }, selectedKey: { ...state.selectedKey, [s]: null } };
    case 'select':
      return { ...state, selected: { ...state.selected, [s]: Math.max(0, action.index) }, selectedKey: { ...state.selectedKey, [s]: action.key ?? null } };
    case 'filter-start':
      return { ...state, filtering: true };
    case 'filter-input':
      return { ...state, filter: { ...state.filter, [s]: state.filter[s] + action.text }, selected: { ...state.selected, [s]: 0 }, selectedKey: { ...state.selectedKey, [s]: null } };
    case 'filter-backspace':
      return { ...state, filter: { ...state.filter, [s]: state.filter[s].slice(0, Math.max(0, state.filter[s].length - (action.count ?? 1))) }, selected: { ...state.selected, [s]: 0 }, selectedKey: { ...state.selectedKey, [s]: null } };
    case 'filter-end':
      return { ...state, filtering: false, ...(action.keep ? {} : { filter: { ...state.filter, [s]: '' } }) };
    case 'help':
      return { ...state, help: action.show };
    case 'details':
      return { ...state, details: action.show };
    case 'flash':
      return { ...state, flash: action.flash };
    case 'dialog':
      return { ...state, dialog: action.dialog };
    default:
      return state.dialog ? { ...state, dialog: onDialog(state.dialog, action) } : state;
  }
}

/** Rows of a screen whose text contains the filter (case-insensitive). */
export function applyFilter<T>(rows: readonly T[], filter: string, text: (row: T) => string): T[] {
  const f = filter.trim().toLowerCase();
  return f ? rows.filter((r) => text(r).toLowerCase().includes(f)) : rows.slice();
}

/** A new pick dialog with nothing chosen and the cursor on the first choice that can be chosen. */
export function pick(title: string, purpose: PickPurpose, choices: Choice[], extra: { multi?: boolean; imageId?: string; cursor?: number; plan?: Extract<RestorePlan, { verdict: 'same' | 'other' }> } = {}): Dialog {
  const first = extra.cursor ?? Math.max(0, choices.findIndex((c) => !c.disabled));
  return { kind: 'pick', title, purpose, choices, cursor: first, multi: extra.multi ?? false, chosen: choices.map(() => false), ...(extra.imageId ? { imageId: extra.imageId } : {}), ...(extra.plan ? { plan: extra.plan } : {}) };
}

/** A form with the keyboard in its first field. */
export function form(title: string, lines: string[], purpose: FormPurpose, fields: FormField[]): Dialog {
  return { kind: 'form', title, lines, purpose, fields, cursor: 0 };
}
