// Which runner serves which mode, wired to the real side effects (SSH, HTTPS, the stack on disk).

import { checkSiteLogged } from '../check/logged-site-check.js'
import type { Mode } from '../inputs/input-definitions.js'
import type { Settings } from '../inputs/settings.js'
import { assertDataVolumesExternal } from '../release/data-volumes.js'
import { packRelease } from '../release/pack-release.js'
import { postgresEnvLines } from '../release/postgres.js'
import { defaultStackDir, readStack } from '../release/read-stack.js'
import { renderRelease } from '../release/render-release.js'
import { PASSWORD_PLACEHOLDER } from '../remote/remote-plan.js'
import { connectSsh } from '../ssh/index.js'
import { createCheckMode } from './check-mode.js'
import type { ModeDependencies } from './dependencies.js'
import { deployMode, rollbackMode } from './deploy-mode.js'
import { collectDiagnostics } from './diagnostics.js'
import type { ModeRunner } from './mode.js'
import { planMode } from './plan-mode.js'

function sshOf(settings: Settings) {
  if (!settings.ssh)
    throw new Error(`mode ${settings.mode} needs SSH settings (host, username, a key or password)`)
  return settings.ssh
}

export const DEPENDENCIES: ModeDependencies = {
  release: {
    render: (settings) => {
      const release = renderRelease(settings, readStack(defaultStackDir()))
      assertDataVolumesExternal(release)
      return release
    },
    pack: packRelease,
    postgresEnvTemplate: () => postgresEnvLines(PASSWORD_PLACEHOLDER),
  },
  connect: (settings, reporter) => connectSsh(sshOf(settings), { reporter }),
  checkSite: (options, reporter) => checkSiteLogged(options, reporter),
  now: Date.now,
}

export function modeRunners(deps: ModeDependencies): Readonly<Record<Mode, ModeRunner>> {
  return {
    deploy: deployMode(deps),
    check: createCheckMode({
      checkSite: deps.checkSite,
      collectDiagnostics: (settings, reporter) => collectDiagnostics(settings, reporter, deps),
    }),
    plan: planMode(deps),
    rollback: rollbackMode(deps),
  }
}

export const MODE_RUNNERS = modeRunners(DEPENDENCIES)
