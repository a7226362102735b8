// The site check as Markdown: for the job summary, and (the verdict table) for the health issue.

import type { CertificateInfo, CheckResult, SiteReport, Verdict } from '../check/site-report.js'

const VERDICT_LABEL: Readonly<Record<Verdict, string>> = {
  pass: '✅ pass',
  warn: '⚠️ warn',
  fail: '❌ fail',
}

/** Text in a table cell: what the server sent must not become Markdown or HTML. */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ')
}

export function siteHeadline(report: SiteReport): string {
  return report.status === 'healthy'
    ? `✅ ${report.url} is healthy`
    : `❌ ${report.url} is unhealthy: ${report.checks
        .filter((check) => check.verdict === 'fail')
        .map((check) => check.name)
        .join(', ')}`
}

/** The checks: name, verdict, reason, and how long the probe behind each took. */
export function checksTableMarkdown(checks: readonly CheckResult[]): string {
  const rows = checks.map(
    (check) =>
      `| ${markdownCell(check.name)} | ${VERDICT_LABEL[check.verdict]} | ${markdownCell(check.reason)} | ${check.durationMs} ms |`,
  )
  return ['| Check | Verdict | Reason | Time |', '|---|---|---|---:|', ...rows].join('\n')
}

export function certificateTableMarkdown(certificate: CertificateInfo): string {
  const rows: [string, string][] = [
    ['Subject', certificate.subject],
    ['Issuer', certificate.issuer],
    ['Names (SANs)', certificate.sans.length > 0 ? certificate.sans.join(', ') : '(none)'],
    ['Not before', certificate.notBefore.toISOString()],
    ['Not after', certificate.notAfter.toISOString()],
    ['Days left', String(certificate.daysLeft)],
  ]
  return ['| Certificate | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${markdownCell(v)} |`)].join(
    '\n',
  )
}

function footnote(report: SiteReport): string | undefined {
  const parts: string[] = []
  if (report.attempts !== undefined && report.elapsedMs !== undefined)
    parts.push(
      `${report.attempts} ${report.attempts === 1 ? 'attempt' : 'attempts'} in ${(report.elapsedMs / 1000).toFixed(1)} s`,
    )
  if (report.traffic)
    parts.push(`${report.traffic.connections} connections, ${report.traffic.requests} requests`)
  return parts.length > 0 ? `Checked from the runner: ${parts.join('; ')}.` : undefined
}

/** The job summary of a site check. */
export function siteSummaryMarkdown(report: SiteReport): string {
  const sections = [`### ${markdownCell(siteHeadline(report))}`, checksTableMarkdown(report.checks)]
  sections.push(
    report.certificate ? certificateTableMarkdown(report.certificate) : 'No certificate was seen.',
  )
  const note = footnote(report)
  if (note) sections.push(note)
  return `${sections.join('\n\n')}\n`
}
