/**
 * Where a run's words go. The action writes through @actions/core (log commands, outputs, job summary);
 * the command-line tool writes to the terminal. Modes only ever talk to this interface.
 */
export interface Reporter {
  info(message: string): void
  warning(message: string): void
  error(message: string): void
  debug(message: string): void
  /** Registers a value that must never appear in any output. */
  setSecret(value: string): void
  setOutput(name: string, value: string): void
  /** Runs `work` inside a collapsible log group. */
  group<T>(title: string, work: () => Promise<T>): Promise<T>
  /** Appends Markdown to the job summary. */
  summary(markdown: string): Promise<void>
  setFailed(message: string): void
}
