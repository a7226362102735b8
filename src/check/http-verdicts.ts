// Verdicts on what the site answered: pure functions of an HTTP answer or a connection failure.

import type { ConnectionFailure, HttpAnswer } from './connections.js'
import { failed, failedForNow, type ProbeCheck, passed } from './probe-check.js'

/** Answers of a proxy whose app is not up yet: nginx answers, Commento's container is (re)starting. */
const STARTING_STATUSES = new Set([502, 503, 504])

const TLS_VERSION_CODES = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
])

/** The check a failed connection gives, named after the stage that failed. */
export function connectionFailureCheck(
  failure: ConnectionFailure,
  tcpName: string,
  where: string,
): ProbeCheck {
  const ms = failure.durationMs
  if (failure.stage === 'tls') {
    if (TLS_VERSION_CODES.has(failure.code))
      return failed(
        'tls-version',
        `no TLS 1.2 or newer: the server at ${where} offers only older protocol versions (${failure.code}); enable TLSv1.2 and TLSv1.3 in nginx`,
        ms,
      )
    if (failure.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || failure.code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
      return failed(
        'tls-version',
        `${where} answers, but not with TLS (${failure.code}): is plain HTTP served on the HTTPS port?`,
        ms,
      )
    return failedForNow(
      'tls-handshake',
      `the TLS handshake with ${where} failed: ${failure.code} (${failure.message})`,
      ms,
    )
  }
  switch (failure.code) {
    case 'ECONNREFUSED':
      return failedForNow(
        tcpName,
        `connection refused by ${where}: nothing listens there yet (nginx not started?), or a firewall rejects it`,
        ms,
      )
    case 'ETIMEDOUT':
      return failedForNow(
        tcpName,
        `no connection to ${where}: ${failure.message}; a firewall may drop the traffic, or the server is down`,
        ms,
      )
    default:
      return failedForNow(tcpName, `no connection to ${where}: ${failure.code} (${failure.message})`, ms)
  }
}

/** A request that failed after the connection was made (reset, timeout). */
export function requestFailureCheck(name: string, error: unknown, what: string, ms: number): ProbeCheck {
  const { code, message } = error as NodeJS.ErrnoException
  return failedForNow(name, `${what} got no answer: ${code ?? 'error'} (${message})`, ms)
}

function statusText(answer: HttpAnswer): string {
  return `${answer.status}`
}

function startingUp(name: string, what: string, answer: HttpAnswer): ProbeCheck {
  return failedForNow(
    name,
    `${what} answered ${statusText(answer)}: nginx is up but Commento does not answer (yet) — if this lasts, see the app container's log`,
    answer.durationMs,
  )
}

export function commentoScriptCheck(answer: HttpAnswer): ProbeCheck {
  const what = 'GET /js/commento.js'
  const ms = answer.durationMs
  if (STARTING_STATUSES.has(answer.status)) return startingUp('commento-js', what, answer)
  if (answer.status !== 200)
    return failed(
      'commento-js',
      `${what} answered ${statusText(answer)}, not 200: the page that embeds Commento cannot load its script — is the request reaching Commento?`,
      ms,
    )
  const type = String(answer.headers['content-type'] ?? '')
  if (!/javascript|ecmascript/i.test(type) || answer.body.length === 0)
    return failed(
      'commento-js',
      `${what} answered 200 with ${answer.body.length} bytes of ${type || 'unknown type'}, not JavaScript: something other than Commento answers this path`,
      ms,
    )
  return passed('commento-js', `${what}: 200, ${formatBytes(answer.body.length)} of JavaScript`, ms)
}

export function commentoApiCheck(answer: HttpAnswer): ProbeCheck {
  const what = 'POST /api/comment/count'
  const ms = answer.durationMs
  if (STARTING_STATUSES.has(answer.status)) return startingUp('commento-api', what, answer)
  if (answer.status !== 200)
    return failed(
      'commento-api',
      `${what} answered ${statusText(answer)}, not 200: is the request reaching Commento?`,
      ms,
    )
  let json: unknown
  try {
    json = JSON.parse(answer.body.toString('utf8'))
  } catch {
    return failed(
      'commento-api',
      `${what} answered 200 but not with JSON: something other than Commento answers it`,
      ms,
    )
  }
  const success = (json as { success?: unknown } | null)?.success
  if (success === true) return passed('commento-api', `${what}: success, the database answers`, ms)
  const message = String((json as { message?: unknown } | null)?.message ?? '').slice(0, 200)
  // Commento reports a database error this way; a database that is restarting recovers by waiting.
  return failedForNow(
    'commento-api',
    `${what} answered "success": ${JSON.stringify(success ?? null)}${message ? ` ("${message}")` : ''}: Commento cannot query its database — see the app and postgres containers' logs`,
    ms,
  )
}

function location(answer: HttpAnswer): URL | undefined {
  const value = answer.headers.location
  if (!value) return undefined
  try {
    return new URL(value, 'http://relative.invalid')
  } catch {
    return undefined
  }
}

function isRedirect(answer: HttpAnswer): boolean {
  return answer.status >= 300 && answer.status < 400
}

export function acmeChallengeCheck(answer: HttpAnswer, path: string): ProbeCheck {
  const what = `GET http://…${path.replace(/[^/]+$/, '<random>')}`
  const ms = answer.durationMs
  if (isRedirect(answer))
    return failed(
      'acme-challenge',
      `${what} answered ${answer.status} → ${answer.headers.location ?? '(no Location)'}: certbot's renewals need /.well-known/acme-challenge/ served on port 80 without a redirect`,
      ms,
    )
  if (answer.status >= 500)
    return failedForNow(
      'acme-challenge',
      `${what} answered ${answer.status}: nginx does not serve the challenge directory`,
      ms,
    )
  return passed(
    'acme-challenge',
    `${what} answered ${answer.status} without a redirect: renewals can reach certbot's webroot`,
    ms,
  )
}

export function httpRedirectCheck(answer: HttpAnswer, domain: string): ProbeCheck {
  const what = 'GET http://…/'
  const ms = answer.durationMs
  const target = location(answer)
  if (isRedirect(answer) && target?.protocol === 'https:' && target.hostname === domain)
    return passed('http-redirect', `${what} redirects to ${target.href} (${answer.status})`, ms)
  if (isRedirect(answer))
    return failed(
      'http-redirect',
      `${what} redirects to ${answer.headers.location ?? '(no Location)'}, not to https://${domain}/: visitors stay off HTTPS`,
      ms,
    )
  if (answer.status >= 500)
    return failedForNow(
      'http-redirect',
      `${what} answered ${answer.status} instead of a redirect to HTTPS`,
      ms,
    )
  return failed(
    'http-redirect',
    `${what} answered ${answer.status} instead of a redirect to https://${domain}/: visitors who type http:// stay on plain HTTP`,
    ms,
  )
}

function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} kB`
}
