// The console's root: wires the daemon state, the UI state and the keymap, and lays out
// header (2 lines), the screen, and footer (2 lines) in exactly the terminal's size.
import { Box, useApp, useInput } from 'ink';
import { useEffect, useMemo, useReducer } from 'react';
import type { TuiClient } from '../client.js';
import { keyToIntent } from '../keymap.js';
import { imageRows, jobRows, machineRows, rowCount, scheduleRows } from '../selectors.js';
import type { TermCaps } from '../terminal.js';
import { ThemeContext, makeTheme } from '../theme.js';
import { initialUi, uiReducer } from '../ui-state.js';
import { useCommands, type Selection } from '../use-commands.js';
import { type DaemonOptions, useDaemon } from '../use-daemon.js';
import { useTerminalSize } from '../use-terminal-size.js';
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
  const [ui, dispatch] = useReducer(uiReducer, initialUi);
  const { exit } = useApp();
  const commands = useCommands(client, daemon, dispatch);
  const { data } = daemon;
  const filter = ui.filter[ui.screen];
  const count = rowCount(ui.screen, data, filter);
  const selected = Math.min(ui.selected[ui.screen], Math.max(0, count - 1));
  const now = Date.now();

  const mRows = useMemo(() => machineRows(data, ui.filter.machines), [data, ui.filter.machines]);
  const iRows = useMemo(() => imageRows(data, ui.filter.images), [data, ui.filter.images]);
  const jRows = useMemo(() => jobRows(data, ui.filter.jobs), [data, ui.filter.jobs]);
  const sRows = useMemo(() => scheduleRows(data, ui.filter.schedules), [data, ui.filter.schedules]);
  const selection: Selection =
    ui.screen === 'machines' ? { screen: 'machines', row: mRows[selected] } : ui.screen === 'images' ? { screen: 'images', row: iRows[selected] } : ui.screen === 'jobs' ? { screen: 'jobs', row: jRows[selected] } : ui.screen === 'schedules' ? { screen: 'schedules', row: sRows[selected] } : { screen: 'appliance' };

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

  useInput((input, key) => {
    const intent = keyToIntent(ui, input, key);
    if (!intent) return;
    switch (intent.type) {
      case 'quit':
        onQuit?.();
        exit();
        return;
      case 'ui':
        dispatch(intent.action);
        return;
      case 'move':
        dispatch({ type: 'select', index: selected });
        dispatch({ type: 'move', delta: intent.delta, count });
        return;
      case 'open':
        dispatch({ type: 'details', show: !ui.details });
        return;
      case 'act':
        void commands.act(intent.key, selection);
        return;
      case 'submit':
        if (ui.dialog) void commands.submit(ui.dialog);
        return;
      case 'answer':
        if (ui.dialog) void commands.answer(ui.dialog, intent.yes);
        return;
    }
  });

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
