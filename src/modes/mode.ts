import type { Settings } from '../inputs/settings.js'
import type { Reporter } from '../report/reporter.js'

/** What a mode hands back: outputs to set and, when it failed, why. Summaries go out as it runs. */
export interface ModeResult {
  readonly outputs: Readonly<Record<string, string>>
  /** Set when the run must fail the step; the text says what went wrong and what to do. */
  readonly failure?: string
}

export type ModeRunner = (settings: Settings, reporter: Reporter) => Promise<ModeResult>
