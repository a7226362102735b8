// report-issue: a scheduled check keeps one GitHub issue per domain up to date. It opens the issue when
// the site fails, comments while it keeps failing, and comments and closes it when the site recovers.
// The issue is found by a fixed label and a marker with the domain in its body, so one repository can
// watch several sites.

import { getOctokit } from '@actions/github'
import type { SiteReport } from '../check/site-report.js'
import { certificateTableMarkdown, checksTableMarkdown } from './site-summary.js'

/** The label of the health issues commento-deploy opens (GitHub creates it with the first issue). */
export const HEALTH_ISSUE_LABEL = 'commento-deploy-health'

export interface IssueReportOptions {
  /** A token with `issues: write` on the repository. */
  readonly token: string
  /** `owner/name`, as GITHUB_REPOSITORY gives it. */
  readonly repository: string
  /** The domain the report is about: one issue per domain. */
  readonly domain: string
  readonly report: SiteReport
  /** A link to the workflow run, when there is one. */
  readonly runUrl: string
}

export type IssueReportOutcome =
  | {
      readonly action: 'opened' | 'commented' | 'closed'
      readonly issueNumber: number
      readonly issueUrl: string
    }
  | { readonly action: 'none' }

/** The GitHub API refused or failed; the message says what to change. */
export class IssueReportError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IssueReportError'
  }
}

interface Issue {
  readonly number: number
  readonly html_url: string
  readonly body?: string | null
  readonly pull_request?: unknown
}

export function issueMarker(domain: string): string {
  return `<!-- commento-deploy-health: ${domain} -->`
}

export async function reportSiteToIssue(options: IssueReportOptions): Promise<IssueReportOutcome> {
  const [owner, repo, ...rest] = options.repository.split('/')
  if (!owner || !repo || rest.length > 0)
    throw new IssueReportError(
      `report-issue needs the repository as owner/name (GITHUB_REPOSITORY), got "${options.repository}".`,
    )
  const octokit = getOctokit(options.token)
  const call = async <T>(step: string, work: () => Promise<{ data: T }>): Promise<T> => {
    try {
      return (await work()).data
    } catch (error) {
      throw new IssueReportError(explainApiError(error, step, options.repository))
    }
  }

  const marker = issueMarker(options.domain)
  const openIssues = await call('list the open health issues', () =>
    octokit.rest.issues.listForRepo({
      owner,
      repo,
      labels: HEALTH_ISSUE_LABEL,
      state: 'open',
      per_page: 100,
    }),
  )
  const existing = (openIssues as Issue[])
    .filter((issue) => !issue.pull_request && issue.body?.includes(marker))
    .sort((a, b) => a.number - b.number)[0]
  const { report } = options

  if (report.status === 'unhealthy') {
    if (existing) {
      await call(`comment on issue #${existing.number}`, () =>
        octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: existing.number,
          body: stillFailingComment(options),
        }),
      )
      return { action: 'commented', issueNumber: existing.number, issueUrl: existing.html_url }
    }
    const created = await call('open an issue', () =>
      octokit.rest.issues.create({
        owner,
        repo,
        title: issueTitle(options.domain),
        body: issueBody(options),
        labels: [HEALTH_ISSUE_LABEL],
      }),
    )
    return { action: 'opened', issueNumber: created.number, issueUrl: created.html_url }
  }

  if (!existing) return { action: 'none' }
  await call(`comment on issue #${existing.number}`, () =>
    octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: existing.number,
      body: recoveredComment(options),
    }),
  )
  await call(`close issue #${existing.number}`, () =>
    octokit.rest.issues.update({
      owner,
      repo,
      issue_number: existing.number,
      state: 'closed',
      state_reason: 'completed',
    }),
  )
  return { action: 'closed', issueNumber: existing.number, issueUrl: existing.html_url }
}

export function issueTitle(domain: string): string {
  return `commento-deploy: ${domain} is unhealthy`
}

function failingNames(report: SiteReport): string {
  return report.checks
    .filter((check) => check.verdict === 'fail')
    .map((check) => `\`${check.name}\``)
    .join(', ')
}

function runLink(runUrl: string): string {
  return runUrl ? `[the workflow run](${runUrl})` : 'a run outside GitHub Actions'
}

function details(report: SiteReport): string {
  const parts = [checksTableMarkdown(report.checks)]
  if (report.certificate) parts.push(certificateTableMarkdown(report.certificate))
  return parts.join('\n\n')
}

export function issueBody(options: IssueReportOptions): string {
  const { report } = options
  return [
    marker(options),
    `The check of ${report.url} failed: ${failingNames(report)} (found by ${runLink(options.runUrl)}).`,
    details(report),
    `commento-deploy comments here on every check that still fails, and closes this issue when ${options.domain} is healthy again.`,
  ].join('\n\n')
}

export function stillFailingComment(options: IssueReportOptions): string {
  return [
    `Still unhealthy: ${failingNames(options.report)} (${runLink(options.runUrl)}).`,
    details(options.report),
  ].join('\n\n')
}

export function recoveredComment(options: IssueReportOptions): string {
  return [
    `✅ ${options.report.url} is healthy again (${runLink(options.runUrl)}): closing.`,
    details(options.report),
  ].join('\n\n')
}

function marker(options: IssueReportOptions): string {
  return issueMarker(options.domain)
}

/** A message that names what GitHub refused and what to change; never the token. */
export function explainApiError(error: unknown, step: string, repository: string): string {
  const status = (error as { status?: unknown }).status
  const detail = String((error as Error).message ?? error).split('\n')[0]
  switch (status) {
    case 401:
      return `report-issue: GitHub rejected the token (401) when trying to ${step} in ${repository}: check the github-token input.`
    case 403:
      return `report-issue: GitHub refused to ${step} in ${repository} (403: ${detail}): the token needs the \`issues: write\` permission — add \`permissions: issues: write\` to the job, or pass a github-token that has it.`
    case 404:
      return `report-issue: GitHub answered 404 when trying to ${step} in ${repository}: the repository does not exist or the token cannot see it.`
    case 410:
      return `report-issue: issues are disabled in ${repository} (410): enable them in the repository's settings, or set report-issue: false.`
    default:
      return `report-issue: could not ${step} in ${repository}: ${typeof status === 'number' ? `${status} ` : ''}${detail}`
  }
}
