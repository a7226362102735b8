import type { Reporter } from './reporter.js'

export interface BufferedReporter extends Reporter {
  /** Writes what was held back to the target, in order, and forgets it. */
  replay(): void
}

/**
 * Holds back the log lines of work that runs alongside other work (so they do not land in another phase's
 * log group) until its result is used; secrets, outputs and the summary go straight to the target.
 */
export function bufferedReporter(target: Reporter): BufferedReporter {
  const held: Array<['info' | 'warning' | 'error' | 'debug', string]> = []
  return {
    info: (message) => held.push(['info', message]),
    warning: (message) => held.push(['warning', message]),
    error: (message) => held.push(['error', message]),
    debug: (message) => held.push(['debug', message]),
    setSecret: (value) => target.setSecret(value),
    setOutput: (name, value) => target.setOutput(name, value),
    group: (_title, work) => work(),
    summary: (markdown) => target.summary(markdown),
    setFailed: (message) => target.setFailed(message),
    replay() {
      for (const [level, message] of held.splice(0)) target[level](message)
    },
  }
}
