// checkSite's waiting: retries what waiting can fix (a first certificate, containers starting, a port not
// open yet) until wait-timeout, and stops at once on a verdict that waiting cannot change.

import type { SiteReport } from '../../src/check/site-report.js'
import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { type FakeSite, freePort, startFakeSite } from './fake-site.js'
import {
  checkFakeSite,
  DOMAIN,
  makeTestPkis,
  reasonOf,
  type TestPkis,
  verdicts,
} from './site-check-fixture.js'

let pkis: TestPkis
const sites: FakeSite[] = []
const timers: NodeJS.Timeout[] = []

beforeAll(async () => {
  pkis = await makeTestPkis()
})
afterEach(async () => {
  for (const timer of timers.splice(0)) clearTimeout(timer)
  await Promise.all(sites.splice(0).map((site) => site.close()))
})
afterAll(() => pkis?.cleanup())

function later(ms: number, work: () => void | Promise<void>): void {
  timers.push(setTimeout(() => void work(), ms))
}

function failing(report: SiteReport): string[] {
  return verdicts(report).filter((line) => !line.endsWith(': pass'))
}

describe('checkSite waits for what waiting can fix', () => {
  it('passes once the first certificate replaces the placeholder and Commento has started', async () => {
    const placeholder = await pkis.serve({
      names: [DOMAIN],
      issuer: 'self',
      organization: PLACEHOLDER_ISSUER,
    })
    const real = await pkis.serve({ names: [DOMAIN] })
    const site = await startFakeSite({ domain: DOMAIN, certificate: placeholder, commento: { status: 502 } })
    sites.push(site)
    later(2000, () => {
      site.setCertificate(real)
      site.commento = {}
    })
    const attempts: SiteReport[] = []
    const started = Date.now()
    const report = await checkFakeSite(
      site,
      pkis,
      { waitTimeoutSeconds: 20 },
      {
        onAttempt: (_n, r) => attempts.push(r),
      },
    )
    const elapsed = Date.now() - started

    expect(report.status).toBe('healthy')
    expect(elapsed).toBeGreaterThanOrEqual(2000)
    expect(elapsed).toBeLessThan(10_000)
    expect(attempts.length).toBeGreaterThanOrEqual(2)
    expect(report.attempts).toBe(attempts.length)
    expect(failing(attempts[0]!)).toEqual(['tls-chain: fail', 'commento-js: fail', 'commento-api: fail'])
    expect(reasonOf(attempts[0]!, 'tls-chain')).toMatch(/^certificate not issued yet: /)
    expect(attempts.at(-1)).toBe(report)
    // Every attempt costs one connection per port and four requests: no more.
    expect(report.traffic).toEqual({ connections: 2 * attempts.length, requests: 4 * attempts.length })
  })

  it('passes once nginx starts listening, after connections were refused', async () => {
    const [httpsPort, httpPort] = [await freePort(), await freePort()]
    const certificate = await pkis.serve({ names: [DOMAIN] })
    later(1500, async () => {
      sites.push(await startFakeSite({ domain: DOMAIN, certificate, httpsPort, httpPort }))
    })
    const attempts: SiteReport[] = []
    const report = await checkFakeSite(
      { httpsPort, httpPort },
      pkis,
      { waitTimeoutSeconds: 20 },
      {
        onAttempt: (_n, r) => attempts.push(r),
      },
    )
    expect(report.status).toBe('healthy')
    expect(verdicts(attempts[0]!)).toEqual(['dns: pass', 'tcp-443: fail', 'tcp-80: fail'])
  })

  it('gives up at wait-timeout with the last verdict, after an attempt at the deadline', async () => {
    const site = await startFakeSite({
      domain: DOMAIN,
      certificate: await pkis.serve({ names: [DOMAIN] }),
      commento: { status: 503 },
    })
    sites.push(site)
    const started = Date.now()
    const report = await checkFakeSite(site, pkis, { waitTimeoutSeconds: 3 })
    const elapsed = Date.now() - started
    expect(report.status).toBe('unhealthy')
    expect(failing(report)).toEqual(['commento-js: fail', 'commento-api: fail'])
    // Attempts at 0 s, 1 s, 3 s (delays 1 s, then 2 s, cut to the deadline).
    expect(report.attempts).toBe(3)
    expect(elapsed).toBeGreaterThanOrEqual(3000)
    // No attempt after the deadline: a fourth would start at 3 s + 4 s.
    expect(elapsed).toBeLessThan(7000)
  })
})

describe('checkSite stops early when waiting cannot help', () => {
  it('fails a name mismatch at once, although Commento is still starting', async () => {
    const site = await startFakeSite({
      domain: DOMAIN,
      certificate: await pkis.serve({ names: ['other.test.example'] }),
      commento: { status: 502 },
    })
    sites.push(site)
    const started = Date.now()
    const report = await checkFakeSite(site, pkis, { waitTimeoutSeconds: 30 })
    const elapsed = Date.now() - started
    expect(failing(report)).toEqual(['tls-name: fail', 'commento-js: fail', 'commento-api: fail'])
    expect(report.attempts).toBe(1)
    // Waiting would have taken the whole wait-timeout (30 s); a slow machine still answers in a few.
    expect(elapsed).toBeLessThan(10_000)
  })

  it('fails an expired certificate and an unknown issuer at once', async () => {
    const expired = await startFakeSite({
      domain: DOMAIN,
      certificate: await pkis.serve({
        names: [DOMAIN],
        notBefore: new Date(Date.now() - 100 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      }),
    })
    const unknown = await startFakeSite({
      domain: DOMAIN,
      certificate: await pkis.serve({ names: [DOMAIN] }, pkis.untrusted),
    })
    sites.push(expired, unknown)
    const started = Date.now()
    const reports = await Promise.all([
      checkFakeSite(expired, pkis, { waitTimeoutSeconds: 30 }),
      checkFakeSite(unknown, pkis, { waitTimeoutSeconds: 30 }),
    ])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(reports.map((r) => [r.attempts, failing(r)])).toEqual([
      [1, ['cert-dates: fail']],
      [1, ['tls-chain: fail']],
    ])
  })
})
