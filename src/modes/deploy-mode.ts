// `mode: deploy` and `mode: rollback`: change the server over one SSH channel, check HTTPS from the runner
// while the server waits, and roll back when the check fails.
import { createHash } from 'node:crypto'
import { siteOutputs } from '../check/site-outputs.js'
import type { SiteReport } from '../check/site-report.js'
import type { Settings } from '../inputs/settings.js'
import { recreatedServices } from '../remote/remote-events.js'
import { type ReleaseUpload, remotePlanFor } from '../remote/remote-plan.js'
import type { RemoteRunResult, Verdict } from '../remote/remote-run.js'
import { bufferedReporter } from '../report/buffered-reporter.js'
import { deploySummaryMarkdown } from '../report/deploy-summary.js'
import type { Reporter } from '../report/reporter.js'
import { type ModeDependencies, siteCheckOptions } from './dependencies.js'
import type { ModeResult, ModeRunner } from './mode.js'
import { remoteFailureMessage, runPlanSurvivingCut } from './remote-session.js'

export function deployMode(deps: ModeDependencies): ModeRunner {
  return (settings, reporter) => applyRemotely(settings, reporter, deps, 'deploy')
}

export function rollbackMode(deps: ModeDependencies): ModeRunner {
  return (settings, reporter) => applyRemotely(settings, reporter, deps, 'rollback')
}

async function applyRemotely(
  settings: Settings,
  reporter: Reporter,
  deps: ModeDependencies,
  mode: 'deploy' | 'rollback',
): Promise<ModeResult> {
  const started = deps.now()
  const localPhases: Array<{ name: string; ms: number }> = []
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const t0 = deps.now()
    try {
      return await reporter.group(name, work)
    } finally {
      localPhases.push({ name, ms: deps.now() - t0 })
    }
  }

  let upload: (ReleaseUpload & { tar: Buffer }) | undefined
  if (mode === 'deploy') {
    upload = await timed('Render release', async () => {
      const release = deps.release.render(settings)
      const tar = await deps.release.pack(release)
      const sha256 = createHash('sha256').update(tar).digest('hex')
      reporter.info(`release ${release.id}: ${release.files.length} files, ${tar.length} bytes`)
      return { id: release.id, size: tar.length, sha256, tar }
    })
  }

  const plan = remotePlanFor(settings, mode, upload, deps.release.postgresEnvTemplate())
  // The site as it is now, checked while the server is reached: when the deploy turns out to change
  // nothing, this is the verdict, ready when the server asks for it. One attempt, read-only; after a
  // change, or when it is not healthy, the site is checked again (with retries) once the server is done.
  const early =
    mode === 'deploy'
      ? (() => {
          const quiet = bufferedReporter(reporter)
          const options = { ...siteCheckOptions(settings), waitTimeoutSeconds: 0 }
          return { quiet, report: deps.checkSite(options, quiet).catch(() => undefined) }
        })()
      : undefined
  const session = await timed('Connect', () => deps.connect(settings, reporter))
  let site: SiteReport | undefined
  let run: RemoteRunResult
  const connectedAt = deps.now()
  try {
    run = await runPlanSurvivingCut(session, plan, reporter, {
      ...(upload ? { tar: upload.tar } : {}),
      verify: async (sofar): Promise<Verdict> => {
        const before = sofar.changed === false ? await early?.report : undefined
        if (before?.status === 'healthy') {
          early?.quiet.replay()
          site = before
          return 'healthy'
        }
        site = await deps.checkSite(siteCheckOptions(settings), reporter)
        if (site.status === 'healthy') return 'healthy'
        // Only a deploy that changed a server which had a release before has something to roll back to.
        const hadRelease = (sofar.state.current ?? '-') !== '-'
        return mode === 'deploy' && settings.rollbackOnFailure && sofar.changed === true && hadRelease
          ? 'rollback'
          : 'unhealthy'
      },
    })
  } finally {
    await session.close()
  }
  localPhases.push({ name: 'Remote (one SSH channel)', ms: deps.now() - connectedAt })

  const { outcome } = run
  const rolledBack = outcome.facts.has('rolled-back')
  const previous = outcome.state.current && outcome.state.current !== '-' ? outcome.state.current : ''
  const current = rolledBack
    ? previous
    : (outcome.facts.get('current')?.at(-1) ?? (mode === 'deploy' ? (upload?.id ?? '') : ''))
  const release = current || upload?.id || ''
  // When nothing changed, the release before this one is the one `previous` points at.
  const previousLink = outcome.state.previous && outcome.state.previous !== '-' ? outcome.state.previous : ''
  const outputs: Record<string, string> = {
    url: `https://${settings.domain}/`,
    ...(site ? siteOutputs(site) : { status: 'unhealthy' }),
    changed: String(outcome.changed === true),
    release,
    'previous-release': outcome.changed === false && previous === release ? previousLink : previous,
    'rolled-back': String(rolledBack),
  }
  const recreated = recreatedServices(outcome.psBefore, outcome.psAfter)
  await reporter.summary(
    deploySummaryMarkdown({
      mode,
      settings,
      outcome,
      localPhases,
      totalMs: deps.now() - started,
      releaseId: outputs.release ?? '',
      recreated,
      ...(site ? { site } : {}),
    }),
  )

  const failure = remoteFailureMessage(run, plan) ?? siteFailure(site, rolledBack, outcome.verdict, previous)
  return { outputs, ...(failure ? { failure } : {}) }
}

function siteFailure(
  site: SiteReport | undefined,
  rolledBack: boolean,
  verdict: string | undefined,
  previous: string,
): string | undefined {
  if (!site) return 'The HTTPS check did not run: the remote step ended before it was reached.'
  if (site.status === 'healthy') return undefined
  const failing = site.checks
    .filter((c) => c.verdict === 'fail')
    .map((c) => `${c.name}: ${c.reason}`)
    .join('; ')
  const after = rolledBack
    ? ` Rolled back to the previous release ${previous}, which runs again.`
    : verdict === 'unhealthy-rollback-failed'
      ? ' Rolling back to the previous release failed too: see the log of the rollback phase.'
      : ''
  return `${site.url} is unhealthy after the deploy: ${failing}.${after}`
}
