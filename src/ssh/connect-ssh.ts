import { NodeSSH } from 'node-ssh'
import pRetry, { AbortError } from 'p-retry'
import ssh2, { type ServerHostKeyAlgorithm } from 'ssh2'
import { fingerprintOf } from '../inputs/host-key.js'
import type { HostKeyPin, SshSettings } from '../inputs/settings.js'
import type { Reporter } from '../report/reporter.js'
import { authFailureMessage, authHandlerFor } from './auth-plan.js'
import { connectionAdvice, describeConnectionError, isRetryableConnectionError } from './connection-errors.js'
import {
  hostKeyMismatchMessage,
  hostKeyUnknownMessage,
  insecureHostKeyWarning,
  knownHostsLine,
  matchesPin,
  type PresentedHostKey,
  presentedHostKey,
  remainingHostKeyAlgorithms,
} from './host-key-check.js'
import { SshError } from './ssh-error.js'
import { type SshSession, sshSession } from './ssh-session.js'

export interface RetryPolicy {
  /** Attempts after the first one. */
  readonly retries: number
  /** The wait before the first retry; each later wait doubles, up to maxTimeoutMs. */
  readonly minTimeoutMs: number
  readonly maxTimeoutMs?: number
}

export interface SshTimeouts {
  /** From opening the TCP connection to being logged in. */
  readonly readyTimeoutMs?: number
  /** A keepalive every this often; after keepaliveCountMax unanswered ones the connection counts as dead. */
  readonly keepaliveIntervalMs?: number
  readonly keepaliveCountMax?: number
}

export interface ConnectDeps {
  readonly reporter: Reporter
  readonly retry?: RetryPolicy
  readonly timeouts?: SshTimeouts
}

// A rebooting VPS takes about a minute to answer again: 2 + 4 + 8 + 16 + 30 s of waiting.
const DEFAULT_RETRY: Required<RetryPolicy> = { retries: 5, minTimeoutMs: 2000, maxTimeoutMs: 30_000 }
// A dead connection is noticed after about 45 s without an answer.
const DEFAULT_TIMEOUTS: Required<SshTimeouts> = {
  readyTimeoutMs: 20_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
}

/** The fingerprint of the client's public key, to name it in messages (the public half is no secret). */
function clientKeyFingerprint(ssh: SshSettings): string | undefined {
  if (!ssh.privateKey) return undefined
  const parsed = ssh2.utils.parseKey(ssh.privateKey, ssh.passphrase)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  return key && !(key instanceof Error) ? fingerprintOf(key.getPublicSSH()) : undefined
}

interface Connected {
  readonly client: ssh2.Client
  readonly key: PresentedHostKey
}

/** The outcome of one TCP connection: logged in, or why not. Host key and auth failures become SshErrors. */
async function connectOnce(
  ssh: SshSettings,
  timeouts: Required<SshTimeouts>,
  serverHostKeyAlgorithms: ServerHostKeyAlgorithm[] | undefined,
): Promise<Connected | { readonly refusedKey: PresentedHostKey }> {
  let presented: PresentedHostKey | undefined
  let accepted = false
  const { handler, attempts } = authHandlerFor(ssh)
  const node = new NodeSSH()
  try {
    await node.connect({
      host: ssh.host,
      port: ssh.port,
      username: ssh.username,
      // Runs during key exchange, before any credential is sent. A pin, when given, always wins over
      // insecure-ignore-host-key; without either, the connection is refused so the key can be shown.
      hostVerifier: (blob: Buffer) => {
        presented = presentedHostKey(blob)
        accepted = ssh.hostKey ? matchesPin(presented, ssh.hostKey) : ssh.insecureIgnoreHostKey
        return accepted
      },
      authHandler: handler,
      readyTimeout: timeouts.readyTimeoutMs,
      keepaliveInterval: timeouts.keepaliveIntervalMs,
      keepaliveCountMax: timeouts.keepaliveCountMax,
      ...(serverHostKeyAlgorithms ? { algorithms: { serverHostKey: serverHostKeyAlgorithms } } : {}),
    })
  } catch (error) {
    node.dispose()
    if (presented && !accepted) {
      if (!ssh.hostKey)
        throw new SshError('host-key-unknown', hostKeyUnknownMessage(ssh.host, ssh.port, presented))
      return { refusedKey: presented }
    }
    const level = (error as { level?: unknown }).level
    if (presented && (level === 'client-authentication' || attempts.tried.length > 0)) {
      throw new SshError('authentication', authFailureMessage(ssh, attempts, clientKeyFingerprint(ssh)), {
        cause: error,
      })
    }
    throw error
  }
  const client = node.connection
  if (!client || !presented) throw new Error('No response from server')
  return { client, key: presented }
}

/**
 * One logged-in connection with the host key checked. When the server's first key is not pinned, it is
 * asked for its other key types (a pin may name only its RSA key, as hosting panels often show);
 * no credential is sent to a server until one of its keys matched.
 */
async function connectVerified(
  ssh: SshSettings,
  timeouts: Required<SshTimeouts>,
  reporter: Reporter,
): Promise<Connected> {
  const refused: PresentedHostKey[] = []
  let algorithms: ServerHostKeyAlgorithm[] | undefined
  do {
    let outcome: Awaited<ReturnType<typeof connectOnce>>
    try {
      outcome = await connectOnce(ssh, timeouts, algorithms)
    } catch (error) {
      // Asking for another key type failed (the server has none left): the refusal stands.
      if (refused.length === 0) throw error
      break
    }
    if ('client' in outcome) return outcome
    refused.push(outcome.refusedKey)
    algorithms = remainingHostKeyAlgorithms(refused.map((key) => key.type))
    reporter.debug(
      `${ssh.host}:${ssh.port} presented ${outcome.refusedKey.type} ${outcome.refusedKey.fingerprint}, which is not pinned${algorithms.length ? '; asking for its other host key types' : ''}.`,
    )
  } while (algorithms.length > 0)
  const pin = ssh.hostKey as HostKeyPin
  throw new SshError('host-key-mismatch', hostKeyMismatchMessage(ssh.host, ssh.port, pin, refused))
}

/**
 * Opens an SSH session to the server in `settings`: host key verified (pinned, or shown and refused,
 * or accepted with a warning in insecure mode), connection errors retried with backoff, authentication
 * and host key failures never retried. Throws SshError; messages never contain a secret.
 */
export async function connectSsh(settings: SshSettings, deps: ConnectDeps): Promise<SshSession> {
  const { reporter } = deps
  const retry = { ...DEFAULT_RETRY, ...deps.retry }
  const timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts }
  const where = `${settings.host}:${settings.port}`
  const attempts = retry.retries + 1
  let made = 0
  let lastError: unknown
  let connected: Connected
  try {
    connected = await pRetry(
      async () => {
        made++
        try {
          return await connectVerified(settings, timeouts, reporter)
        } catch (error) {
          // Keep the error itself; p-retry only gets to know whether to try again.
          lastError = error
          if (error instanceof SshError || !isRetryableConnectionError(error))
            throw new AbortError('not retried')
          throw new Error(describeConnectionError(error))
        }
      },
      {
        retries: retry.retries,
        factor: 2,
        minTimeout: retry.minTimeoutMs,
        maxTimeout: retry.maxTimeoutMs,
        randomize: false,
        onFailedAttempt: (error) => {
          if (error.retriesLeft <= 0) return
          const waitMs = Math.min(retry.minTimeoutMs * 2 ** (error.attemptNumber - 1), retry.maxTimeoutMs)
          reporter.info(
            `SSH connection to ${where} failed (attempt ${error.attemptNumber} of ${attempts}): ${error.message}; retrying in ${formatSeconds(waitMs)}.`,
          )
        },
      },
    )
  } catch {
    if (lastError instanceof SshError) throw lastError
    throw new SshError(
      'connection',
      `Could not open an SSH session to ${where}${made > 1 ? ` after ${made} attempts` : ''}: ${describeConnectionError(lastError)}. ${connectionAdvice(lastError, settings.host, settings.port)}`,
      { cause: lastError },
    )
  }
  const { client, key } = connected
  if (!settings.hostKey) reporter.warning(insecureHostKeyWarning(settings.host, settings.port, key))
  reporter.info(`Connected to ${where} as ${settings.username} (host key ${key.type} ${key.fingerprint}).`)
  return sshSession(client, where, {
    fingerprint: key.fingerprint,
    knownHostsLine: knownHostsLine(settings.host, settings.port, key),
  })
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`
}
