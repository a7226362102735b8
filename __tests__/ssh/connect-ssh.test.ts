import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseHostKey } from '../../src/inputs/host-key.js'
import { parsePrivateKey } from '../../src/inputs/private-key.js'
import type { HostKeyPin, SshSettings } from '../../src/inputs/settings.js'
import {
  connectSsh,
  type RemoteProcess,
  requireSuccess,
  SshError,
  type SshSession,
} from '../../src/ssh/index.js'
import { type KeyPair, makeKeyPair } from '../helpers/ssh-keys.js'
import { recordingReporter } from './recording-reporter.js'
import { makeHostKeys, requireTools, type Sshd, startSshd } from './sshd-server.js'

requireTools('ssh-keygen', 'ssh-keyscan')

let hostKeys: ReturnType<typeof makeHostKeys>
let clientKey: KeyPair
let otherKey: KeyPair
let encryptedKey: KeyPair
let sshd: Sshd
let pinnedHostKey: HostKeyPin
const sessions: SshSession[] = []
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(async () => {
  hostKeys = makeHostKeys()
  clientKey = makeKeyPair('ed25519')
  otherKey = makeKeyPair('ed25519')
  encryptedKey = makeKeyPair('ed25519', 'correct horse battery')
  sshd = await startSshd({
    hostKeys: [hostKeys.ed25519, hostKeys.rsa],
    authorizedKeys: [clientKey.publicKey, encryptedKey.publicKey],
  })
  // Once, up front: ssh-keyscan opens a connection per key type, which would count in the tests' logs.
  pinnedHostKey = parseHostKey(keyscan(sshd.port))
})

afterEach(async () => {
  for (const session of sessions.splice(0)) await session.close()
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

afterAll(async () => {
  await sshd?.stop()
  if (hostKeys) rmSync(hostKeys.dir, { recursive: true, force: true })
})

/** What ssh-keyscan prints for the test server: what a user pastes into the host-key secret. */
function keyscan(port: number): string {
  return execFileSync('ssh-keyscan', ['-p', String(port), '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString()
}

function settings(overrides: Partial<SshSettings> = {}): SshSettings {
  return {
    host: '127.0.0.1',
    port: sshd.port,
    username: 'root',
    privateKey: parsePrivateKey(clientKey.privateKey, undefined),
    hostKey: pinnedHostKey,
    insecureIgnoreHostKey: false,
    ...overrides,
  }
}

const noRetry = { retries: 0, minTimeoutMs: 10 }

async function connect(
  overrides: Partial<SshSettings> = {},
  reporter = recordingReporter(),
): Promise<SshSession> {
  const session = await connectSsh(settings(overrides), { reporter, retry: noRetry })
  sessions.push(session)
  return session
}

async function connectError(
  overrides: Partial<SshSettings>,
  reporter = recordingReporter(),
): Promise<SshError> {
  try {
    const session = await connectSsh(settings(overrides), {
      reporter,
      retry: { retries: 3, minTimeoutMs: 10 },
    })
    sessions.push(session)
  } catch (error) {
    expect(error).toBeInstanceOf(SshError)
    return error as SshError
  }
  throw new Error('connectSsh succeeded where it should have failed')
}

/** The sshd log of what happens while `work` runs, once sshd has logged the end of every connection. */
async function logDuring(work: () => Promise<unknown>): Promise<string> {
  const before = sshd.log().length
  await work()
  const closedLines = () =>
    sshd
      .log()
      .slice(before)
      .match(/^(Connection closed by|Disconnected from|Received disconnect from|Unable to negotiate).*$/gm)
      ?.length ?? 0
  const deadline = Date.now() + 3000
  while (closedLines() < sshd.connections(sshd.log().slice(before)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return sshd.log().slice(before)
}

function lines(process: RemoteProcess): string[] {
  const seen: string[] = []
  process.onLine((line) => seen.push(line))
  return seen
}

describe('a pinned host key', () => {
  it('connects and runs a command: lines stream in, stdin written after a line arrives is received', async () => {
    const session = await connect()
    expect(session.hostKey.fingerprint).toBe(hostKeys.ed25519.fingerprint)
    expect(session.hostKey.knownHostsLine).toBe(`[127.0.0.1]:${sshd.port} ${hostKeys.ed25519.publicKey}`)

    const remote = session.start('echo ready; read answer; echo "got $answer"; echo "to stderr" >&2; exit 3')
    const seen: string[] = []
    const bytesWrittenAtFirstLine = new Promise<number>((resolve) =>
      remote.onLine((line) => {
        seen.push(line)
        if (line === 'ready') resolve(session.stats().bytesWritten)
      }),
    )
    // Nothing was written when the line arrived; the remote side waits on `read` until this comes.
    expect(await bytesWrittenAtFirstLine).toBe(0)
    remote.stdin.write('forty-two\n')
    const exit = await remote.done
    expect(seen).toEqual(['ready', 'got forty-two'])
    expect(exit).toEqual({ code: 3, signal: null, stderr: 'to stderr\n' })
  })

  it('keeps stdin open until end(), writes it byte for byte, and counts channels and bytes', async () => {
    const session = await connect()
    const payload = randomBytes(1024 * 1024)
    const remote = session.start('echo send; sha256sum; echo done')
    const seen = lines(remote)
    await new Promise<void>((resolve) => remote.onLine((line) => line === 'send' && resolve()))
    remote.stdin.write(payload.subarray(0, 1000))
    await new Promise((resolve) => setTimeout(resolve, 100))
    remote.stdin.end(payload.subarray(1000))
    const exit = await remote.done
    requireSuccess(exit, 'sha256sum')
    expect(seen[1]).toBe(`${createHash('sha256').update(payload).digest('hex')}  -`)
    expect(seen[2]).toBe('done')

    const second = session.start('true')
    second.stdin.end()
    await second.done
    expect(session.stats()).toEqual({ channels: 2, bytesWritten: payload.length })
  })

  it('reports a failing remote command: exit code, signal, stderr; requireSuccess names it', async () => {
    const session = await connect()
    const failed = session.start('echo "disk full" >&2; exit 7')
    failed.stdin.end()
    const exit = await failed.done
    expect(exit.code).toBe(7)
    expect(() => requireSuccess(exit, 'Unpacking the release')).toThrow(
      'Unpacking the release failed with exit code 7: disk full',
    )

    const killed = session.start('kill -TERM $$')
    killed.stdin.end()
    const killedExit = await killed.done
    expect(killedExit).toMatchObject({ code: null, signal: 'SIGTERM' })
    expect(() => requireSuccess(killedExit, 'The remote script')).toThrow(
      'The remote script was killed by SIGTERM',
    )
    expect(session.stats().channels).toBe(2)
  })

  it('asks the server for its other key types when only its RSA key is pinned, and sends credentials only then', async () => {
    let hostKey: SshSession['hostKey'] | undefined
    const reporter = recordingReporter()
    const log = await logDuring(async () => {
      const session = await connectSsh(settings({ hostKey: parseHostKey(hostKeys.rsa.fingerprint) }), {
        reporter,
        retry: noRetry,
      })
      hostKey = session.hostKey
      await session.close()
    })
    expect(reporter.debugs).toContain(
      `127.0.0.1:${sshd.port} presented ssh-ed25519 ${hostKeys.ed25519.fingerprint}, which is not pinned; asking for its other host key types.`,
    )
    expect(hostKey?.fingerprint).toBe(hostKeys.rsa.fingerprint)
    expect(hostKey?.knownHostsLine).toBe(`[127.0.0.1]:${sshd.port} ${hostKeys.rsa.publicKey}`)
    expect(sshd.connections(log)).toBe(2)
    // The first connection (ed25519 presented, not pinned) ended in key exchange, before anyone asked to log in.
    const [, first = '', second = ''] = log.split(/^Connection from /m)
    expect(first).toMatch(/host key algorithm: ssh-ed25519/)
    expect(sshd.authRequests(first)).toEqual([])
    expect(second).toMatch(/host key algorithm: rsa-sha2-512/)
    expect(log.match(/^Accepted publickey for root/gm)).toHaveLength(1)
  })

  it('logs in with an encrypted key and its passphrase', async () => {
    const passphrase = 'correct horse battery'
    const session = await connect({
      privateKey: parsePrivateKey(encryptedKey.privateKey, passphrase),
      passphrase,
    })
    const remote = session.start('id -un')
    const seen = lines(remote)
    remote.stdin.end()
    requireSuccess(await remote.done, 'id')
    expect(seen).toEqual(['root'])
  })
})

describe('host key checks, before any credential is sent', () => {
  it('refuses a mismatch, naming the pinned and the presented fingerprints and what to do', async () => {
    const impostor = makeKeyPair('ed25519')
    let error: SshError | undefined
    const log = await logDuring(async () => {
      error = await connectError({ hostKey: parseHostKey(`[127.0.0.1]:${sshd.port} ${impostor.publicKey}`) })
    })
    expect(error?.kind).toBe('host-key-mismatch')
    const message = error?.message ?? ''
    expect(message).toContain(impostor.fingerprint)
    expect(message).toContain(hostKeys.ed25519.fingerprint)
    expect(message).toContain(hostKeys.rsa.fingerprint)
    expect(message).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1`)
    expect(message).toMatch(/someone may be in the middle/)
    // sshd saw the connections (one per key type it has), but nobody asked to log in: no credential was sent.
    expect(sshd.connections(log)).toBeGreaterThanOrEqual(2)
    expect(sshd.authRequests(log)).toEqual([])
    expect(log).not.toMatch(/for (invalid user )?root/)
  })

  it('without host-key, fails with the fingerprint and a known_hosts line that ssh-keygen reads', async () => {
    const { hostKey: _pin, ...unpinned } = settings()
    let error: SshError | undefined
    const log = await logDuring(async () => {
      try {
        await connectSsh(unpinned, { reporter: recordingReporter(), retry: noRetry })
      } catch (caught) {
        error = caught as SshError
      }
    })
    expect(error?.kind).toBe('host-key-unknown')
    const message = error?.message ?? ''
    expect(message).toContain(hostKeys.ed25519.fingerprint)
    expect(message).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub')
    const line = message.split('\n').find((text) => text.startsWith(`[127.0.0.1]:${sshd.port} `)) as string
    expect(line).toBe(`[127.0.0.1]:${sshd.port} ${hostKeys.ed25519.publicKey}`)

    const dir = mkdtempSync(join(tmpdir(), 'cd-known-hosts-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'known_hosts'), `${line}\n`)
    const listed = execFileSync('ssh-keygen', ['-lf', join(dir, 'known_hosts')]).toString()
    expect(listed).toContain(`${hostKeys.ed25519.fingerprint} [127.0.0.1]:${sshd.port} (ED25519)`)
    const found = execFileSync('ssh-keygen', [
      '-F',
      `[127.0.0.1]:${sshd.port}`,
      '-f',
      join(dir, 'known_hosts'),
    ])
    expect(found.toString()).toContain(hostKeys.ed25519.publicKey)
    // The line, pasted as input 'host-key', pins the server.
    expect(parseHostKey(line).fingerprints).toEqual([hostKeys.ed25519.fingerprint])

    expect(sshd.connections(log)).toBe(1)
    expect(sshd.authRequests(log)).toEqual([])
  })

  it('in insecure mode, connects with a warning that shows the fingerprint and the line to pin', async () => {
    const { hostKey: _pin, ...unpinned } = settings()
    const reporter = recordingReporter()
    const session = await connectSsh(
      { ...unpinned, insecureIgnoreHostKey: true },
      { reporter, retry: noRetry },
    )
    sessions.push(session)
    expect(reporter.warnings).toHaveLength(1)
    expect(reporter.warnings[0]).toContain(hostKeys.ed25519.fingerprint)
    expect(reporter.warnings[0]).toContain(`[127.0.0.1]:${sshd.port} ${hostKeys.ed25519.publicKey}`)
    expect(reporter.warnings[0]).toMatch(/without checking its host key/)
  })

  it('a pin wins over insecure-ignore-host-key', async () => {
    const impostor = makeKeyPair('ed25519')
    const error = await connectError({
      hostKey: parseHostKey(impostor.fingerprint),
      insecureIgnoreHostKey: true,
    })
    expect(error.kind).toBe('host-key-mismatch')
  })
})

describe('authentication failures: explained, not retried', () => {
  it('a refused key names the user, the key and authorized_keys; one connection only', async () => {
    const reporter = recordingReporter()
    let error: SshError | undefined
    const log = await logDuring(async () => {
      error = await connectError({ privateKey: parsePrivateKey(otherKey.privateKey, undefined) }, reporter)
    })
    expect(error?.kind).toBe('authentication')
    expect(error?.message).toContain(
      `The server at 127.0.0.1:${sshd.port} refused the private key (${otherKey.fingerprint}) for user 'root'.`,
    )
    expect(error?.message).toContain('~root/.ssh/authorized_keys')
    expect(sshd.connections(log)).toBe(1)
    expect(reporter.infos.filter((line) => /retrying/.test(line))).toEqual([])
  })

  it('a user that does not exist is named', async () => {
    const log = await logDuring(async () => {
      const error = await connectError({ username: 'deployer' })
      expect(error.kind).toBe('authentication')
      expect(error.message).toMatch(/for user 'deployer'.*is 'deployer' the right user \(input 'username'\)/s)
    })
    expect(log).toMatch(/Invalid user deployer/)
    expect(sshd.connections(log)).toBe(1)
  })

  it('a refused password is explained, and never shown', async () => {
    const password = 'hunter2-is-not-it'
    const { privateKey: _key, ...withoutKey } = settings()
    const reporter = recordingReporter()
    let error: SshError | undefined
    try {
      await connectSsh({ ...withoutKey, password }, { reporter, retry: { retries: 3, minTimeoutMs: 10 } })
    } catch (caught) {
      error = caught as SshError
    }
    expect(error?.kind).toBe('authentication')
    expect(error?.message).toContain(`refused the password for user 'root'`)
    expect(error?.message).not.toContain(password)
    expect(reporter.all()).not.toContain(password)
  })

  it('a server that allows no method we have says which it allows and which input to set', async () => {
    const strict = await startSshd({
      hostKeys: [hostKeys.ed25519],
      authorizedKeys: [clientKey.publicKey],
      config: ['PasswordAuthentication no'],
    })
    cleanups.push(() => strict.stop())
    const { privateKey: _key, ...withoutKey } = settings()
    let error: SshError | undefined
    try {
      await connectSsh(
        {
          ...withoutKey,
          port: strict.port,
          hostKey: parseHostKey(hostKeys.ed25519.fingerprint),
          password: 'a-password',
        },
        { reporter: recordingReporter(), retry: { retries: 2, minTimeoutMs: 10 } },
      )
    } catch (caught) {
      error = caught as SshError
    }
    expect(error?.kind).toBe('authentication')
    expect(error?.message).toBe(
      `The server at 127.0.0.1:${strict.port} accepts only publickey for user 'root', and this step has only a password: set input 'private-key' to a key whose public half is in ~root/.ssh/authorized_keys.`,
    )
    expect(strict.connections()).toBe(1)
  })

  it('no message or log line contains a line of the private key', async () => {
    const reporter = recordingReporter()
    const errors = [
      await connectError({ privateKey: parsePrivateKey(otherKey.privateKey, undefined) }, reporter),
      await connectError(
        { privateKey: parsePrivateKey(otherKey.privateKey, undefined), hostKey: undefined },
        reporter,
      ),
    ]
    const printed = [...errors.map((error) => error.message), reporter.all()].join('\n')
    for (const line of otherKey.privateKey
      .split('\n')
      .filter((text) => text.length > 20 && !text.startsWith('-----'))) {
      expect(printed).not.toContain(line)
    }
  })
})

describe('a connection that dies', () => {
  it('cut by the server: the running command ends with connection-lost, not with an exit status', async () => {
    const session = await connect()
    const remote = session.start('echo started; sleep 30')
    await new Promise<void>((resolve) => remote.onLine(() => resolve()))
    for (const pid of sshd.sessionPids()) process.kill(pid, 'SIGKILL')
    await expect(remote.done).rejects.toMatchObject({ kind: 'connection-lost' })
    await expect(remote.done).rejects.toThrow(
      /^The SSH connection to 127\.0\.0\.1:\d+ was lost before the remote command finished/,
    )
  })

  it('is noticed by keepalives: the running command ends with connection-lost', async () => {
    const session = await connectSsh(settings(), {
      reporter: recordingReporter(),
      retry: noRetry,
      timeouts: { keepaliveIntervalMs: 200, keepaliveCountMax: 2 },
    })
    sessions.push(session)
    const remote = session.start('echo started; sleep 30')
    await new Promise<void>((resolve) => remote.onLine(() => resolve()))
    // Freeze the server side of this connection: the TCP connection stays up, nothing answers.
    const frozen = sshd.sessionPids()
    expect(frozen.length).toBeGreaterThan(0)
    for (const pid of frozen) process.kill(pid, 'SIGSTOP')
    cleanups.push(() => {
      for (const pid of frozen) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    })
    const startedAt = Date.now()
    await expect(remote.done).rejects.toMatchObject({ kind: 'connection-lost' })
    await expect(remote.done).rejects.toThrow(
      /keepalive timeout.*Whether the command completed on the server is unknown/,
    )
    expect(Date.now() - startedAt).toBeLessThan(5000)
    // A new command on the dead session fails the same way instead of hanging.
    await expect(session.start('true').done).rejects.toMatchObject({ kind: 'connection-lost' })
  })
})
