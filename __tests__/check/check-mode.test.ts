// mode: check end to end against a real TLS site on loopback: log group, outputs, summary, failure, and
// the seam for server diagnostics.

import { checkSiteLogged } from '../../src/check/logged-site-check.js'
import type { SiteCheckOptions } from '../../src/check/site-report.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import type { Settings } from '../../src/inputs/settings.js'
import { createCheckMode } from '../../src/modes/check-mode.js'
import type { Reporter } from '../../src/report/reporter.js'
import { makeKeyPair } from '../helpers/ssh-keys.js'
import { type FakeSite, startFakeSite } from './fake-site.js'
import { memoryReporter } from './memory-reporter.js'
import { DOMAIN, daysFromNow, loopbackHooks, makeTestPkis, type TestPkis } from './site-check-fixture.js'

let pkis: TestPkis
const sites: FakeSite[] = []
beforeAll(async () => {
  pkis = await makeTestPkis()
})
afterEach(async () => {
  await Promise.all(sites.splice(0).map((site) => site.close()))
})
afterAll(() => pkis?.cleanup())

function settings(inputs: Record<string, string> = {}): Settings {
  const all: Record<string, string> = { mode: 'check', domain: DOMAIN, 'wait-timeout': '0', ...inputs }
  return parseInputs((name) => all[name] ?? '', {}).settings
}

/** The real check (and its logging), pointed at the loopback site. */
function checkAt(site: FakeSite) {
  return (options: SiteCheckOptions, reporter: Reporter) =>
    checkSiteLogged(
      { ...options, httpsPort: site.httpsPort, httpPort: site.httpPort },
      reporter,
      loopbackHooks(pkis),
    )
}

async function start(options: Omit<Parameters<typeof startFakeSite>[0], 'domain'>): Promise<FakeSite> {
  const site = await startFakeSite({ domain: DOMAIN, ...options })
  sites.push(site)
  return site
}

it('passes a healthy site: every check logged in one group, outputs set, summary written', async () => {
  const notAfter = daysFromNow(60)
  const site = await start({ certificate: await pkis.serve({ names: [DOMAIN], notAfter }) })
  const reporter = memoryReporter()
  const result = await createCheckMode({ checkSite: checkAt(site) })(settings(), reporter)

  expect(result.failure).toBeUndefined()
  expect(result.outputs).toEqual({
    url: `https://${DOMAIN}:${site.httpsPort}/`,
    status: 'healthy',
    'cert-expires': notAfter.toISOString(),
    'cert-days-left': '59',
    'cert-issuer': 'CN=Test Intermediate R1, O=commento-deploy test, C=US',
  })
  expect(reporter.lines[0]).toBe(`group: Check https://${DOMAIN}/`)
  expect(reporter.lines.slice(1, -1)).toEqual([
    expect.stringMatching(/^info: ✅ dns: comments\.test\.example resolves to 127\.0\.0\.1 \(\d+ ms\)$/),
    ...['tcp-443', 'tls-version', 'tls-chain', 'tls-name', 'cert-dates', 'cert-days-left']
      .concat(['commento-js', 'commento-api', 'tcp-80', 'acme-challenge', 'http-redirect'])
      .map((name) => expect.stringMatching(new RegExp(`^info: ✅ ${name}: .+ \\(\\d+ ms\\)$`))),
  ])
  expect(reporter.lines.at(-1)).toBe('endgroup')
  expect(reporter.summaries).toHaveLength(1)
  expect(reporter.summaries[0]).toMatch(/^### ✅ https:\/\/comments\.test\.example:\d+\/ is healthy\n/)
})

it('fails naming every failing check and its reason, and warns about warnings', async () => {
  const site = await start({
    certificate: await pkis.serve({ names: [DOMAIN] }, pkis.staging),
    commento: { scriptStatus: 404 },
  })
  const reporter = memoryReporter()
  const result = await createCheckMode({ checkSite: checkAt(site) })(settings({ staging: 'true' }), reporter)

  expect(result.outputs.status).toBe('unhealthy')
  expect(result.outputs['cert-issuer']).toBe(
    'CN=(STAGING) Test Intermediate R1, O=(STAGING) commento-deploy test, C=US',
  )
  expect(result.failure).toBe(
    `https://${DOMAIN}:${site.httpsPort}/ is unhealthy: commento-js: GET /js/commento.js answered 404, not 200: the page that embeds Commento cannot load its script — is the request reaching Commento?`,
  )
  expect(reporter.lines).toContainEqual(
    expect.stringMatching(/^warning: tls-chain: Let's Encrypt staging certificate /),
  )
})

describe('diagnostics over SSH (a seam the lead wires)', () => {
  const key = makeKeyPair()
  const withSsh = () =>
    settings({
      host: 'vps.example.com',
      'private-key': key.privateKey,
      'insecure-ignore-host-key': 'true',
      'commento-env': 'COMMENTO_SMTP_PASSWORD=smtp-secret-value',
      'postgres-password': 'postgres-secret-value',
    })

  it('adds what collectDiagnostics returns to the summary when the check fails, with secrets starred out', async () => {
    const site = await start({
      certificate: await pkis.serve({ names: [DOMAIN] }),
      commento: { status: 502 },
    })
    const seen: Settings[] = []
    const reporter = memoryReporter()
    const mode = createCheckMode({
      checkSite: checkAt(site),
      collectDiagnostics: async (given) => {
        seen.push(given)
        return '```\napp: exited (1): pq: password authentication failed, password=postgres-secret-value smtp-secret-value\n```'
      },
    })
    await mode(withSsh(), reporter)

    expect(seen.map((s) => s.ssh?.host)).toEqual(['vps.example.com'])
    expect(reporter.lines).toContain('group: Diagnostics from vps.example.com')
    expect(reporter.summaries[0]).toContain(
      '#### Diagnostics from the server\n\n```\napp: exited (1): pq: password authentication failed, password=*** ***\n```\n',
    )
    expect(reporter.summaries[0]).not.toContain('secret-value')
  })

  it('does not connect when the check passes, or when no host is given', async () => {
    const site = await start({ certificate: await pkis.serve({ names: [DOMAIN] }) })
    const broken = await start({
      certificate: await pkis.serve({ names: [DOMAIN] }),
      commento: { status: 502 },
    })
    const calls: string[] = []
    const collectDiagnostics = async (s: Settings) => {
      calls.push(s.domain)
      return ''
    }
    await createCheckMode({ checkSite: checkAt(site), collectDiagnostics })(withSsh(), memoryReporter())
    const failed = await createCheckMode({ checkSite: checkAt(broken), collectDiagnostics })(
      settings(),
      memoryReporter(),
    )
    expect(failed.outputs.status).toBe('unhealthy')
    expect(calls).toEqual([])
  })

  it('still reports the verdict when collecting diagnostics fails', async () => {
    const site = await start({
      certificate: await pkis.serve({ names: [DOMAIN] }),
      commento: { status: 502 },
    })
    const reporter = memoryReporter()
    const result = await createCheckMode({
      checkSite: checkAt(site),
      collectDiagnostics: async () => {
        throw new Error('connect ECONNREFUSED 203.0.113.7:22')
      },
    })(withSsh(), reporter)
    expect(result.failure).toMatch(/is unhealthy: commento-js: /)
    expect(reporter.lines).toContain(
      'warning: Diagnostics from vps.example.com could not be collected: connect ECONNREFUSED 203.0.113.7:22',
    )
  })
})
