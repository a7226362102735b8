import type { Reporter } from '../../src/report/reporter.js'

/** A Reporter that keeps every message, for assertions; `all()` is everything it was asked to print. */
export interface RecordingReporter extends Reporter {
  readonly infos: string[]
  readonly warnings: string[]
  readonly errors: string[]
  readonly debugs: string[]
  all(): string
}

export function recordingReporter(onInfo?: (message: string) => void): RecordingReporter {
  const infos: string[] = []
  const warnings: string[] = []
  const errors: string[] = []
  const debugs: string[] = []
  return {
    infos,
    warnings,
    errors,
    debugs,
    info: (message) => {
      infos.push(message)
      onInfo?.(message)
    },
    warning: (message) => warnings.push(message),
    error: (message) => errors.push(message),
    debug: (message) => debugs.push(message),
    setSecret: () => {},
    setOutput: () => {},
    group: (_title, work) => work(),
    summary: async () => {},
    setFailed: (message) => errors.push(message),
    all: () => [...infos, ...warnings, ...errors, ...debugs].join('\n'),
  }
}
