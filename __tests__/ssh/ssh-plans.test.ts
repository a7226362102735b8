import { readFileSync, rmSync } from 'node:fs'
import { parseHostKey } from '../../src/inputs/host-key.js'
import { authFailureMessage, authHandlerFor } from '../../src/ssh/auth-plan.js'
import {
  connectionAdvice,
  describeConnectionError,
  isRetryableConnectionError,
} from '../../src/ssh/connection-errors.js'
import {
  hostKeyMismatchMessage,
  hostKeyUnknownMessage,
  knownHostsLine,
  presentedHostKey,
  remainingHostKeyAlgorithms,
} from '../../src/ssh/host-key-check.js'
import { requireSuccess, SshError } from '../../src/ssh/index.js'
import { lineSplitter } from '../../src/ssh/line-splitter.js'
import { makeHostKeys } from './sshd-server.js'

const withCode = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:22`), { code })

describe('host keys', () => {
  let keys: ReturnType<typeof makeHostKeys>
  beforeAll(() => {
    keys = makeHostKeys()
  })
  afterAll(() => rmSync(keys.dir, { recursive: true, force: true }))

  it('reads type and fingerprint from the raw blob exactly as ssh-keygen -lf does', () => {
    for (const files of [keys.ed25519, keys.rsa]) {
      const [type, base64] = readFileSync(`${files.path}.pub`, 'utf8').split(' ') as [string, string]
      const key = presentedHostKey(Buffer.from(base64, 'base64'))
      expect(key).toEqual({ type, fingerprint: files.fingerprint, base64 })
    }
  })

  it('writes known_hosts lines as ssh-keyscan does: bare name on port 22, [name]:port otherwise', () => {
    const key = presentedHostKey(Buffer.from(keys.ed25519.publicKey.split(' ')[1] as string, 'base64'))
    expect(knownHostsLine('vps.example.com', 22, key)).toBe(`vps.example.com ${keys.ed25519.publicKey}`)
    expect(knownHostsLine('vps.example.com', 2222, key)).toBe(
      `[vps.example.com]:2222 ${keys.ed25519.publicKey}`,
    )
    expect(knownHostsLine('2001:db8::1', 2222, key)).toBe(`[2001:db8::1]:2222 ${keys.ed25519.publicKey}`)
    // What it prints can be pasted back as input 'host-key'.
    expect(parseHostKey(knownHostsLine('vps.example.com', 2222, key)).fingerprints).toEqual([
      keys.ed25519.fingerprint,
    ])
  })

  it('asks for the remaining key types after a refused one, and for none when all were seen', () => {
    expect(remainingHostKeyAlgorithms(['ssh-ed25519'])).toEqual([
      'ecdsa-sha2-nistp256',
      'ecdsa-sha2-nistp384',
      'ecdsa-sha2-nistp521',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ])
    expect(remainingHostKeyAlgorithms(['ssh-ed25519', 'ssh-rsa'])).not.toContain('rsa-sha2-512')
    expect(
      remainingHostKeyAlgorithms([
        'ssh-ed25519',
        'ssh-rsa',
        'ecdsa-sha2-nistp256',
        'ecdsa-sha2-nistp384',
        'ecdsa-sha2-nistp521',
      ]),
    ).toEqual([])
  })

  it('explains a mismatch with both sides and the way forward', () => {
    const key = presentedHostKey(Buffer.from(keys.rsa.publicKey.split(' ')[1] as string, 'base64'))
    const pin = parseHostKey('SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
    const message = hostKeyMismatchMessage('vps.example.com', 2222, pin, [key])
    expect(message).toContain(
      "input 'host-key' (1 fingerprint) pins SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    expect(message).toContain(`the server presented ssh-rsa ${keys.rsa.fingerprint}`)
    expect(message).toContain('ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub')
    expect(message).toContain('`ssh-keyscan -p 2222 vps.example.com`')
    expect(message).toContain('no credential was sent')
  })

  it('without a pin, prints the line to paste on a line of its own', () => {
    const key = presentedHostKey(Buffer.from(keys.ed25519.publicKey.split(' ')[1] as string, 'base64'))
    const message = hostKeyUnknownMessage('vps.example.com', 22, key)
    expect(message.split('\n')).toContain(`vps.example.com ${keys.ed25519.publicKey}`)
    expect(message).toContain(keys.ed25519.fingerprint)
  })
})

describe('connection errors', () => {
  it('retries network failures and handshake timeouts, nothing else', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'EAI_AGAIN',
    ]) {
      expect(isRetryableConnectionError(withCode(code))).toBe(true)
    }
    expect(isRetryableConnectionError(new Error('Timed out while waiting for handshake'))).toBe(true)
    expect(isRetryableConnectionError(new Error('Connection lost before handshake'))).toBe(true)
    expect(isRetryableConnectionError(withCode('ENOTFOUND'))).toBe(false)
    expect(isRetryableConnectionError(new Error('All configured authentication methods failed'))).toBe(false)
    expect(isRetryableConnectionError(new Error('Host denied (verification failed)'))).toBe(false)
    expect(isRetryableConnectionError(new SshError('host-key-mismatch', 'x'))).toBe(false)
  })

  it('describes each failure and says what to check', () => {
    expect(describeConnectionError(withCode('EHOSTUNREACH'))).toBe('no route to the host (EHOSTUNREACH)')
    expect(describeConnectionError(new Error('Timed out while waiting for handshake'))).toBe(
      'no SSH handshake within the timeout',
    )
    expect(connectionAdvice(withCode('ENOTFOUND'), 'vps.exmaple.com', 22)).toBe(
      'Check input \'host\' ("vps.exmaple.com"): the runner cannot resolve it.',
    )
    expect(connectionAdvice(withCode('ETIMEDOUT'), 'vps.example.com', 2222)).toContain('reach port 2222')
  })
})

describe('authentication', () => {
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nnot-used-here\n-----END OPENSSH PRIVATE KEY-----\n'
  const base = { host: 'vps.example.com', port: 22, username: 'deploy', insecureIgnoreHostKey: false }

  /** Runs ssh2's side of the conversation: the server answers each request with `serverMethods`. */
  function converse(settings: Parameters<typeof authHandlerFor>[0], serverMethods: string[]): string[] {
    const { handler } = authHandlerFor(settings)
    const sent: string[] = []
    let methodsLeft: string[] | null = null
    for (;;) {
      let next: unknown
      handler(methodsLeft as never, false, (method) => {
        next = method
      })
      if (next === false) return sent
      sent.push((next as { type: string }).type)
      methodsLeft = serverMethods
    }
  }

  it("offers a key at once (no 'none' round trip), then tries only methods the server accepts", () => {
    expect(converse({ ...base, privateKey: key, password: 'pw-1234' }, ['publickey', 'password'])).toEqual([
      'publickey',
      'password',
    ])
    expect(converse({ ...base, privateKey: key, password: 'pw-1234' }, ['password'])).toEqual([
      'publickey',
      'password',
    ])
    expect(converse({ ...base, privateKey: key }, ['password'])).toEqual(['publickey'])
  })

  it("with only a password, asks 'none' first, then tries password or keyboard-interactive", () => {
    expect(converse({ ...base, password: 'pw-1234' }, ['publickey', 'keyboard-interactive'])).toEqual([
      'none',
      'keyboard-interactive',
    ])
    expect(converse({ ...base, password: 'pw-1234' }, ['password', 'keyboard-interactive'])).toEqual([
      'none',
      'password',
    ])
    expect(converse({ ...base, password: 'pw-1234' }, ['publickey'])).toEqual(['none'])
  })

  it('answers keyboard-interactive password prompts only', () => {
    const { handler, attempts } = authHandlerFor({ ...base, password: 'pw-1234' })
    handler(null as never, false, () => {})
    let method: { prompt: (...args: unknown[]) => void } | undefined
    handler(['keyboard-interactive'], false, (next) => {
      method = next as never
    })
    const answers: string[][] = []
    method?.prompt('', '', '', [{ prompt: 'Password: ', echo: false }], (a: string[]) => answers.push(a))
    method?.prompt('', '', '', [{ prompt: 'Verification code: ', echo: false }], (a: string[]) =>
      answers.push(a),
    )
    expect(answers).toEqual([['pw-1234'], ['']])
    expect(attempts.unanswerablePrompts).toBe(true)
    expect(authFailureMessage({ ...base, password: 'pw-1234' }, attempts)).toContain('a one-time code?')
  })

  it('explains refusals by user, and names the inputs to fix', () => {
    expect(
      authFailureMessage(
        { ...base, privateKey: key },
        { tried: ['publickey'], serverMethods: ['publickey'], unanswerablePrompts: false },
        'SHA256:abc',
      ),
    ).toBe(
      "The server at vps.example.com:22 refused the private key (SHA256:abc) for user 'deploy'. Is its public key in ~deploy/.ssh/authorized_keys on the server (`ssh-keygen -lf ~deploy/.ssh/authorized_keys` lists the fingerprints there), and is 'deploy' the right user (input 'username')?",
    )
    expect(
      authFailureMessage(
        { ...base, username: 'root', password: 'x' },
        { tried: ['password'], serverMethods: ['publickey', 'password'], unanswerablePrompts: false },
      ),
    ).toBe(
      "The server at vps.example.com:22 refused the password for user 'root': check input 'password' and input 'username'. For root, PermitRootLogin prohibit-password (the default) refuses every password.",
    )
    expect(
      authFailureMessage(
        { ...base, privateKey: key },
        { tried: [], serverMethods: ['password'], unanswerablePrompts: false },
      ),
    ).toBe(
      "The server at vps.example.com:22 accepts only password for user 'deploy', and this step has only a private key: set input 'password'.",
    )
    // The key is offered without asking first; a server that takes no key still gets this explanation.
    expect(
      authFailureMessage(
        { ...base, privateKey: key },
        { tried: ['publickey'], serverMethods: ['password'], unanswerablePrompts: false },
      ),
    ).toBe(
      "The server at vps.example.com:22 accepts only password for user 'deploy', and this step has only a private key: set input 'password'.",
    )
    expect(
      authFailureMessage(
        { ...base, privateKey: key },
        { tried: [], serverMethods: ['gssapi-with-mic'], unanswerablePrompts: false },
      ),
    ).toContain('this action logs in with a key (publickey) or a password')
  })
})

describe('output lines', () => {
  it('splits chunks into lines, across chunk and UTF-8 character boundaries, CRLF included', () => {
    const lines: string[] = []
    const splitter = lineSplitter((line) => lines.push(line))
    const text = Buffer.from('{"phase":"lock"}\r\nüber ✓\n\nlast without newline')
    for (let i = 0; i < text.length; i += 3) splitter.push(text.subarray(i, i + 3))
    expect(lines).toEqual(['{"phase":"lock"}', 'über ✓', ''])
    splitter.end()
    expect(lines).toEqual(['{"phase":"lock"}', 'über ✓', '', 'last without newline'])
  })
})

describe('requireSuccess', () => {
  it('passes exit 0 and names the command, the exit and stderr otherwise', () => {
    expect(() => requireSuccess({ code: 0, signal: null, stderr: 'warning' }, 'x')).not.toThrow()
    expect(() => requireSuccess({ code: 2, signal: null, stderr: '' }, 'The preflight')).toThrow(
      'The preflight failed with exit code 2 (no output on stderr)',
    )
  })
})
