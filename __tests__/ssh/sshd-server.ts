import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Fails with a message naming the tool when a test needs it and the machine lacks it. */
export function requireTools(...tools: string[]): void {
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    } catch {
      throw new Error(
        `These tests need the tool '${tool}', which is not installed: run scripts/install-test-deps.sh (Debian packages openssh-server, openssh-client, util-linux).`,
      )
    }
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()))
    })
  })
}

export interface HostKeyFiles {
  /** The private key file, for sshd's HostKey. */
  readonly path: string
  /** "TYPE BASE64" of the public key. */
  readonly publicKey: string
  /** `SHA256:...` as ssh-keygen -lf prints it. */
  readonly fingerprint: string
}

/** Host keys made by the real ssh-keygen, in their own temp dir (remove with `dir`). */
export function makeHostKeys(): { dir: string; ed25519: HostKeyFiles; rsa: HostKeyFiles } {
  const dir = mkdtempSync(join(tmpdir(), 'cd-ssh-hostkeys-'))
  const make = (type: 'ed25519' | 'rsa'): HostKeyFiles => {
    const path = join(dir, `ssh_host_${type}_key`)
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      type,
      ...(type === 'rsa' ? ['-b', '2048'] : []),
      '-N',
      '',
      '-f',
      path,
    ])
    const [keyType, base64] = readFileSync(`${path}.pub`, 'utf8').split(' ')
    const fingerprint = execFileSync('ssh-keygen', ['-lf', `${path}.pub`])
      .toString()
      .split(' ')[1] as string
    return { path, publicKey: `${keyType} ${base64}`, fingerprint }
  }
  return { dir, ed25519: make('ed25519'), rsa: make('rsa') }
}

export interface SshdOptions {
  readonly port?: number
  readonly hostKeys: readonly HostKeyFiles[]
  /** Public keys (authorized_keys lines) that may log in, as any user. */
  readonly authorizedKeys: readonly string[]
  /** More sshd_config lines, e.g. "PasswordAuthentication no". */
  readonly config?: readonly string[]
}

export interface Sshd {
  readonly port: number
  /** Everything sshd logged so far (LogLevel DEBUG1); the file is removed by stop(). */
  log(): string
  /** Log lines that show a client connecting. */
  connections(log?: string): number
  /** Log lines that show a client asking to log in (any method, including 'none'). */
  authRequests(log?: string): string[]
  /** Waits until the log matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Pids of the per-connection sshd processes (not the listener). */
  sessionPids(): number[]
  stop(): Promise<void>
}

/** The children of every process, read from /proc. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  return children
}

function descendantsOf(pid: number): number[] {
  const children = childrenByParent()
  const found: number[] = []
  const queue = [...(children.get(pid) ?? [])]
  while (queue.length) {
    const next = queue.shift() as number
    found.push(next)
    queue.push(...(children.get(next) ?? []))
  }
  return found
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

/**
 * Debian's real sshd on 127.0.0.1, as root, in a private mount namespace whose /run is a fresh tmpfs
 * (sshd needs /run/sshd; this way the machine's own /run is not touched).
 */
export async function startSshd(options: SshdOptions): Promise<Sshd> {
  requireTools('/usr/sbin/sshd', 'ssh-keygen', 'unshare', 'mount')
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'cd-sshd-'))
  const authorizedKeys = join(dir, 'authorized_keys')
  writeFileSync(authorizedKeys, options.authorizedKeys.map((key) => `${key.trim()}\n`).join(''))
  const configFile = join(dir, 'sshd_config')
  const logFile = join(dir, 'sshd.log')
  writeFileSync(
    configFile,
    [
      'ListenAddress 127.0.0.1',
      ...options.hostKeys.map((key) => `HostKey ${key.path}`),
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PidFile none',
      'LogLevel DEBUG1',
      'KbdInteractiveAuthentication no',
      ...(options.config ?? []),
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      // -E (not -e): with -e, a session's sshd also writes its debug lines into the channel's stderr.
      'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec /usr/sbin/sshd -D -E "$2" -f "$0" -p "$1"',
      configFile,
      String(port),
      logFile,
    ],
    { stdio: 'ignore' },
  )
  let log = ''
  const readLog = () => {
    try {
      log = readFileSync(logFile, 'utf8')
    } catch {
      // not written yet
    }
    return log
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const pid = child.pid as number

  const waitForLog = async (pattern: RegExp, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs
    while (!pattern.test(readLog())) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `sshd exited (${child.exitCode ?? child.signalCode}) before logging ${pattern}:\n${log}`,
        )
      }
      if (Date.now() > deadline)
        throw new Error(`sshd did not log ${pattern} within ${timeoutMs} ms:\n${log}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  const stop = async () => {
    for (const session of descendantsOf(pid)) {
      signal(session, 'SIGCONT')
      signal(session, 'SIGKILL')
    }
    signal(pid, 'SIGTERM')
    const killer = setTimeout(() => signal(pid, 'SIGKILL'), 2000)
    await exited
    clearTimeout(killer)
    rmSync(dir, { recursive: true, force: true })
  }

  try {
    await waitForLog(new RegExp(`Server listening on 127\\.0\\.0\\.1 port ${port}\\.`))
  } catch (error) {
    await stop()
    throw error
  }
  return {
    port,
    log: readLog,
    connections: (text = readLog()) => text.match(/^Connection from 127\.0\.0\.1 port /gm)?.length ?? 0,
    authRequests: (text = readLog()) => text.match(/^.*userauth-request for user .*$/gm) ?? [],
    waitForLog,
    sessionPids: () => descendantsOf(pid),
    stop,
  }
}
