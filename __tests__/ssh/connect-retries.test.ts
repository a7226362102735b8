import { rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { parseHostKey } from '../../src/inputs/host-key.js'
import { parsePrivateKey } from '../../src/inputs/private-key.js'
import type { SshSettings } from '../../src/inputs/settings.js'
import { connectSsh, SshError, type SshSession } from '../../src/ssh/index.js'
import { type KeyPair, makeKeyPair } from '../helpers/ssh-keys.js'
import { recordingReporter } from './recording-reporter.js'
import { freePort, makeHostKeys, type Sshd, startSshd } from './sshd-server.js'

let hostKeys: ReturnType<typeof makeHostKeys>
let clientKey: KeyPair
const cleanups: (() => Promise<void> | void)[] = []

beforeAll(() => {
  hostKeys = makeHostKeys()
  clientKey = makeKeyPair('ed25519')
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

afterAll(() => {
  if (hostKeys) rmSync(hostKeys.dir, { recursive: true, force: true })
})

function settings(port: number): SshSettings {
  return {
    host: '127.0.0.1',
    port,
    username: 'root',
    privateKey: parsePrivateKey(clientKey.privateKey, undefined),
    hostKey: parseHostKey(hostKeys.ed25519.fingerprint),
    insecureIgnoreHostKey: false,
  }
}

/** A TCP server on a free port that does `onConnection` with every client, and counts them. */
async function fakeServer(
  onConnection: (socket: Socket) => void,
): Promise<{ port: number; accepted(): number }> {
  let accepted = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    onConnection(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('no address')
  return { port: address.port, accepted: () => accepted }
}

async function failure(promise: Promise<SshSession>): Promise<SshError> {
  try {
    const session = await promise
    cleanups.push(() => session.close())
  } catch (error) {
    expect(error).toBeInstanceOf(SshError)
    return error as SshError
  }
  throw new Error('connectSsh succeeded where it should have failed')
}

describe('retries with backoff, on connection errors only', () => {
  it('retries a refused connection until sshd is up, logging one line per retry', async () => {
    const port = await freePort()
    let sshd: Promise<Sshd> | undefined
    const reporter = recordingReporter((message) => {
      // The first attempt failed: only now does the server come up.
      if (/attempt 1 of/.test(message)) {
        sshd = startSshd({ port, hostKeys: [hostKeys.ed25519], authorizedKeys: [clientKey.publicKey] })
        cleanups.push(async () => (await sshd)?.stop())
      }
    })
    const session = await connectSsh(settings(port), { reporter, retry: { retries: 5, minTimeoutMs: 400 } })
    cleanups.push(() => session.close())

    const retryLines = reporter.infos.filter((line) => /retrying in/.test(line))
    expect(retryLines.length).toBeGreaterThanOrEqual(1)
    expect(retryLines[0]).toBe(
      `SSH connection to 127.0.0.1:${port} failed (attempt 1 of 6): connection refused (ECONNREFUSED); retrying in 400 ms.`,
    )
    retryLines.forEach((line, index) => {
      expect(line).toContain(`(attempt ${index + 1} of 6)`)
      expect(line).toContain(
        `retrying in ${400 * 2 ** index < 1000 ? `${400 * 2 ** index} ms` : `${(400 * 2 ** index) / 1000} s`}`,
      )
    })
    // Attempts made = retries logged + the one that worked; sshd saw only that last one.
    const server = (await sshd) as Sshd
    expect(server.connections()).toBe(1)
    expect(reporter.infos.at(-1)).toMatch(
      /^Connected to 127\.0\.0\.1:\d+ as root \(host key ssh-ed25519 SHA256:/,
    )

    const remote = session.start('echo up')
    const lines: string[] = []
    remote.onLine((line) => lines.push(line))
    remote.stdin.end()
    expect((await remote.done).code).toBe(0)
    expect(lines).toEqual(['up'])
  })

  it('gives up after the last retry with what happened and what to check', async () => {
    const port = await freePort()
    const reporter = recordingReporter()
    const startedAt = Date.now()
    const error = await failure(
      connectSsh(settings(port), { reporter, retry: { retries: 2, minTimeoutMs: 50 } }),
    )
    expect(error.kind).toBe('connection')
    expect(error.message).toBe(
      `Could not open an SSH session to 127.0.0.1:${port} after 3 attempts: connection refused (ECONNREFUSED). Nothing accepts connections on 127.0.0.1:${port}: is sshd running there, and is input 'port' right?`,
    )
    expect(reporter.infos.filter((line) => /retrying in/.test(line))).toHaveLength(2)
    // Waited 50 + 100 ms between the attempts.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150)
  })

  it('retries a server that never starts the handshake (readyTimeout), then says so', async () => {
    const silent = await fakeServer(() => {})
    const reporter = recordingReporter()
    const error = await failure(
      connectSsh(settings(silent.port), {
        reporter,
        retry: { retries: 2, minTimeoutMs: 20 },
        timeouts: { readyTimeoutMs: 300 },
      }),
    )
    expect(error.kind).toBe('connection')
    expect(error.message).toMatch(
      /after 3 attempts: no SSH handshake within the timeout\. Check that the server is up/,
    )
    expect(silent.accepted()).toBe(3)
  })

  it('retries a connection reset before the handshake', async () => {
    const resetting = await fakeServer((socket) => socket.resetAndDestroy())
    const reporter = recordingReporter()
    const error = await failure(
      connectSsh(settings(resetting.port), { reporter, retry: { retries: 1, minTimeoutMs: 20 } }),
    )
    expect(error.kind).toBe('connection')
    expect(error.message).toMatch(
      /after 2 attempts: (connection reset by the server \(ECONNRESET\)|the server closed the connection before the SSH handshake)/,
    )
    expect(resetting.accepted()).toBe(2)
    expect(reporter.infos[0]).toMatch(/\(attempt 1 of 2\)/)
  })
})
