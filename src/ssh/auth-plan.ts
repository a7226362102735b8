import type { AuthenticationType, AuthHandlerMiddleware, KeyboardInteractiveAuthMethod, Prompt } from 'ssh2'
import type { SshSettings } from '../inputs/settings.js'

type CredentialMethod = 'publickey' | 'password' | 'keyboard-interactive'

/** What happened during authentication, recorded to explain a refusal. */
export interface AuthAttempts {
  /** Methods offered to the server, in order ('none' only asks which methods the server allows). */
  readonly tried: CredentialMethod[]
  /** The methods the server said it still accepts, after its last refusal. */
  serverMethods?: readonly string[]
  /** The server asked keyboard-interactive questions other than a password (e.g. a one-time code). */
  unanswerablePrompts: boolean
}

/** Answers keyboard-interactive prompts that only ask for the password; anything else cannot be answered. */
function passwordPrompter(password: string, attempts: AuthAttempts): KeyboardInteractiveAuthMethod['prompt'] {
  return (_name, _instructions, _lang, prompts: Prompt[], finish) => {
    if (prompts.every((prompt) => /password/i.test(prompt.prompt))) {
      finish(prompts.map(() => password))
      return
    }
    attempts.unanswerablePrompts = true
    finish(prompts.map(() => ''))
  }
}

/**
 * ssh2's authHandler for these settings: the key first, then the password (as `password`, or through
 * keyboard-interactive when that is all the server offers). With only a password, 'none' goes first, so
 * the password is sent only by a method the server takes. With a key there is no 'none': a refusal of the
 * key lists the methods left just as well, and asking first costs a round trip on every connection.
 * Credentials stay in memory: the key is handed to ssh2 as text and never written anywhere.
 */
export function authHandlerFor(ssh: SshSettings): { handler: AuthHandlerMiddleware; attempts: AuthAttempts } {
  const attempts: AuthAttempts = { tried: [], unanswerablePrompts: false }
  const plan: CredentialMethod[] = []
  if (ssh.privateKey) plan.push('publickey')
  if (ssh.password) plan.push('password', 'keyboard-interactive')
  let position = 0
  const username = ssh.username
  const handler: AuthHandlerMiddleware = (methodsLeft, _partialSuccess, next) => {
    // ssh2 calls with null before the first request, although its types say otherwise.
    if (methodsLeft === null) {
      if (!ssh.privateKey) {
        next({ type: 'none', username })
        return
      }
    } else attempts.serverMethods = [...methodsLeft]
    while (position < plan.length) {
      const method = plan[position++] as CredentialMethod
      if (methodsLeft !== null && !methodsLeft.includes(method as AuthenticationType)) continue
      // keyboard-interactive is only the way in for a password when the server does not take it directly.
      if (method === 'keyboard-interactive' && attempts.tried.includes('password')) continue
      attempts.tried.push(method)
      if (method === 'publickey') {
        next({
          type: 'publickey',
          username,
          key: ssh.privateKey as string,
          ...(ssh.passphrase ? { passphrase: ssh.passphrase } : {}),
        })
      } else if (method === 'password') {
        next({ type: 'password', username, password: ssh.password as string })
      } else {
        next({
          type: 'keyboard-interactive',
          username,
          prompt: passwordPrompter(ssh.password as string, attempts),
        })
      }
      return
    }
    // ssh2 accepts false ("no more methods"), which its types do not list.
    next(false as unknown as AuthenticationType)
  }
  return { handler, attempts }
}

/** Why the server did not let us in, and what to check; names the user, never a credential. */
export function authFailureMessage(
  ssh: Pick<SshSettings, 'host' | 'port' | 'username' | 'privateKey' | 'password'>,
  attempts: AuthAttempts,
  keyFingerprint?: string,
): string {
  const where = `${ssh.host}:${ssh.port}`
  const user = ssh.username
  const authorizedKeys = `~${user}/.ssh/authorized_keys`
  const rootNote =
    user === 'root' ? " For root, the server's sshd_config must also allow it (PermitRootLogin)." : ''
  const sentences: string[] = []
  // A key offered to a server that takes no key at all (it no longer lists publickey) was not refused
  // for being the wrong key: that case is explained below by what the server does accept.
  const refusedKey =
    attempts.tried.includes('publickey') && (attempts.serverMethods?.includes('publickey') ?? true)
  const refusedPassword =
    attempts.tried.includes('password') || attempts.tried.includes('keyboard-interactive')
  if (refusedKey) {
    sentences.push(
      `The server at ${where} refused the private key${keyFingerprint ? ` (${keyFingerprint})` : ''} for user '${user}'.`,
      `Is its public key in ${authorizedKeys} on the server (\`ssh-keygen -lf ${authorizedKeys}\` lists the fingerprints there), and is '${user}' the right user (input 'username')?${rootNote}`,
    )
  }
  if (refusedPassword) {
    sentences.push(
      attempts.unanswerablePrompts
        ? `The server at ${where} asked user '${user}' for more than a password (a one-time code?), which this action cannot answer: log in with a key (input 'private-key').`
        : `The server at ${where} refused the password for user '${user}': check input 'password' and input 'username'.${
            user === 'root'
              ? ' For root, PermitRootLogin prohibit-password (the default) refuses every password.'
              : ''
          }`,
    )
  }
  if (sentences.length > 0) return sentences.join(' ')

  if (!ssh.privateKey && !ssh.password) {
    return `No credential to log in to ${where} as '${user}': set input 'private-key' (or 'password').`
  }
  const allowed = (attempts.serverMethods ?? []).filter((m) => m !== 'none')
  const have = ssh.privateKey
    ? ssh.password
      ? 'a private key and a password'
      : 'only a private key'
    : 'only a password'
  const hints: string[] = []
  if (!ssh.privateKey && allowed.includes('publickey')) {
    hints.push(`set input 'private-key' to a key whose public half is in ${authorizedKeys}`)
  }
  if (!ssh.password && (allowed.includes('password') || allowed.includes('keyboard-interactive'))) {
    hints.push(`set input 'password'`)
  }
  return `The server at ${where} accepts only ${allowed.length ? allowed.join(', ') : 'no method'} for user '${user}', and this step has ${have}: ${
    hints.length ? hints.join(', or ') : 'this action logs in with a key (publickey) or a password'
  }.`
}
