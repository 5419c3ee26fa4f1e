// The console's root: wires the daemon state, the UI state and the keymap, and lays out
// header (2 lines), the screen, and footer (2 lines) in exactly the terminal's size.
import { Box, type Key, useApp, useStdin } from 'ink';
import { useEffect, useMemo, useRef } from 'react';
import type { TuiClient } from '../client.js';
import { decodeKeys } from '../key-burst.js';
import { keyToIntent } from '../keymap.js';
import { imageRows, jobRows, machineRows, rowKeys, scheduleRows, selectedIndex } from '../selectors.js';
import type { TermCaps } from '../terminal.js';
import { ThemeContext, makeTheme } from '../theme.js';
import type { UiState } from '../ui-state.js';
import { useCommands, type Selection } from '../use-commands.js';
import { type DaemonOptions, useDaemon } from '../use-daemon.js';
import { useTerminalSize } from '../use-terminal-size.js';
import { useUi } from '../use-ui.js';
import { ApplianceScreen } from './ApplianceScreen.js';
import { Dialog } from './Dialog.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HelpOverlay } from './HelpOverlay.js';
import { ImagesScreen } from './ImagesScreen.js';
import { JobsScreen } from './JobsScreen.js';
import { MachinesScreen } from './MachinesScreen.js';
import { SchedulesScreen } from './SchedulesScreen.js';

export interface AppProps {
  client: TuiClient;
  caps: TermCaps;
  /** Called once when the operator quits, before Ink unmounts. */
  onQuit?: () => void;
  daemon?: DaemonOptions;
  /** How long a flash message stays, ms. */
  flashMs?: number;
}

export function App({ client, caps, onQuit, daemon: daemonOptions, flashMs = 8000 }: AppProps) {
  const theme = useMemo(() => makeTheme(caps), [caps]);
  const { columns, rows: height } = useTerminalSize();
  const daemon = useDaemon(client, daemonOptions);
  const { ui, dispatch, current } = useUi();
  const { exit } = useApp();
  const commands = useCommands(client, daemon, dispatch);
  const { data } = daemon;
  const filter = ui.filter[ui.screen];
  const now = Date.now();

  const mRows = useMemo(() => machineRows(data, ui.filter.machines), [data, ui.filter.machines]);
  const iRows = useMemo(() => imageRows(data, ui.filter.images), [data, ui.filter.images]);
  const jRows = useMemo(() => jobRows(data, ui.filter.jobs), [data, ui.filter.jobs]);
  const sRows = useMemo(() => scheduleRows(data, ui.filter.schedules), [data, ui.filter.schedules]);
  const selectedOf = (u: UiState) => selectedIndex(rowKeys(u.screen, data, u.filter[u.screen]), u.selectedKey[u.screen], u.selected[u.screen]);
  const selected = selectedOf(ui);
  /** The selected row as of the latest key, not the latest render. */
  const selectionOf = (u: UiState): Selection => {
    const i = selectedOf(u);
    const f = u.filter[u.screen];
    if (u.screen === 'machines') return { screen: 'machines', row: machineRows(data, f)[i] };
    if (u.screen === 'images') return { screen: 'images', row: imageRows(data, f)[i] };
    if (u.screen === 'jobs') return { screen: 'jobs', row: jobRows(data, f)[i] };
    if (u.screen === 'schedules') return { screen: 'schedules', row: scheduleRows(data, f)[i] };
    return { screen: 'appliance' };
  };

  const machineName = ui.screen === 'machines' && mRows[selected]?.kind === 'machine' ? (mRows[selected] as Extract<(typeof mRows)[number], { kind: 'machine' }>).machine.name : null;
  const { loadMachine } = daemon;
  useEffect(() => {
    if (machineName) void loadMachine(machineName);
  }, [machineName, data.loadedAt, loadMachine]);

  useEffect(() => {
    if (!ui.flash) return;
    const t = setTimeout(() => dispatch({ type: 'flash', flash: null }), flashMs);
    return () => clearTimeout(t);
  }, [ui.flash, flashMs]);

  // Ink re-attaches a useInput handler only after the render's effects ran: keys read the
  // handler of the latest render through a ref instead, so they never see stale data.
  const onKey = useRef<(input: string, key: Key) => void>(() => {});
  const quitting = useRef(false);
  onKey.current = (input, key) => {
    const u = current();
    const intent = keyToIntent(u, input, key);
    if (!intent) return;
    switch (intent.type) {
      case 'quit':
        quitting.current = true;
        onQuit?.();
        exit();
        return;
      case 'ui':
        dispatch(intent.action);
        return;
      case 'move': {
        const keys = rowKeys(u.screen, data, u.filter[u.screen]);
        const index = Math.max(0, Math.min(keys.length - 1, selectedOf(u) + intent.delta));
        dispatch({ type: 'select', index, key: keys[index] ?? null });
        return;
      }
      case 'open':
        dispatch({ type: 'details', show: !u.details });
        return;
      case 'act':
        void commands.act(intent.key, selectionOf(u));
        return;
      case 'submit':
        if (u.dialog) void commands.submit(u.dialog);
        return;
      case 'answer':
        if (u.dialog) void commands.answer(u.dialog, intent.yes);
        return;
    }
  };
  // What the terminal sent, decoded here (key-burst.ts): keys read together ("jjjj", Esc
  // and the key after it) are handled one by one, in order.
  const { internal_eventEmitter: input, setRawMode } = useStdin();
  useEffect(() => {
    setRawMode(true);
    const onInput = (raw: string) => {
      for (const k of decodeKeys(raw)) {
        if (quitting.current) return;
        onKey.current(k.input, k.key);
      }
    };
    input.on('input', onInput);
    return () => {
      input.off('input', onInput);
      setRawMode(false);
    };
  }, [input, setRawMode]);

  const bodyHeight = Math.max(3, height - 4);
  const props = { data, selected, width: columns, height: bodyHeight, details: ui.details };
  let body: React.ReactNode;
  if (ui.dialog) body = <Dialog dialog={ui.dialog} width={columns} height={bodyHeight} />;
  else if (ui.help) body = <HelpOverlay width={columns} height={bodyHeight} />;
  else if (ui.screen === 'machines') body = <MachinesScreen {...props} rows={mRows} now={now} />;
  else if (ui.screen === 'images') body = <ImagesScreen {...props} rows={iRows} />;
  else if (ui.screen === 'jobs') body = <JobsScreen {...props} rows={jRows} />;
  else if (ui.screen === 'schedules') body = <SchedulesScreen {...props} rows={sRows} />;
  else body = <ApplianceScreen data={data} width={columns} height={bodyHeight} />;

  return (
    <ThemeContext.Provider value={theme}>
      <Box flexDirection="column" width={columns} height={height} overflow="hidden">
        <Header screen={ui.screen} connection={data.connection} width={columns} filter={filter} filtering={ui.filtering} />
        <Box height={bodyHeight} flexDirection="column" overflow="hidden">
          {body}
        </Box>
        <Footer screen={ui.screen} flash={ui.flash} width={columns} dialog={ui.dialog !== null} />
      </Box>
    </ThemeContext.Provider>
  );
}
