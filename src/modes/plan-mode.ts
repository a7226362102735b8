// `mode: plan`: what a deploy would change, read from the server over one channel, changing nothing.
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import tarStream from 'tar-stream'
import type { Release } from '../release/release.js'
import { diffRelease, type FileChange } from '../release/release-diff.js'
import type { RemoteOutcome } from '../remote/remote-events.js'
import { remotePlanFor, STACK_LAYOUT } from '../remote/remote-plan.js'
import { markdownCell as cell } from '../report/site-summary.js'
import type { ModeDependencies } from './dependencies.js'
import type { ModeResult, ModeRunner } from './mode.js'
import { remoteFailureMessage, runPlan } from './remote-session.js'

/** The files of a tar (regular files only), by path without a leading `./`. */
export async function readTar(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  const extract = tarStream.extract()
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), Buffer.concat(chunks))
      next()
    })
    stream.resume()
  })
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
    Readable.from([tar]).pipe(extract)
  })
  return files
}

export interface PlanReport {
  readonly releaseId: string
  readonly currentId: string
  readonly files: readonly FileChange[]
  readonly volumesToCreate: readonly string[]
  readonly unitChange: 'install' | 'update' | 'none'
  readonly restart: string
  readonly warnings: readonly string[]
}

/** Pure: what the deploy would do, from the server's answers and the release that would be uploaded. */
export function planReport(
  outcome: RemoteOutcome,
  release: Release,
  currentFiles: ReadonlyMap<string, Buffer>,
  serverOnlyKeys: ReadonlySet<string>,
  force: boolean,
): PlanReport {
  const currentId = outcome.state.current && outcome.state.current !== '-' ? outcome.state.current : ''
  const compose = outcome.facts.get('compose')?.at(-1) ?? ''
  const unitPath = compose.startsWith('docker-compose') ? STACK_LAYOUT.unitV1 : STACK_LAYOUT.unitV2
  const unitFile = release.files.find((f) => f.path === unitPath)
  const unitHash = unitFile ? createHash('sha256').update(unitFile.content).digest('hex') : ''
  const installed = outcome.facts.get('unit-installed')?.at(-1) ?? 'none'
  const unitChange = installed === 'none' ? 'install' : installed === unitHash ? 'none' : 'update'
  const files = currentId === release.id ? [] : diffRelease(currentFiles, release, serverOnlyKeys)
  const active = outcome.state.active === 'active'
  const running = outcome.state.running === release.id
  const restart = !active
    ? 'yes: start the stack (it is not running)'
    : unitChange !== 'none'
      ? 'yes: restart (the unit changes)'
      : currentId !== release.id || !running
        ? 'yes: reload (Compose recreates only the services whose configuration changed)'
        : force
          ? 'yes: reload (force)'
          : 'no'
  return {
    releaseId: release.id,
    currentId,
    files,
    volumesToCreate: outcome.facts.get('volume-missing') ?? [],
    unitChange,
    restart,
    warnings: outcome.warnings,
  }
}

export function planMarkdown(report: PlanReport, domain: string): string {
  const lines = [
    `## commento-deploy: plan for https://${domain}`,
    '',
    `| | |`,
    `|---|---|`,
    `| Release | \`${report.releaseId}\` (on the server: \`${report.currentId || 'none'}\`) |`,
    `| Files | ${report.currentId === report.releaseId ? 'unchanged' : `${report.files.length} to change`} |`,
    `| Volumes to create | ${report.volumesToCreate.length ? report.volumesToCreate.join(', ') : 'none'} |`,
    `| Unit | ${report.unitChange === 'none' ? 'unchanged' : `${report.unitChange} commento.service`} |`,
    `| Restart | ${cell(report.restart)} |`,
    '',
  ]
  if (report.files.length) {
    lines.push(
      '| file | change |',
      '|---|---|',
      ...report.files.map((f) => `| \`${cell(f.path)}\` | ${f.change} |`),
      '',
    )
    for (const f of report.files) {
      if (f.detail)
        lines.push(
          `<details><summary>${f.path}</summary>`,
          '',
          '```diff',
          f.detail,
          '```',
          '',
          '</details>',
          '',
        )
    }
  }
  if (report.warnings.length) lines.push('### Warnings', '', ...report.warnings.map((w) => `- ${w}`), '')
  return lines.join('\n')
}

export function planMode(deps: ModeDependencies): ModeRunner {
  return async (settings, reporter): Promise<ModeResult> => {
    const release = await reporter.group('Render release', async () => deps.release.render(settings))
    const template = deps.release.postgresEnvTemplate()
    const plan = remotePlanFor(settings, 'plan', undefined, template)
    const session = await reporter.group('Connect', () => deps.connect(settings, reporter))
    let run: Awaited<ReturnType<typeof runPlan>>
    try {
      run = await runPlan(session, { ...plan, releaseId: release.id }, reporter)
    } finally {
      await session.close()
    }
    const failure = remoteFailureMessage(run, plan)
    if (failure) return { outputs: { url: `https://${settings.domain}/` }, failure }
    const currentTar = Buffer.from(run.outcome.currentTar.join(''), 'base64')
    const currentFiles = currentTar.length ? await readTar(currentTar) : new Map<string, Buffer>()
    // Settings the server appends itself (a generated Postgres password) are not a difference.
    const serverOnlyKeys = new Set(
      settings.postgresPassword === undefined
        ? [...template.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1] as string)
        : [],
    )
    const report = planReport(run.outcome, release, currentFiles, serverOnlyKeys, settings.force)
    await reporter.group('Plan', async () => {
      reporter.info(`release ${report.releaseId} (server: ${report.currentId || 'none'})`)
      for (const f of report.files) reporter.info(`${f.change}: ${f.path}${f.detail ? `\n${f.detail}` : ''}`)
      for (const v of report.volumesToCreate) reporter.info(`create volume ${v}`)
      if (report.unitChange !== 'none') reporter.info(`${report.unitChange} ${STACK_LAYOUT.unitName}`)
      reporter.info(`restart: ${report.restart}`)
    })
    await reporter.summary(planMarkdown(report, settings.domain))
    const changed =
      report.currentId !== report.releaseId || report.restart !== 'no' || report.volumesToCreate.length > 0
    return {
      outputs: {
        url: `https://${settings.domain}/`,
        changed: String(changed),
        release: report.releaseId,
        'previous-release': report.currentId,
      },
    }
  }
}
