import * as core from '@actions/core'
import { actionReporter } from './report/action-reporter.js'
import { runWith } from './run-action.js'

/** The action's entry: reads INPUT_* through @actions/core and reports through the runner. */
export async function run(): Promise<void> {
  const code = await runWith((name) => core.getInput(name), actionReporter(), process.env)
  if (code !== 0) process.exitCode = code
}
