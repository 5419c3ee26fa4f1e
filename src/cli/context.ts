// What main.ts hands every command: the abort signal (SIGINT/SIGTERM) and the terminal.
export interface CommandContext {
  signal: AbortSignal;
  /** Asks a yes/no question on the terminal; false when there is no terminal. */
  confirm(question: string): Promise<boolean>;
}
