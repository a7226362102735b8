// What the server says about itself when the site check fails: unit state, containers, the last log
// lines, free disk. One SSH channel running the remote script's `diagnose` mode; changes nothing.
import type { Settings } from '../inputs/settings.js'
import { remotePlanFor } from '../remote/remote-plan.js'
import type { Reporter } from '../report/reporter.js'
import type { ModeDependencies } from './dependencies.js'
import { runPlan } from './remote-session.js'

export async function collectDiagnostics(
  settings: Settings,
  reporter: Reporter,
  deps: ModeDependencies,
): Promise<string> {
  const plan = remotePlanFor(settings, 'diagnose', undefined, '')
  const session = await deps.connect(settings, reporter)
  try {
    const run = await runPlan(session, plan, reporter)
    const text = run.outcome.output.join('\n')
    return ['```', text || '(the server printed nothing)', '```'].join('\n')
  } finally {
    await session.close()
  }
}
