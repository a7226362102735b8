/** Socket error codes that mean "the network or the server is not there yet": worth another attempt. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
])

// ssh2's own words for a connection that ended before an SSH session existed.
const HANDSHAKE_TIMEOUT = 'Timed out while waiting for handshake'
const LOST_BEFORE_HANDSHAKE = 'Connection lost before handshake'
// node-ssh's words when the socket closed without an error.
const NO_RESPONSE = 'No response from server'

// Errors from Node's own sockets may come from another realm (e.g. under jest's vm): read fields, not instanceof.
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' ? message : String(error)
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Whether a failed connection attempt may be retried. Only network-level failures are: the caller
 * must already have ruled out host key and authentication failures, which are never retried.
 */
export function isRetryableConnectionError(error: unknown): boolean {
  const code = codeOf(error)
  if (code && RETRYABLE_CODES.has(code)) return true
  const message = messageOf(error)
  return message === HANDSHAKE_TIMEOUT || message === LOST_BEFORE_HANDSHAKE || message === NO_RESPONSE
}

/** A short description of a connection failure: what happened, with the error code when there is one. */
export function describeConnectionError(error: unknown): string {
  const code = codeOf(error)
  const message = messageOf(error)
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)'
    case 'ECONNRESET':
      return 'connection reset by the server (ECONNRESET)'
    case 'ETIMEDOUT':
      return 'connection timed out (ETIMEDOUT)'
    case 'EHOSTUNREACH':
      return 'no route to the host (EHOSTUNREACH)'
    case 'ENETUNREACH':
      return 'network unreachable (ENETUNREACH)'
    case 'EAI_AGAIN':
      return 'temporary DNS failure (EAI_AGAIN)'
    case 'ENOTFOUND':
      return 'the host name does not resolve (ENOTFOUND)'
  }
  if (message === HANDSHAKE_TIMEOUT) return 'no SSH handshake within the timeout'
  if (message === LOST_BEFORE_HANDSHAKE || message === NO_RESPONSE)
    return 'the server closed the connection before the SSH handshake'
  return code ? `${message} (${code})` : message
}

/** What the user can check after the retries ran out, by the kind of the last failure. */
export function connectionAdvice(error: unknown, host: string, port: number): string {
  const code = codeOf(error)
  const message = messageOf(error)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `Check input 'host' ("${host}"): the runner cannot resolve it.`
  if (code === 'ECONNREFUSED')
    return `Nothing accepts connections on ${host}:${port}: is sshd running there, and is input 'port' right?`
  if (message === LOST_BEFORE_HANDSHAKE || message === NO_RESPONSE || code === 'ECONNRESET')
    return 'The server hung up before SSH started: check sshd (MaxStartups) and whether a firewall or fail2ban blocks the runner.'
  return `Check that the server is up, that input 'host' and input 'port' are right, and that a firewall lets the runner reach port ${port}.`
}
