import * as core from '@actions/core'
import type { Reporter } from './reporter.js'

const MASK = '***'

/** The Reporter of the GitHub Action: workflow commands, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. */
export function actionReporter(): Reporter {
  // The runner masks registered secrets in the log it shows, but not in the bytes the action writes, nor
  // in the job summary: text that came from the server (an error that echoes a setting) is masked here.
  let secrets: string[] = []
  const redact = (text: string) => secrets.reduce((masked, secret) => masked.split(secret).join(MASK), text)
  return {
    info: (message) => core.info(redact(message)),
    warning: (message) => core.warning(redact(message)),
    error: (message) => core.error(redact(message)),
    debug: (message) => core.debug(redact(message)),
    setSecret: (value) => {
      core.setSecret(value)
      if (value !== '' && !secrets.includes(value))
        secrets = [...secrets, value].sort((a, b) => b.length - a.length)
    },
    setOutput: (name, value) => core.setOutput(name, redact(value)),
    group: (title, work) => core.group(redact(title), work),
    summary: async (markdown) => {
      // Without GITHUB_STEP_SUMMARY (a local run of the bundle) there is nowhere to write it.
      if (!process.env.GITHUB_STEP_SUMMARY) return
      await core.summary.addRaw(redact(markdown), true).write()
    },
    setFailed: (message) => core.setFailed(redact(message)),
  }
}
