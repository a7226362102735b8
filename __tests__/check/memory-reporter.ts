import type { Reporter } from '../../src/report/reporter.js'

/** A Reporter that keeps everything in memory, to assert on what a mode said. */
export interface MemoryReporter extends Reporter {
  /** Every call as "kind: text" in order; groups as "group: title" … "endgroup". */
  readonly lines: string[]
  readonly outputs: Record<string, string>
  readonly summaries: string[]
  readonly secrets: string[]
}

export function memoryReporter(): MemoryReporter {
  const lines: string[] = []
  const outputs: Record<string, string> = {}
  const summaries: string[] = []
  const secrets: string[] = []
  return {
    lines,
    outputs,
    summaries,
    secrets,
    info: (message) => void lines.push(`info: ${message}`),
    warning: (message) => void lines.push(`warning: ${message}`),
    error: (message) => void lines.push(`error: ${message}`),
    debug: (message) => void lines.push(`debug: ${message}`),
    setSecret: (value) => void secrets.push(value),
    setOutput: (name, value) => {
      outputs[name] = value
    },
    async group(title, work) {
      lines.push(`group: ${title}`)
      try {
        return await work()
      } finally {
        lines.push('endgroup')
      }
    },
    async summary(markdown) {
      summaries.push(markdown)
    },
    setFailed: (message) => void lines.push(`failed: ${message}`),
  }
}
