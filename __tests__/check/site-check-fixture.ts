// Shared by the site-check tests: one test PKI per test file, and checkSite pointed at a loopback site.

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkSite, type SiteCheckHooks } from '../../src/check/check-site.js'
import type { SiteCheckOptions, SiteReport } from '../../src/check/site-report.js'
import { createTestPki, type IssueOptions, type Pki } from '../../test-host/test-pki.mjs'
import type { FakeSite, ServedCertificate } from './fake-site.js'

export const DOMAIN = 'comments.test.example'
export const DAY_MS = 86_400_000

/** `days` from now, to the second (certificates store whole seconds). */
export function daysFromNow(days: number): Date {
  return new Date(Math.floor((Date.now() + days * DAY_MS) / 1000) * 1000)
}

export interface TestPkis {
  readonly dir: string
  /** The PKI the client trusts. */
  readonly trusted: Pki
  /** Names begin with "(STAGING)"; not trusted. */
  readonly staging: Pki
  /** Another CA the client does not trust. */
  readonly untrusted: Pki
  /** Issues from `pki` (default: trusted) and gives what a server serves: key, and leaf + intermediate. */
  serve(options: IssueOptions, pki?: Pki, what?: 'chain' | 'leaf'): Promise<ServedCertificate>
  cleanup(): void
}

export async function makeTestPkis(): Promise<TestPkis> {
  const dir = mkdtempSync(join(tmpdir(), 'cd-check-pki-'))
  try {
    const [trusted, staging, untrusted] = await Promise.all([
      createTestPki(join(dir, 'trusted')),
      createTestPki(join(dir, 'staging'), { namePrefix: '(STAGING) ' }),
      createTestPki(join(dir, 'untrusted'), { namePrefix: 'Untrusted ' }),
    ])
    return {
      dir,
      trusted,
      staging,
      untrusted,
      async serve(options, pki = trusted, what = 'chain') {
        const issued = await pki.issue(options)
        return { key: issued.keyPem, cert: what === 'chain' ? issued.chainPem : issued.certPem }
      },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

export function loopbackHooks(pkis: TestPkis, extra: SiteCheckHooks = {}): SiteCheckHooks {
  return {
    lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    ca: [pkis.trusted.rootCertPem],
    ...extra,
  }
}

export function checkFakeSite(
  site: Pick<FakeSite, 'httpsPort' | 'httpPort'>,
  pkis: TestPkis,
  options: Partial<SiteCheckOptions> = {},
  hooks: SiteCheckHooks = {},
): Promise<SiteReport> {
  return checkSite(
    {
      domain: DOMAIN,
      staging: false,
      certMinDays: 7,
      waitTimeoutSeconds: 0,
      httpsPort: site.httpsPort,
      httpPort: site.httpPort,
      ...options,
    },
    loopbackHooks(pkis, hooks),
  )
}

/** `name: verdict` of every check, in order: what ran, and how it came out. */
export function verdicts(report: SiteReport): string[] {
  return report.checks.map((check) => `${check.name}: ${check.verdict}`)
}

export function reasonOf(report: SiteReport, name: string): string {
  const check = report.checks.find((c) => c.name === name)
  if (!check) throw new Error(`no check named ${name} in ${verdicts(report).join(', ')}`)
  return check.reason
}
