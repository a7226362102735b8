/** What went wrong with SSH, so callers can tell a host key problem from a flaky network or a failed command. */
export type SshErrorKind =
  /** The server's host key is not the pinned one. Never retried. */
  | 'host-key-mismatch'
  /** No host key is pinned and insecure mode is off: the message carries the line to pin. Never retried. */
  | 'host-key-unknown'
  /** The server refused our credentials, or allows no method we have. Never retried. */
  | 'authentication'
  /** No SSH session could be set up (refused, timed out, reset, DNS), after the retries. */
  | 'connection'
  /** An established connection died before a remote command finished. */
  | 'connection-lost'
  /** A remote command exited non-zero or was killed (see requireSuccess). */
  | 'remote-command'

/** An SSH failure whose message says what happened and what to do; it never contains a secret. */
export class SshError extends Error {
  constructor(
    readonly kind: SshErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'SshError'
  }
}
