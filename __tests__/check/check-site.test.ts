// checkSite against real TLS servers on loopback, one per case, with certificates from a test PKI made
// by the real openssl: every case gives its own verdict and reason.

import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { COMMENTO_SCRIPT, type FakeSite, type FakeSiteOptions, startFakeSite } from './fake-site.js'
import {
  checkFakeSite,
  DOMAIN,
  daysFromNow,
  makeTestPkis,
  reasonOf,
  type TestPkis,
  verdicts,
} from './site-check-fixture.js'

let pkis: TestPkis
const sites: FakeSite[] = []

beforeAll(async () => {
  pkis = await makeTestPkis()
})
afterEach(async () => {
  await Promise.all(sites.splice(0).map((site) => site.close()))
})
afterAll(() => pkis?.cleanup())

async function site(
  options: Partial<FakeSiteOptions> & Pick<FakeSiteOptions, 'certificate'>,
): Promise<FakeSite> {
  const started = await startFakeSite({ domain: DOMAIN, ...options })
  sites.push(started)
  return started
}

const ALL_PASS = [
  'dns: pass',
  'tcp-443: pass',
  'tls-version: pass',
  'tls-chain: pass',
  'tls-name: pass',
  'cert-dates: pass',
  'cert-days-left: pass',
  'commento-js: pass',
  'commento-api: pass',
  'tcp-80: pass',
  'acme-challenge: pass',
  'http-redirect: pass',
]

/** ALL_PASS with some checks changed (or removed, with `undefined`). */
function allPassBut(changes: Record<string, string | undefined>): string[] {
  return ALL_PASS.flatMap((line) => {
    const name = line.split(':')[0]!
    if (!(name in changes)) return [line]
    const changed = changes[name]
    return changed === undefined ? [] : [`${name}: ${changed}`]
  })
}

describe('checkSite on a healthy site', () => {
  it('passes every check, with one connection per port and four requests, and reports the certificate', async () => {
    const notBefore = daysFromNow(-1)
    const notAfter = daysFromNow(89)
    const healthy = await site({
      certificate: await pkis.serve({ names: [DOMAIN, `www.${DOMAIN}`], notBefore, notAfter }),
    })
    const report = await checkFakeSite(healthy, pkis)

    expect(verdicts(report)).toEqual(ALL_PASS)
    expect(report.status).toBe('healthy')
    expect(report.url).toBe(`https://${DOMAIN}:${healthy.httpsPort}/`)
    expect(report.certificate).toEqual({
      subject: `CN=${DOMAIN}`,
      issuer: 'CN=Test Intermediate R1, O=commento-deploy test, C=US',
      sans: [`DNS:${DOMAIN}`, `DNS:www.${DOMAIN}`],
      notBefore,
      notAfter,
      daysLeft: 88,
    })
    expect(reasonOf(report, 'dns')).toBe(`${DOMAIN} resolves to 127.0.0.1`)
    expect(reasonOf(report, 'tls-version')).toBe('TLSv1.3 negotiated')
    expect(reasonOf(report, 'tls-chain')).toBe(
      `verifies to a trusted root: ${DOMAIN} ← Test Intermediate R1 ← Test Root X1`,
    )
    expect(reasonOf(report, 'cert-days-left')).toBe(`88 days left (expires ${notAfter.toISOString()})`)
    expect(reasonOf(report, 'commento-js')).toBe(
      `GET /js/commento.js: 200, ${COMMENTO_SCRIPT.length} bytes of JavaScript`,
    )
    expect(reasonOf(report, 'http-redirect')).toBe(`GET http://…/ redirects to https://${DOMAIN}/ (301)`)

    // One TLS handshake serves both Commento requests; one TCP connection both port-80 requests.
    expect(report.traffic).toEqual({ connections: 2, requests: 4 })
    expect(healthy.connections).toEqual({ https: 1, http: 1 })
    expect(healthy.requests.https).toEqual(['GET /js/commento.js', 'POST /api/comment/count'])
    expect(healthy.requests.http).toEqual([
      expect.stringMatching(/^GET \/\.well-known\/acme-challenge\/commento-deploy-check-[0-9a-f]{24}$/),
      'GET /',
    ])
    expect(healthy.apiBodies).toEqual([{ domain: DOMAIN, paths: ['/'] }])
    expect(report.attempts).toBe(1)
  })

  it('opens a new connection, and counts it, when the server does not keep the first one alive', async () => {
    const closing = await site({
      certificate: await pkis.serve({ names: [DOMAIN] }),
      commento: { closeConnections: true },
    })
    const report = await checkFakeSite(closing, pkis)
    expect(verdicts(report)).toEqual(ALL_PASS)
    expect(report.traffic).toEqual({ connections: 3, requests: 4 })
    expect(closing.connections).toEqual({ https: 2, http: 1 })
  })

  it('passes a leaf issued by the root directly (no intermediate to serve)', async () => {
    const report = await checkFakeSite(
      await site({ certificate: await pkis.serve({ names: [DOMAIN], issuer: 'root' }) }),
      pkis,
    )
    expect(verdicts(report)).toEqual(ALL_PASS)
    expect(reasonOf(report, 'tls-chain')).toBe(`verifies to a trusted root: ${DOMAIN} ← Test Root X1`)
  })
})

describe('checkSite tells certificate faults apart', () => {
  it('an expired certificate', async () => {
    const notAfter = daysFromNow(-10)
    const served = await pkis.serve({ names: [DOMAIN], notBefore: daysFromNow(-100), notAfter })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'cert-dates': 'fail', 'cert-days-left': undefined }))
    expect(reasonOf(report, 'cert-dates')).toBe(
      `expired: the certificate expired on ${notAfter.toISOString()} (10 days ago); certbot has not renewed it — see the certbot container's log`,
    )
    expect(report.certificate?.daysLeft).toBe(-10)
    expect(report.status).toBe('unhealthy')
  })

  it('a certificate not yet valid', async () => {
    const notBefore = daysFromNow(10)
    const served = await pkis.serve({ names: [DOMAIN], notBefore, notAfter: daysFromNow(100) })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'cert-dates': 'fail', 'cert-days-left': undefined }))
    expect(reasonOf(report, 'cert-dates')).toBe(
      `not yet valid: the certificate is valid only from ${notBefore.toISOString()} (in 10 days); check the server's clock`,
    )
  })

  it('a certificate for another name', async () => {
    const served = await pkis.serve({ names: ['other.test.example', 'www.other.test.example'] })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-name': 'fail' }))
    expect(reasonOf(report, 'tls-name')).toBe(
      `name mismatch: the certificate is for DNS:other.test.example, DNS:www.other.test.example, not ${DOMAIN}; the server answers with another site's certificate — check nginx's server_name and the domain certbot obtained`,
    )
  })

  it('a self-signed certificate', async () => {
    const served = await pkis.serve({ names: [DOMAIN], issuer: 'self' })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-chain': 'fail' }))
    expect(reasonOf(report, 'tls-chain')).toBe(
      `self-signed certificate (CN=${DOMAIN}): browsers do not trust it; the stack's certbot should replace it with a Let's Encrypt certificate — see its log`,
    )
  })

  it('a leaf served without its intermediate', async () => {
    const served = await pkis.serve({ names: [DOMAIN] }, pkis.trusted, 'leaf')
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-chain': 'fail' }))
    expect(reasonOf(report, 'tls-chain')).toBe(
      'incomplete chain: the server sends only the leaf certificate, without its issuer (CN=Test Intermediate R1, O=commento-deploy test, C=US); serve fullchain.pem, not cert.pem',
    )
  })

  it('an expired leaf without its intermediate: both faults, although OpenSSL names only the expiry', async () => {
    const served = await pkis.serve(
      { names: [DOMAIN], notBefore: daysFromNow(-100), notAfter: daysFromNow(-10) },
      pkis.trusted,
      'leaf',
    )
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(
      allPassBut({ 'tls-chain': 'fail', 'cert-dates': 'fail', 'cert-days-left': undefined }),
    )
    expect(reasonOf(report, 'tls-chain')).toMatch(/^incomplete chain: /)
    expect(reasonOf(report, 'cert-dates')).toMatch(/^expired: /)
  })

  it('a chain from a CA the client does not trust', async () => {
    const served = await pkis.serve({ names: [DOMAIN] }, pkis.untrusted)
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-chain': 'fail' }))
    expect(reasonOf(report, 'tls-chain')).toBe(
      `unknown issuer: the chain (${DOMAIN} ← Untrusted Test Intermediate R1) needs C=US, O=Untrusted commento-deploy test, CN=Untrusted Test Root X1, which is not in the trust store (Node's CAs and NODE_EXTRA_CA_CERTS)`,
    )
  })

  it("an untrusted root served along with the chain (and an expired leaf hiding OpenSSL's trust error)", async () => {
    const issued = await pkis.untrusted.issue({
      names: [DOMAIN],
      notBefore: daysFromNow(-100),
      notAfter: daysFromNow(-1),
    })
    const served = { key: issued.keyPem, cert: issued.chainPem + pkis.untrusted.rootCertPem }
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(
      allPassBut({ 'tls-chain': 'fail', 'cert-dates': 'fail', 'cert-days-left': undefined }),
    )
    expect(reasonOf(report, 'tls-chain')).toBe(
      `unknown issuer: the chain (${DOMAIN} ← Untrusted Test Intermediate R1 ← Untrusted Test Root X1) ends at a root that is not in the trust store (Node's CAs and NODE_EXTRA_CA_CERTS)`,
    )
  })

  it("the stack's placeholder: certificate not issued yet, and nothing said about its name or dates", async () => {
    // As stack/nginx/entrypoint.sh makes it: self-signed, O = the placeholder's name, CN and SAN = the domain.
    const served = await pkis.serve({
      names: [DOMAIN],
      issuer: 'self',
      organization: PLACEHOLDER_ISSUER,
      notAfter: daysFromNow(14),
    })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(
      allPassBut({
        'tls-chain': 'fail',
        'tls-name': undefined,
        'cert-dates': undefined,
        'cert-days-left': undefined,
      }),
    )
    expect(reasonOf(report, 'tls-chain')).toBe(
      "certificate not issued yet: the server still serves the stack's placeholder certificate (issuer O=commento-deploy placeholder); if this lasts, see the certbot container's log",
    )
    expect(report.certificate?.issuer).toBe(`CN=${DOMAIN}, O=${PLACEHOLDER_ISSUER}`)
  })

  it('a staging chain fails with staging: false', async () => {
    const served = await pkis.serve({ names: [DOMAIN] }, pkis.staging)
    const report = await checkFakeSite(await site({ certificate: served }), pkis, { staging: false })
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-chain': 'fail' }))
    expect(reasonOf(report, 'tls-chain')).toBe(
      "Let's Encrypt staging certificate (issuer CN=(STAGING) Test Intermediate R1, O=(STAGING) commento-deploy test, C=US), which browsers do not trust: deploy with staging: false to obtain a real certificate",
    )
    expect(report.status).toBe('unhealthy')
  })

  it('a staging chain passes with a warning with staging: true', async () => {
    const served = await pkis.serve({ names: [DOMAIN] }, pkis.staging)
    const report = await checkFakeSite(await site({ certificate: served }), pkis, { staging: true })
    expect(verdicts(report)).toEqual(allPassBut({ 'tls-chain': 'warn' }))
    expect(reasonOf(report, 'tls-chain')).toBe(
      "Let's Encrypt staging certificate (issuer CN=(STAGING) Test Intermediate R1, O=(STAGING) commento-deploy test, C=US), complete chain served; browsers do not trust it — expected with staging: true, set staging: false for a real certificate",
    )
    expect(report.status).toBe('healthy')
  })

  it('with staging: true, everything but the root must still hold: name, dates, a complete chain', async () => {
    const wrongName = await site({
      certificate: await pkis.serve({ names: ['other.test.example'] }, pkis.staging),
    })
    const leafOnly = await site({ certificate: await pkis.serve({ names: [DOMAIN] }, pkis.staging, 'leaf') })
    const [nameReport, chainReport] = await Promise.all([
      checkFakeSite(wrongName, pkis, { staging: true }),
      checkFakeSite(leafOnly, pkis, { staging: true }),
    ])
    expect(verdicts(nameReport)).toEqual(allPassBut({ 'tls-chain': 'warn', 'tls-name': 'fail' }))
    expect(nameReport.status).toBe('unhealthy')
    expect(verdicts(chainReport)).toEqual(allPassBut({ 'tls-chain': 'fail' }))
    expect(reasonOf(chainReport, 'tls-chain')).toMatch(/^incomplete chain: /)
  })

  it('warns when less than a third of the lifetime is left', async () => {
    const notAfter = daysFromNow(20.5)
    const served = await pkis.serve({ names: [DOMAIN], notBefore: daysFromNow(-69.5), notAfter })
    const report = await checkFakeSite(await site({ certificate: served }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'cert-days-left': 'warn' }))
    expect(reasonOf(report, 'cert-days-left')).toBe(
      `20 days left of a 90-day certificate (expires ${notAfter.toISOString()}): less than a third, so certbot should already have renewed it — see its log`,
    )
    expect(report.status).toBe('healthy')
  })

  it('fails below cert-min-days', async () => {
    const notAfter = daysFromNow(5.5)
    const served = await pkis.serve({ names: [DOMAIN], notBefore: daysFromNow(-84.5), notAfter })
    const report = await checkFakeSite(await site({ certificate: served }), pkis, { certMinDays: 7 })
    expect(verdicts(report)).toEqual(allPassBut({ 'cert-days-left': 'fail' }))
    expect(reasonOf(report, 'cert-days-left')).toBe(
      `5 days left (expires ${notAfter.toISOString()}), fewer than cert-min-days (7): renewal is overdue — see the certbot container's log`,
    )
  })
})

describe('checkSite on port 80 and Commento', () => {
  let good: Awaited<ReturnType<TestPkis['serve']>>
  beforeAll(async () => {
    good = await pkis.serve({ names: [DOMAIN] })
  })

  it('fails when plain HTTP is served without a redirect to HTTPS', async () => {
    const report = await checkFakeSite(await site({ certificate: good, portEighty: 'no-redirect' }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'http-redirect': 'fail' }))
    expect(reasonOf(report, 'http-redirect')).toBe(
      `GET http://…/ answered 200 instead of a redirect to https://${DOMAIN}/: visitors who type http:// stay on plain HTTP`,
    )
  })

  it('fails when ACME challenges are redirected to HTTPS too', async () => {
    const report = await checkFakeSite(
      await site({ certificate: good, portEighty: 'redirect-everything' }),
      pkis,
    )
    expect(verdicts(report)).toEqual(allPassBut({ 'acme-challenge': 'fail' }))
    expect(reasonOf(report, 'acme-challenge')).toMatch(
      new RegExp(
        `^GET http://…/\\.well-known/acme-challenge/<random> answered 301 → https://${DOMAIN.replace(/\./g, '\\.')}/\\.well-known/acme-challenge/commento-deploy-check-[0-9a-f]{24}: certbot's renewals need /\\.well-known/acme-challenge/ served on port 80 without a redirect$`,
      ),
    )
  })

  it('fails when /js/commento.js is not found', async () => {
    const report = await checkFakeSite(
      await site({ certificate: good, commento: { scriptStatus: 404 } }),
      pkis,
    )
    expect(verdicts(report)).toEqual(allPassBut({ 'commento-js': 'fail' }))
    expect(reasonOf(report, 'commento-js')).toBe(
      'GET /js/commento.js answered 404, not 200: the page that embeds Commento cannot load its script — is the request reaching Commento?',
    )
  })

  it('fails when /js/commento.js answers with HTML', async () => {
    const report = await checkFakeSite(
      await site({ certificate: good, commento: { scriptContentType: 'text/html' } }),
      pkis,
    )
    expect(reasonOf(report, 'commento-js')).toBe(
      `GET /js/commento.js answered 200 with ${COMMENTO_SCRIPT.length} bytes of text/html, not JavaScript: something other than Commento answers this path`,
    )
  })

  it('reads the JSON: an API error comes back as 200 with "success": false', async () => {
    const report = await checkFakeSite(
      await site({
        certificate: good,
        commento: { apiBody: { success: false, message: 'Some internal error occurred' } },
      }),
      pkis,
    )
    expect(verdicts(report)).toEqual(allPassBut({ 'commento-api': 'fail' }))
    expect(reasonOf(report, 'commento-api')).toBe(
      `POST /api/comment/count answered "success": false ("Some internal error occurred"): Commento cannot query its database — see the app and postgres containers' logs`,
    )
  })

  it('says 502 means nginx is up but Commento is not', async () => {
    const report = await checkFakeSite(await site({ certificate: good, commento: { status: 502 } }), pkis)
    expect(verdicts(report)).toEqual(allPassBut({ 'commento-js': 'fail', 'commento-api': 'fail' }))
    expect(reasonOf(report, 'commento-api')).toBe(
      "POST /api/comment/count answered 502: nginx is up but Commento does not answer (yet) — if this lasts, see the app container's log",
    )
  })
})

describe('checkSite when nothing answers', () => {
  it('reports a refused connection on both ports, and no checks that needed them', async () => {
    const closed = await site({ certificate: await pkis.serve({ names: [DOMAIN] }) })
    const ports = { httpsPort: closed.httpsPort, httpPort: closed.httpPort }
    await closed.close()
    const report = await checkFakeSite(ports, pkis)
    expect(verdicts(report)).toEqual(['dns: pass', 'tcp-443: fail', 'tcp-80: fail'])
    expect(reasonOf(report, 'tcp-443')).toBe(
      `connection refused by 127.0.0.1:${ports.httpsPort}: nothing listens there yet (nginx not started?), or a firewall rejects it`,
    )
    expect(report.certificate).toBeUndefined()
    expect(report.traffic).toEqual({ connections: 2, requests: 0 })
  })

  it('reports a name that does not resolve, and probes nothing', async () => {
    const report = await checkFakeSite(
      { httpsPort: 1, httpPort: 1 },
      pkis,
      {},
      {
        lookup: async () => {
          throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
        },
      },
    )
    expect(verdicts(report)).toEqual(['dns: fail'])
    expect(reasonOf(report, 'dns')).toBe(
      `${DOMAIN} does not resolve (ENOTFOUND): add an A or AAAA record that points at the server`,
    )
    expect(report.traffic).toEqual({ connections: 0, requests: 0 })
  })

  it('reports a server that offers only TLS older than 1.2', async () => {
    const old = await site({
      certificate: await pkis.serve({ names: [DOMAIN] }),
      tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
    })
    const report = await checkFakeSite(old, pkis)
    expect(verdicts(report)).toEqual([
      'dns: pass',
      'tcp-443: pass',
      'tls-version: fail',
      'tcp-80: pass',
      'acme-challenge: pass',
      'http-redirect: pass',
    ])
    expect(reasonOf(report, 'tls-version')).toBe(
      `no TLS 1.2 or newer: the server at 127.0.0.1:${old.httpsPort} offers only older protocol versions (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION); enable TLSv1.2 and TLSv1.3 in nginx`,
    )
  })

  it('reports plain HTTP on the HTTPS port', async () => {
    const plain = await site({ certificate: await pkis.serve({ names: [DOMAIN] }) })
    const report = await checkFakeSite({ httpsPort: plain.httpPort, httpPort: plain.httpPort }, pkis)
    expect(verdicts(report).slice(0, 3)).toEqual(['dns: pass', 'tcp-443: pass', 'tls-version: fail'])
    expect(reasonOf(report, 'tls-version')).toBe(
      `127.0.0.1:${plain.httpPort} answers, but not with TLS (ERR_SSL_WRONG_VERSION_NUMBER): is plain HTTP served on the HTTPS port?`,
    )
  })
})
