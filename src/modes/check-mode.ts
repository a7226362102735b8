// `mode: check`: the site from outside — HTTPS, certificate, port 80, Commento — with a job summary,
// outputs, and (report-issue) one GitHub issue per domain kept up to date. Needs only `domain`.

import { siteUrl } from '../check/check-site.js'
import { checkSiteLogged, siteFailureMessage } from '../check/logged-site-check.js'
import { siteOutputs } from '../check/site-outputs.js'
import type { SiteCheckOptions, SiteReport } from '../check/site-report.js'
import type { Settings } from '../inputs/settings.js'
import {
  IssueReportError,
  type IssueReportOptions,
  type IssueReportOutcome,
  reportSiteToIssue,
} from '../report/issue-report.js'
import type { Reporter } from '../report/reporter.js'
import { siteSummaryMarkdown } from '../report/site-summary.js'
import { siteCheckOptions } from './dependencies.js'
import type { ModeResult, ModeRunner } from './mode.js'

export interface CheckModeDependencies {
  readonly checkSite?: (options: SiteCheckOptions, reporter: Reporter) => Promise<SiteReport>
  readonly reportToIssue?: (options: IssueReportOptions) => Promise<IssueReportOutcome>
  /**
   * The seam for diagnostics over SSH: called only when the check failed and SSH settings are given, it
   * returns Markdown about the server (unit state, container states, the failing service's last log
   * lines, free disk). modes/index.ts wires it to diagnostics.ts; without it there are none.
   */
  readonly collectDiagnostics?: (settings: Settings, reporter: Reporter) => Promise<string>
  /** Where GITHUB_REPOSITORY comes from. */
  readonly env?: NodeJS.ProcessEnv
}

export function createCheckMode(dependencies: CheckModeDependencies = {}): ModeRunner {
  const check = dependencies.checkSite ?? checkSiteLogged
  const reportToIssue = dependencies.reportToIssue ?? reportSiteToIssue
  const env = dependencies.env ?? process.env

  return async (settings, reporter): Promise<ModeResult> => {
    const options = siteCheckOptions(settings)
    const report = await reporter.group(`Check ${siteUrl(options)}`, () => check(options, reporter))
    const problems: string[] = report.status === 'unhealthy' ? [siteFailureMessage(report)] : []
    const summary = [siteSummaryMarkdown(report)]

    if (report.status === 'unhealthy' && settings.ssh && dependencies.collectDiagnostics) {
      const collect = dependencies.collectDiagnostics
      const diagnostics = await reporter.group(`Diagnostics from ${settings.ssh.host}`, async () => {
        try {
          return await collect(settings, reporter)
        } catch (error) {
          const message = `Diagnostics from ${settings.ssh?.host} could not be collected: ${errorText(error)}`
          reporter.warning(message)
          return message
        }
      })
      summary.push(`#### Diagnostics from the server\n\n${redact(diagnostics, settings)}\n`)
    }

    if (settings.reportIssue) {
      const issueLine = await reporter.group('Report to the health issue', () =>
        reportIssue(settings, report, reportToIssue, env, reporter, problems),
      )
      summary.push(`${issueLine}\n`)
    }

    await reporter.summary(summary.join('\n'))
    return {
      outputs: siteOutputs(report),
      ...(problems.length > 0 ? { failure: problems.join('\n') } : {}),
    }
  }
}

async function reportIssue(
  settings: Settings,
  report: SiteReport,
  reportToIssue: (options: IssueReportOptions) => Promise<IssueReportOutcome>,
  env: NodeJS.ProcessEnv,
  reporter: Reporter,
  problems: string[],
): Promise<string> {
  const repository = env.GITHUB_REPOSITORY ?? ''
  const fail = (message: string) => {
    reporter.error(message)
    problems.push(message)
    return `Health issue: not updated — ${message}`
  }
  if (!repository)
    return fail(
      'report-issue needs GITHUB_REPOSITORY (owner/name): set it when running outside GitHub Actions.',
    )
  if (!settings.githubToken)
    return fail("report-issue needs a token: give 'github-token' with issues: write.")
  try {
    const outcome = await reportToIssue({
      token: settings.githubToken,
      repository,
      domain: settings.domain,
      report,
      runUrl: settings.run.runUrl,
    })
    const line = describeOutcome(outcome)
    reporter.info(line)
    return line
  } catch (error) {
    if (error instanceof IssueReportError) return fail(error.message)
    return fail(`report-issue failed: ${errorText(error)}`)
  }
}

function describeOutcome(outcome: IssueReportOutcome): string {
  switch (outcome.action) {
    case 'none':
      return 'Health issue: none open, nothing to report.'
    case 'opened':
      return `Health issue: opened #${outcome.issueNumber} (${outcome.issueUrl}).`
    case 'commented':
      return `Health issue: still failing, commented on #${outcome.issueNumber} (${outcome.issueUrl}).`
    case 'closed':
      return `Health issue: healthy again, closed #${outcome.issueNumber} (${outcome.issueUrl}).`
  }
}

/**
 * The job summary is not masked by the runner the way the log is: every secret value of the settings is
 * starred out of text that came from the server before it goes there.
 */
function redact(text: string, settings: Settings): string {
  const secrets = [
    settings.ssh?.password,
    settings.ssh?.passphrase,
    settings.postgresPassword,
    settings.githubToken,
    ...settings.commentoEnv.filter((setting) => setting.secret).map((setting) => setting.value),
  ].filter((value): value is string => value !== undefined && value.length >= 4)
  return secrets
    .sort((a, b) => b.length - a.length)
    .reduce((masked, secret) => masked.split(secret).join('***'), text)
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
