// The UI state with a synchronous view: keys can arrive several in one read (a paste, tmux
// send-keys, a fast typist), and each must see the state the previous one left, not the
// state of the last render. dispatch() applies the pure uiReducer at once and schedules a
// render; current() reads the latest state.
import { useCallback, useReducer, useRef } from 'react';
import { type UiAction, type UiState, initialUi, uiReducer } from './ui-state.js';

export function useUi(initial: UiState = initialUi): { ui: UiState; dispatch: (action: UiAction) => void; current: () => UiState } {
  const ref = useRef(initial);
  const [, render] = useReducer((n: number) => n + 1, 0);
  const dispatch = useCallback((action: UiAction) => {
    const next = uiReducer(ref.current, action);
    if (next === ref.current) return;
    ref.current = next;
    render();
  }, []);
  const current = useCallback(() => ref.current, []);
  return { ui: ref.current, dispatch, current };
}
