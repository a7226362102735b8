// What the served certificate chain says, as checks. Pure: takes what one TLS handshake observed and
// gives verdicts; the handshake itself is in tls-probe.ts.
//
// OpenSSL reports one verify error per handshake, and (because Node lets verification run to the end) it is
// the last one found: an expired leaf hides a missing intermediate. So the reason is taken from the chain
// itself — what the server sent, as Node linked it (served certificates, then the issuer from the trust
// store when it has one) — and OpenSSL's code is only trusted for what it can say alone.

import type { X509Certificate } from 'node:crypto'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { isPlaceholderIssuer, PLACEHOLDER_ISSUER } from '../release/placeholder.js'
import { failed, failedForNow, type ProbeCheck, passed, warned } from './probe-check.js'
import type { CertificateInfo } from './site-report.js'

const DAY_MS = 86_400_000
const STAGING_PREFIX = '(STAGING)'

export interface TlsObservation {
  /** As `socket.getProtocol()` says, e.g. "TLSv1.3". */
  readonly protocol: string
  /** Leaf first, then each issuer Node found: among the served certificates, then in the trust store. */
  readonly chain: readonly X509Certificate[]
  /** OpenSSL's verify result (`socket.authorizationError`); absent when the chain verified. */
  readonly verifyError?: string
  readonly handshakeMs: number
}

export interface CertificateExpectations {
  readonly domain: string
  readonly staging: boolean
  readonly certMinDays: number
  readonly now: Date
  /** Whether a certificate is one of the trust store's roots. */
  readonly isTrustAnchor: (certificate: X509Certificate) => boolean
}

export interface TlsAnalysis {
  readonly checks: readonly ProbeCheck[]
  readonly certificate: CertificateInfo
}

/** Codes after which the chain itself may still be fine: names and dates have their own checks. */
const CODES_NOT_ABOUT_TRUST = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
])
/** Codes that the structure of the chain explains (missing issuer, untrusted root, self-signed). */
const CODES_ABOUT_TRUST = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
])

type ChainTrust =
  | { readonly kind: 'trusted'; readonly root: X509Certificate }
  | { readonly kind: 'self-signed' }
  | { readonly kind: 'incomplete-chain'; readonly missingIssuer: string }
  | { readonly kind: 'unknown-issuer'; readonly top: X509Certificate; readonly topIsRoot: boolean }
  | { readonly kind: 'does-not-verify'; readonly code: string }

export function analyseTls(observation: TlsObservation, expect: CertificateExpectations): TlsAnalysis {
  const { chain, handshakeMs: ms } = observation
  const leaf = chain[0]
  if (!leaf) throw new Error('analyseTls needs at least the leaf certificate')
  const certificate = certificateInfo(leaf, expect.now)
  const checks: ProbeCheck[] = [passed('tls-version', `${observation.protocol} negotiated`, ms)]

  if (isPlaceholder(leaf)) {
    // Name and dates of the placeholder say nothing about the site: only that certbot has not finished.
    checks.push(
      failedForNow(
        'tls-chain',
        `certificate not issued yet: the server still serves the stack's placeholder certificate (issuer O=${PLACEHOLDER_ISSUER}); if this lasts, see the certbot container's log`,
        ms,
      ),
    )
    return { checks, certificate }
  }

  checks.push(chainCheck(chain, observation.verifyError, expect, ms))
  checks.push(nameCheck(leaf, expect.domain, ms))
  const dates = datesCheck(chain, expect, ms)
  checks.push(dates)
  if (dates.verdict === 'pass') checks.push(daysLeftCheck(certificate, expect.certMinDays, expect.now, ms))
  return { checks, certificate }
}

export function certificateInfo(leaf: X509Certificate, now: Date): CertificateInfo {
  const notBefore = new Date(leaf.validFrom)
  const notAfter = new Date(leaf.validTo)
  return {
    subject: distinguishedName(leaf.subject),
    issuer: distinguishedName(leaf.issuer),
    sans: subjectAltNames(leaf),
    notBefore,
    notAfter,
    // Whole days, towards zero: 10.5 days left is 10, expired 10.5 days ago is -10.
    daysLeft: Math.trunc((notAfter.getTime() - now.getTime()) / DAY_MS) || 0,
  }
}

/** Node prints names one attribute a line (in the certificate's order); one line reads better. */
function distinguishedName(multiLine: string): string {
  return multiLine.split('\n').filter(Boolean).join(', ')
}

function subjectAltNames(certificate: X509Certificate): string[] {
  const text = certificate.subjectAltName
  return text ? text.split(/,\s*/).filter(Boolean) : []
}

function attribute(multiLine: string, key: string): string[] {
  return multiLine
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1))
}

function commonName(certificate: X509Certificate): string {
  return attribute(certificate.subject, 'CN')[0] ?? distinguishedName(certificate.subject)
}

/** The stack's nginx makes it at start (stack/nginx/entrypoint.sh), self-signed, until certbot has one. */
function isPlaceholder(leaf: X509Certificate): boolean {
  return isSelfIssued(leaf) && isPlaceholderIssuer(distinguishedName(leaf.issuer))
}

function isStaging(chain: readonly X509Certificate[]): boolean {
  return chain.some((certificate) =>
    [...attribute(certificate.issuer, 'CN'), ...attribute(certificate.issuer, 'O')].some((value) =>
      value.startsWith(STAGING_PREFIX),
    ),
  )
}

/** Signed by its own key under its own name: a root, or a self-signed leaf (OpenSSL's checkIssued also
 * wants the keyCertSign usage, which a self-signed leaf lacks). */
function isSelfIssued(certificate: X509Certificate): boolean {
  return certificate.subject === certificate.issuer && certificate.verify(certificate.publicKey)
}

function chainTrust(
  chain: readonly X509Certificate[],
  verifyError: string | undefined,
  isTrustAnchor: (certificate: X509Certificate) => boolean,
): ChainTrust {
  const leaf = chain[0]!
  const top = chain[chain.length - 1]!
  // Node checks the name only after OpenSSL verified the chain: that code means the chain is trusted.
  const verified = verifyError === undefined || verifyError === 'ERR_TLS_CERT_ALTNAME_INVALID'
  if (verified) return { kind: 'trusted', root: top }
  let structural: ChainTrust
  if (isSelfIssued(top) && isTrustAnchor(top)) structural = { kind: 'trusted', root: top }
  else if (chain.length === 1 && isSelfIssued(leaf)) structural = { kind: 'self-signed' }
  else if (isSelfIssued(top)) structural = { kind: 'unknown-issuer', top, topIsRoot: true }
  else if (chain.length === 1) structural = { kind: 'incomplete-chain', missingIssuer: leaf.issuer }
  else structural = { kind: 'unknown-issuer', top, topIsRoot: false }
  if (structural.kind !== 'trusted') return structural
  // The chain reaches a trusted root, yet OpenSSL objects to something other than dates: believe OpenSSL.
  if (!CODES_NOT_ABOUT_TRUST.has(verifyError) && !CODES_ABOUT_TRUST.has(verifyError))
    return { kind: 'does-not-verify', code: verifyError }
  return structural
}

function chainCheck(
  chain: readonly X509Certificate[],
  verifyError: string | undefined,
  expect: CertificateExpectations,
  ms: number,
): ProbeCheck {
  const trust = chainTrust(chain, verifyError, expect.isTrustAnchor)
  const leaf = chain[0]!
  const path = chain.map(commonName).join(' ← ')
  if (isStaging(chain) && (trust.kind === 'unknown-issuer' || trust.kind === 'trusted')) {
    const issuer = distinguishedName(leaf.issuer)
    if (expect.staging)
      return warned(
        'tls-chain',
        `Let's Encrypt staging certificate (issuer ${issuer}), complete chain served; browsers do not trust it — expected with staging: true, set staging: false for a real certificate`,
        ms,
      )
    // A deploy that just left staging serves the staging certificate until certbot replaces it.
    return failedForNow(
      'tls-chain',
      `Let's Encrypt staging certificate (issuer ${issuer}), which browsers do not trust: deploy with staging: false to obtain a real certificate`,
      ms,
    )
  }
  switch (trust.kind) {
    case 'trusted':
      return passed('tls-chain', `verifies to a trusted root: ${path}`, ms)
    case 'self-signed':
      return failed(
        'tls-chain',
        `self-signed certificate (${distinguishedName(leaf.subject)}): browsers do not trust it; the stack's certbot should replace it with a Let's Encrypt certificate — see its log`,
        ms,
      )
    case 'incomplete-chain':
      return failed(
        'tls-chain',
        `incomplete chain: the server sends only the leaf certificate, without its issuer (${distinguishedName(trust.missingIssuer)}); serve fullchain.pem, not cert.pem`,
        ms,
      )
    case 'unknown-issuer':
      return failed(
        'tls-chain',
        trust.topIsRoot
          ? `unknown issuer: the chain (${path}) ends at a root that is not in the trust store (Node's CAs and NODE_EXTRA_CA_CERTS)`
          : `unknown issuer: the chain (${path}) needs ${distinguishedName(trust.top.issuer)}, which is not in the trust store (Node's CAs and NODE_EXTRA_CA_CERTS)`,
        ms,
      )
    case 'does-not-verify':
      return failed('tls-chain', `the chain (${path}) does not verify: OpenSSL says ${trust.code}`, ms)
  }
}

function nameCheck(leaf: X509Certificate, domain: string, ms: number): ProbeCheck {
  const names = subjectAltNames(leaf)
  const error = checkServerIdentity(domain, leaf.toLegacyObject() as PeerCertificate)
  if (!error) return passed('tls-name', `the certificate covers ${domain}`, ms)
  const covered = names.length > 0 ? names.join(', ') : `only CN=${commonName(leaf)}, no subjectAltName`
  return failed(
    'tls-name',
    `name mismatch: the certificate is for ${covered}, not ${domain}; the server answers with another site's certificate — check nginx's server_name and the domain certbot obtained`,
    ms,
  )
}

function datesCheck(
  chain: readonly X509Certificate[],
  expect: CertificateExpectations,
  ms: number,
): ProbeCheck {
  const now = expect.now.getTime()
  for (const [index, certificate] of chain.entries()) {
    const what = index === 0 ? 'the certificate' : `the issuing certificate ${commonName(certificate)}`
    const notBefore = new Date(certificate.validFrom)
    const notAfter = new Date(certificate.validTo)
    if (notAfter.getTime() < now) {
      return failed(
        'cert-dates',
        `expired: ${what} expired on ${notAfter.toISOString()} (${daysBetween(notAfter.getTime(), now)} days ago); certbot has not renewed it — see the certbot container's log`,
        ms,
      )
    }
    if (notBefore.getTime() > now) {
      return failed(
        'cert-dates',
        `not yet valid: ${what} is valid only from ${notBefore.toISOString()} (in ${daysBetween(now, notBefore.getTime())} days); check the server's clock`,
        ms,
      )
    }
  }
  const leaf = chain[0]!
  return passed(
    'cert-dates',
    `valid from ${new Date(leaf.validFrom).toISOString()} to ${new Date(leaf.validTo).toISOString()}`,
    ms,
  )
}

function daysLeftCheck(certificate: CertificateInfo, certMinDays: number, now: Date, ms: number): ProbeCheck {
  const { daysLeft, notAfter, notBefore } = certificate
  const expires = notAfter.toISOString()
  if (daysLeft < certMinDays) {
    return failed(
      'cert-days-left',
      `${daysLeft} days left (expires ${expires}), fewer than cert-min-days (${certMinDays}): renewal is overdue — see the certbot container's log`,
      ms,
    )
  }
  const lifetimeMs = notAfter.getTime() - notBefore.getTime()
  const leftMs = notAfter.getTime() - now.getTime()
  if (leftMs < lifetimeMs / 3) {
    return warned(
      'cert-days-left',
      `${daysLeft} days left of a ${Math.round(lifetimeMs / DAY_MS)}-day certificate (expires ${expires}): less than a third, so certbot should already have renewed it — see its log`,
      ms,
    )
  }
  return passed('cert-days-left', `${daysLeft} days left (expires ${expires})`, ms)
}

function daysBetween(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) / DAY_MS)
}
