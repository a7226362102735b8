// analyseTls on its own: the cases a loopback server cannot easily stage.

import { X509Certificate } from 'node:crypto'
import { analyseTls } from '../../src/check/certificate-analysis.js'
import { DOMAIN, makeTestPkis, type TestPkis } from './site-check-fixture.js'

let pkis: TestPkis
beforeAll(async () => {
  pkis = await makeTestPkis()
})
afterAll(() => pkis?.cleanup())

const expectations = (trusted: boolean) => ({
  domain: DOMAIN,
  staging: false,
  certMinDays: 7,
  now: new Date(),
  isTrustAnchor: () => trusted,
})

it('believes OpenSSL when the chain reaches a trusted root but it objects to something else', async () => {
  const leaf = await pkis.trusted.issue({ names: [DOMAIN] })
  const chain = [leaf.certPem, pkis.trusted.intermediateCertPem, pkis.trusted.rootCertPem].map(
    (pem) => new X509Certificate(pem),
  )
  const { checks } = analyseTls(
    { protocol: 'TLSv1.2', chain, verifyError: 'INVALID_PURPOSE', handshakeMs: 5 },
    expectations(true),
  )
  expect(checks.find((c) => c.name === 'tls-chain')).toEqual({
    name: 'tls-chain',
    verdict: 'fail',
    reason: `the chain (${DOMAIN} ← Test Intermediate R1 ← Test Root X1) does not verify: OpenSSL says INVALID_PURPOSE`,
    durationMs: 5,
    waitable: false,
  })
})

it('trusts a chain whose only objection is the date, when its root is a trust anchor', async () => {
  const leaf = await pkis.trusted.issue({
    names: [DOMAIN],
    notBefore: new Date(Date.now() - 30 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  })
  const chain = [leaf.certPem, pkis.trusted.intermediateCertPem, pkis.trusted.rootCertPem].map(
    (pem) => new X509Certificate(pem),
  )
  const trusted = analyseTls(
    { protocol: 'TLSv1.3', chain, verifyError: 'CERT_HAS_EXPIRED', handshakeMs: 1 },
    expectations(true),
  )
  expect(trusted.checks.map((c) => `${c.name}: ${c.verdict}`)).toEqual([
    'tls-version: pass',
    'tls-chain: pass',
    'tls-name: pass',
    'cert-dates: fail',
  ])
  const untrusted = analyseTls(
    { protocol: 'TLSv1.3', chain, verifyError: 'CERT_HAS_EXPIRED', handshakeMs: 1 },
    expectations(false),
  )
  expect(untrusted.checks.find((c) => c.name === 'tls-chain')?.reason).toMatch(
    /^unknown issuer: .* ends at a root/,
  )
})
