import * as core from '@actions/core'
import type { Reporter } from './reporter.js'

/** The Reporter of the GitHub Action: workflow commands, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. */
export function actionReporter(): Reporter {
  return {
    info: (message) => core.info(message),
    warning: (message) => core.warning(message),
    error: (message) => core.error(message),
    debug: (message) => core.debug(message),
    setSecret: (value) => core.setSecret(value),
    setOutput: (name, value) => core.setOutput(name, value),
    group: (title, work) => core.group(title, work),
    summary: async (markdown) => {
      // Without GITHUB_STEP_SUMMARY (a local run of the bundle) there is nowhere to write it.
      if (!process.env.GITHUB_STEP_SUMMARY) return
      await core.summary.addRaw(markdown, true).write()
    },
    setFailed: (message) => core.setFailed(message),
  }
}
