import { INPUTS } from './inputs/input-definitions.js'
import { type InputSource, parseInputs } from './inputs/input-helper.js'
import { MODE_RUNNERS } from './modes/index.js'
import type { Reporter } from './report/reporter.js'

/**
 * The whole run, shared by the action and the command-line tool: inputs → settings → mode → outputs.
 * Returns the process exit code (0 success, 1 failure).
 */
export async function runWith(
  source: InputSource,
  reporter: Reporter,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const masked = new Set<string>()
  const mask = (value: string) => {
    if (masked.has(value)) return
    masked.add(value)
    reporter.setSecret(value)
  }
  // Mask raw secret inputs first, so that nothing printed while parsing them can leak them.
  for (const def of INPUTS) {
    const value = def.secret ? source(def.name).trim() : ''
    if (value.length >= 4) mask(value)
  }
  try {
    const { settings, warnings, secrets } = parseInputs(source, env)
    for (const secret of secrets) mask(secret)
    for (const warning of warnings) reporter.warning(warning)
    const result = await MODE_RUNNERS[settings.mode](settings, reporter)
    for (const [name, value] of Object.entries(result.outputs)) reporter.setOutput(name, value)
    if (result.failure) {
      reporter.setFailed(result.failure)
      return 1
    }
    return 0
  } catch (error) {
    reporter.setFailed(error instanceof Error ? error.message : String(error))
    return 1
  }
}
