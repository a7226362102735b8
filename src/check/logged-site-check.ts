// checkSite with its progress in the log: each attempt that will be retried says what it waits for,
// and the verdict lists every check. Used by `mode: check`, and by the deploy after a restart.

import type { Reporter } from '../report/reporter.js'
import { checkSite, type SiteCheckHooks } from './check-site.js'
import type { CheckResult, SiteCheckOptions, SiteReport } from './site-report.js'

const MARK = { pass: '✅', warn: '⚠️', fail: '❌' } as const

export function checkLine(check: CheckResult): string {
  return `${MARK[check.verdict]} ${check.name}: ${check.reason} (${check.durationMs} ms)`
}

/** Runs the site check, logging each attempt that fails and then every check of the verdict. */
export async function checkSiteLogged(
  options: SiteCheckOptions,
  reporter: Reporter,
  hooks: SiteCheckHooks = {},
): Promise<SiteReport> {
  const report = await checkSite(options, {
    ...hooks,
    onAttempt(attempt, attemptReport) {
      hooks.onAttempt?.(attempt, attemptReport)
      const failing = attemptReport.checks.filter((check) => check.verdict === 'fail')
      if (failing.length === 0) return
      reporter.info(
        `Attempt ${attempt} (${((attemptReport.elapsedMs ?? 0) / 1000).toFixed(1)} s): ${failing
          .map((check) => `${check.name}: ${check.reason}`)
          .join('; ')}`,
      )
    },
  })
  for (const check of report.checks) {
    reporter.info(checkLine(check))
    if (check.verdict === 'warn') reporter.warning(`${check.name}: ${check.reason}`)
  }
  return report
}

/** The step's failure message: which checks failed, and why. */
export function siteFailureMessage(report: SiteReport): string {
  const failing = report.checks.filter((check) => check.verdict === 'fail')
  const waited = report.attempts && report.attempts > 1 ? ` (after ${report.attempts} attempts)` : ''
  return `${report.url} is unhealthy${waited}: ${failing.map((check) => `${check.name}: ${check.reason}`).join('; ')}`
}
