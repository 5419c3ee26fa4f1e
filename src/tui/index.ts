// The operator console (`lifeboat tui`): an Ink 6 / React 19 full-screen client of the
// daemon's operator API.
//
// Invariants:
// - A client only: every list and every live figure comes from the daemon through an
//   injected TuiClient; the console keeps nothing on disk and any number run at once.
// - Quitting (q, ctrl-c, SIGTERM, SIGHUP) never cancels a job; only c + y does.
// - The daemon going away is a state, not an error: "reconnecting" with backoff, then
//   fetch everything and re-subscribe. The console even starts with no daemon (it shows
//   "reconnecting" rather than exiting 3), so a console on tty1 comes up before the daemon.
// - A restore onto anything but the image's own source disk is submitted only after the
//   operator typed the target's name; a target too small is refused before submitting.
// - The terminal is left as found: alternate screen, hidden cursor and raw mode are undone
//   on quit, on a crash and on signals (terminal.ts). Frames are diffed line by line
//   (frame-writer.ts): the screen is cleared only on start and resize.
// - Components are presentational; state lives in pure reducers (data-state, ui-state),
//   decisions in pure functions (keymap, selectors, restore-plan), effects in use-* hooks.
export { runTui, type TuiOptions } from './run.js';
export type { TuiClient } from './client.js';
