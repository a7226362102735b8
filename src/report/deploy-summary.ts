// The job summary of a deploy or rollback: what changed, each phase and how long it took, then the
// HTTPS check. Pure: Markdown from the run's outcome.

import type { SiteReport } from '../check/site-report.js'
import type { Settings } from '../inputs/settings.js'
import type { RemoteOutcome } from '../remote/remote-events.js'
import { markdownCell as cell, siteSummaryMarkdown } from './site-summary.js'

export interface DeploySummaryInput {
  readonly mode: 'deploy' | 'rollback'
  readonly settings: Settings
  readonly outcome: RemoteOutcome
  readonly localPhases: ReadonlyArray<{ name: string; ms: number }>
  readonly totalMs: number
  readonly releaseId: string
  readonly recreated: readonly string[]
  readonly site?: SiteReport
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

function resultLine(input: DeploySummaryInput): string {
  const { outcome, site } = input
  if (outcome.failure) return `❌ failed in the ${outcome.failure.phase} phase`
  if (outcome.facts.has('rolled-back')) return '↩️ rolled back: the new release failed its HTTPS check'
  if (site?.status === 'healthy')
    return outcome.changed ? '✅ deployed and healthy' : '✅ unchanged and healthy'
  if (site) return '❌ unhealthy'
  return '❔ not checked'
}

export function deploySummaryMarkdown(input: DeploySummaryInput): string {
  const { outcome, settings } = input
  const facts = (key: string) => outcome.facts.get(key) ?? []
  const previous = outcome.state.current && outcome.state.current !== '-' ? outcome.state.current : 'none'
  const rows: Array<[string, string]> = [
    ['Result', resultLine(input)],
    ['Site', `https://${settings.domain}`],
    [
      'Server',
      `${settings.ssh?.username}@${settings.ssh?.host}:${settings.ssh?.port} → ${settings.remoteDir}`,
    ],
    ['Release', `\`${input.releaseId || 'none'}\` (previous: \`${previous}\`)`],
    ['Changed', outcome.changed === undefined ? 'unknown' : outcome.changed ? 'yes' : 'no'],
  ]
  const action = facts('unit-action').at(-1)
  if (action) rows.push(['Unit', `systemctl ${action} commento.service`])
  // Compose v1 cannot list its containers as JSON: there the restart recreates everything anyway.
  if (outcome.changed && outcome.psAfter.length > 0) {
    rows.push(['Recreated services', input.recreated.length ? input.recreated.join(', ') : 'none'])
  }
  const created = facts('volume-created')
  if (created.length) rows.push(['Volumes created', created.join(', ')])
  const backup = facts('backup').at(-1)
  if (backup) rows.push(['Database backup', backup])
  const lines = [
    `## commento-deploy: ${input.mode}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`),
    '',
    '### Phases',
    '',
    '| phase | where | time |',
    '|---|---|---|',
    ...input.localPhases.map((p) => `| ${cell(p.name)} | runner | ${seconds(p.ms)} |`),
    ...outcome.phases.map(
      (p) =>
        `| ${cell(p.name)} | server | ${p.endedAt === undefined ? '—' : seconds(p.endedAt - p.startedAt)} |`,
    ),
    `| total | | ${seconds(input.totalMs)} |`,
    '',
  ]
  if (outcome.warnings.length) lines.push('### Warnings', '', ...outcome.warnings.map((w) => `- ${w}`), '')
  if (outcome.failure) {
    const f = outcome.failure
    lines.push(
      '### Failure',
      '',
      `Phase **${f.phase}**: ${f.message ?? ''}`,
      '',
      ...(f.command ? [`Command: \`${f.command}\` (exit code ${f.exitCode})`, ''] : []),
      ...(f.output.length ? ['```', ...f.output, '```', ''] : []),
    )
  }
  if (input.site) lines.push(siteSummaryMarkdown(input.site))
  return lines.join('\n')
}
