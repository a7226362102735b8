// The side effects the modes depend on, behind one small interface so that tests can replace any of them.

import type { SiteCheckOptions, SiteReport } from '../check/site-report.js'
import type { Settings } from '../inputs/settings.js'
import type { Release } from '../release/release.js'
import type { Reporter } from '../report/reporter.js'
import type { Connect } from './remote-session.js'

export interface ReleaseBuilder {
  /** Renders the release for these settings from the stack files next to the bundle. */
  render(settings: Settings): Release
  pack(release: Release): Promise<Buffer>
  /** The .env lines for a Postgres password, with PASSWORD_PLACEHOLDER where the password goes. */
  postgresEnvTemplate(): string
}

export interface ModeDependencies {
  readonly release: ReleaseBuilder
  readonly connect: Connect
  readonly checkSite: (options: SiteCheckOptions, reporter: Reporter) => Promise<SiteReport>
  readonly now: () => number
}

export function siteCheckOptions(settings: Settings): SiteCheckOptions {
  return {
    domain: settings.domain,
    staging: settings.staging,
    certMinDays: settings.certMinDays,
    waitTimeoutSeconds: settings.waitTimeoutSeconds,
  }
}
