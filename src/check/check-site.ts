// The HTTPS check of a site, from outside, as a visitor's browser and Let's Encrypt see it: DNS, TCP,
// TLS and the certificate chain, the port-80 behaviour renewals depend on, and a healthy Commento.
// Retries while waiting can still help (a first certificate, containers starting); stops at a verdict
// waiting cannot change.

import { X509Certificate } from 'node:crypto'
import { promises as dns, type LookupAddress } from 'node:dns'
import { readFileSync } from 'node:fs'
import type { Agent } from 'node:http'
import tls, { type DetailedPeerCertificate } from 'node:tls'
import { analyseTls } from './certificate-analysis.js'
import {
  ConnectionFailure,
  connectTcp,
  connectTls,
  type HttpRequest,
  httpRequest,
  reusingAgent,
  type Target,
  type Traffic,
} from './connections.js'
import {
  acmeChallengeCheck,
  commentoApiCheck,
  commentoScriptCheck,
  connectionFailureCheck,
  httpRedirectCheck,
  requestFailureCheck,
} from './http-verdicts.js'
import { failed, failedForNow, type ProbeCheck, passed, toCheckResult } from './probe-check.js'
import type { CertificateInfo, SiteCheckOptions, SiteReport } from './site-report.js'

/** Resolves a name to addresses (all of them), as getaddrinfo does: /etc/hosts, then DNS. */
export type ResolveAddresses = (hostname: string) => Promise<readonly LookupAddress[]>

export interface SiteCheckHooks {
  /** Called after every attempt with that attempt's report (e.g. to log progress while waiting). */
  onAttempt?(attempt: number, report: SiteReport): void
  /** Replaces name resolution (tests point the domain at loopback). */
  lookup?: ResolveAddresses
  /**
   * Trusted roots (PEM) instead of Node's store and NODE_EXTRA_CA_CERTS: tests trust their own test root
   * in-process. Production leaves it unset.
   */
  ca?: readonly string[]
  /** Milliseconds to wait before attempt n+1 (default: 1 s, doubling up to 10 s). */
  retryDelayMs?(attempt: number): number
}

const MAX_PROBE_TIMEOUT_MS = 10_000
const MIN_PROBE_TIMEOUT_MS = 3_000

export async function checkSite(options: SiteCheckOptions, hooks: SiteCheckHooks = {}): Promise<SiteReport> {
  const started = performance.now()
  const deadline = started + options.waitTimeoutSeconds * 1000
  const traffic: Traffic = { connections: 0, requests: 0 }
  const isTrustAnchor = trustAnchorTest(hooks.ca)
  const retryDelayMs =
    hooks.retryDelayMs ?? ((attempt: number) => Math.min(1000 * 2 ** (attempt - 1), 10_000))
  for (let attempt = 1; ; attempt += 1) {
    const remaining = deadline - performance.now()
    const timeoutMs = Math.min(MAX_PROBE_TIMEOUT_MS, Math.max(MIN_PROBE_TIMEOUT_MS, remaining))
    const outcome = await attemptOnce(options, hooks, { traffic, timeoutMs, isTrustAnchor })
    const failures = outcome.checks.filter((check) => check.verdict === 'fail')
    const report: SiteReport = {
      url: siteUrl(options),
      status: failures.length === 0 ? 'healthy' : 'unhealthy',
      checks: outcome.checks.map(toCheckResult),
      ...(outcome.certificate ? { certificate: outcome.certificate } : {}),
      attempts: attempt,
      elapsedMs: Math.round(performance.now() - started),
      traffic: { ...traffic },
    }
    hooks.onAttempt?.(attempt, report)
    const waitingCanHelp = failures.length > 0 && failures.every((check) => check.waitable)
    const left = deadline - performance.now()
    if (!waitingCanHelp || left <= 0) return report
    // The last attempt comes at the deadline, not one delay before it.
    await new Promise((resolve) => setTimeout(resolve, Math.min(retryDelayMs(attempt), left)))
  }
}

export function siteUrl(options: Pick<SiteCheckOptions, 'domain' | 'httpsPort'>): string {
  const port = options.httpsPort ?? 443
  return new URL(`https://${options.domain}${port === 443 ? '' : `:${port}`}/`).href
}

interface AttemptContext {
  readonly traffic: Traffic
  readonly timeoutMs: number
  readonly isTrustAnchor: (certificate: X509Certificate) => boolean
}

interface AttemptOutcome {
  readonly checks: readonly ProbeCheck[]
  readonly certificate?: CertificateInfo
}

async function attemptOnce(
  options: SiteCheckOptions,
  hooks: SiteCheckHooks,
  context: AttemptContext,
): Promise<AttemptOutcome> {
  const resolved = await resolveDomain(options.domain, hooks.lookup ?? defaultResolve)
  if (!resolved.addresses) return { checks: [resolved.check] }
  const base = {
    domain: options.domain,
    addresses: resolved.addresses,
    timeoutMs: context.timeoutMs,
    ...(hooks.ca ? { ca: hooks.ca } : {}),
  }
  // Port 443 and port 80 do not depend on each other: probe both at once.
  const [secure, plain] = await Promise.all([
    probeHttps({ ...base, port: options.httpsPort ?? 443 }, options, context),
    probeHttp({ ...base, port: options.httpPort ?? 80 }, context),
  ])
  return {
    checks: [resolved.check, ...secure.checks, ...plain],
    ...(secure.certificate ? { certificate: secure.certificate } : {}),
  }
}

const defaultResolve: ResolveAddresses = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

async function resolveDomain(
  domain: string,
  resolve: ResolveAddresses,
): Promise<{ check: ProbeCheck; addresses?: readonly LookupAddress[] }> {
  const started = performance.now()
  try {
    const addresses = await resolve(domain)
    const ms = performance.now() - started
    if (addresses.length === 0)
      return { check: failed('dns', `${domain} resolves to no address: add an A or AAAA record`, ms) }
    return {
      check: passed('dns', `${domain} resolves to ${addresses.map((a) => a.address).join(', ')}`, ms),
      addresses,
    }
  } catch (error) {
    const ms = performance.now() - started
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    if (code === 'ENOTFOUND' || code === 'ENODATA')
      return {
        check: failed(
          'dns',
          `${domain} does not resolve (${code}): add an A or AAAA record that points at the server`,
          ms,
        ),
      }
    return { check: failedForNow('dns', `${domain} could not be resolved for now (${code})`, ms) }
  }
}

/** Where a connection went (the address it really used, when it got one), as `address:port`. */
function where(target: Target, socket?: { remoteAddress?: string | undefined }): string {
  const address = socket?.remoteAddress ?? target.addresses[0]?.address ?? target.domain
  return `${address.includes(':') ? `[${address}]` : address}:${target.port}`
}

async function probeHttps(
  target: Target,
  options: SiteCheckOptions,
  context: AttemptContext,
): Promise<AttemptOutcome> {
  const checks: ProbeCheck[] = []
  let connection: Awaited<ReturnType<typeof connectTls>>
  try {
    connection = await connectTls(target, context.traffic)
  } catch (error) {
    if (!(error instanceof ConnectionFailure)) throw error
    if (error.stage === 'tls')
      checks.push(passed('tcp-443', `connected to ${where(target)}`, error.tcpMs ?? 0))
    checks.push(connectionFailureCheck(error, 'tcp-443', where(target)))
    return { checks }
  }
  const { socket } = connection
  checks.push(passed('tcp-443', `connected to ${where(target, socket)}`, connection.tcpMs))
  const chain = servedChain(socket.getPeerCertificate(true))
  if (chain.length === 0) {
    socket.destroy()
    checks.push(failed('tls-chain', 'the server sent no certificate: configure ssl_certificate in nginx', 0))
    return { checks }
  }
  const analysis = analyseTls(
    {
      protocol: socket.getProtocol() ?? 'unknown',
      chain,
      ...(socket.authorized ? {} : { verifyError: String(socket.authorizationError) }),
      handshakeMs: connection.handshakeMs,
    },
    {
      domain: options.domain,
      staging: options.staging,
      certMinDays: options.certMinDays,
      now: new Date(),
      isTrustAnchor: context.isTrustAnchor,
    },
  )
  checks.push(...analysis.checks)
  const agent = reusingAgent('https', socket, target, context.traffic)
  try {
    checks.push(
      await request('https', agent, target, context.traffic, 'commento-js', commentoScriptCheck, {
        method: 'GET',
        path: '/js/commento.js',
      }),
    )
    checks.push(
      await request('https', agent, target, context.traffic, 'commento-api', commentoApiCheck, {
        method: 'POST',
        path: '/api/comment/count',
        headers: { 'content-type': 'application/json' },
        // Read-only: counts comments, touching the database. Nothing the check sends ever writes.
        body: JSON.stringify({ domain: options.domain, paths: ['/'] }),
      }),
    )
  } finally {
    agent.destroy()
    socket.destroy()
  }
  return { checks, certificate: analysis.certificate }
}

async function probeHttp(target: Target, context: AttemptContext): Promise<ProbeCheck[]> {
  let connection: Awaited<ReturnType<typeof connectTcp>>
  try {
    connection = await connectTcp(target, context.traffic)
  } catch (error) {
    if (!(error instanceof ConnectionFailure)) throw error
    return [connectionFailureCheck(error, 'tcp-80', where(target))]
  }
  const checks = [passed('tcp-80', `connected to ${where(target, connection.socket)}`, connection.tcpMs)]
  const agent = reusingAgent('http', connection.socket, target, context.traffic)
  const challengePath = `/.well-known/acme-challenge/commento-deploy-check-${randomToken()}`
  try {
    checks.push(
      await request(
        'http',
        agent,
        target,
        context.traffic,
        'acme-challenge',
        (answer) => acmeChallengeCheck(answer, challengePath),
        { method: 'GET', path: challengePath },
      ),
    )
    checks.push(
      await request(
        'http',
        agent,
        target,
        context.traffic,
        'http-redirect',
        (answer) => httpRedirectCheck(answer, target.domain),
        { method: 'GET', path: '/' },
      ),
    )
  } finally {
    agent.destroy()
    connection.socket.destroy()
  }
  return checks
}

async function request(
  kind: 'http' | 'https',
  agent: Agent,
  target: Target,
  traffic: Traffic,
  name: string,
  judge: (answer: Awaited<ReturnType<typeof httpRequest>>) => ProbeCheck,
  spec: HttpRequest,
): Promise<ProbeCheck> {
  const started = performance.now()
  try {
    return judge(await httpRequest(kind, agent, target, spec, traffic))
  } catch (error) {
    return requestFailureCheck(name, error, `${spec.method} ${spec.path}`, performance.now() - started)
  }
}

function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex')
}

/** Leaf first, then the issuers Node linked (served ones, then the trust store's root when found). */
function servedChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = []
  const seen = new Set<string>()
  let current: DetailedPeerCertificate | undefined = peer
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256)
    chain.push(new X509Certificate(current.raw))
    current = current.issuerCertificate
  }
  return chain
}

/**
 * Whether a certificate is one of the roots the TLS client trusts. Only asked when OpenSSL's single
 * error code leaves it open (an expired leaf on a chain that ends in a root).
 */
function trustAnchorTest(ca: readonly string[] | undefined): (certificate: X509Certificate) => boolean {
  let fingerprints: Set<string> | undefined
  return (certificate) => {
    fingerprints ??= new Set(
      trustedRootPems(ca).flatMap((pem) => {
        try {
          return [new X509Certificate(pem).fingerprint256]
        } catch {
          return []
        }
      }),
    )
    return fingerprints.has(certificate.fingerprint256)
  }
}

function trustedRootPems(ca: readonly string[] | undefined): string[] {
  if (ca) return ca.flatMap(splitPem)
  // Node 22.15+ (the action runs on 24) lists exactly the store its TLS uses.
  const listed = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates
  if (listed) return listed('default')
  const extraFile = process.env.NODE_EXTRA_CA_CERTS
  let extra: string[] = []
  try {
    if (extraFile) extra = splitPem(readFileSync(extraFile, 'utf8'))
  } catch {
    // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; the check goes on without it.
  }
  return [...tls.rootCertificates, ...extra]
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}
