import { Transform, type Writable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import type { Client, ClientChannel } from 'ssh2'
import { lineSplitter } from './line-splitter.js'
import { SshError } from './ssh-error.js'

/** How a remote command ended. */
export interface RemoteExit {
  /** The exit status; null when the command was killed by a signal. */
  readonly code: number | null
  /** The signal that killed it (e.g. `SIGTERM`), or null. */
  readonly signal: string | null
  /** What it wrote to stderr (the last 64 KiB when it wrote more). */
  readonly stderr: string
}

/** One remote command on its own SSH channel. */
export interface RemoteProcess {
  /**
   * The command's stdin (binary-safe), open until end() is called: write whenever the protocol with the
   * remote side calls for it. Once the command has ended, writes fail (through their callback) and go nowhere.
   */
  readonly stdin: Writable
  /** Calls `listener` with each complete stdout line as it arrives (without the line break). */
  onLine(listener: (line: string) => void): void
  /**
   * Resolves when the channel closes, with the exit status: a non-zero `code` is the caller's to check
   * (see requireSuccess). Rejects with SshError 'connection-lost' when the connection dies first.
   */
  readonly done: Promise<RemoteExit>
}

export interface SessionStats {
  /** SSH channels opened in this session (one per start()). */
  readonly channels: number
  /** Bytes written to the remote commands' stdin, in total. */
  readonly bytesWritten: number
}

/** An authenticated SSH connection to the server. */
export interface SshSession {
  /** The server's host key as seen: `SHA256:` fingerprint and the known_hosts line that pins it. */
  readonly hostKey: { readonly fingerprint: string; readonly knownHostsLine: string }
  /** Runs one command over one new channel. */
  start(command: string): RemoteProcess
  /** Counts, for tests and benchmarks. */
  stats(): SessionStats
  /** Closes the connection; commands still running end with 'connection-lost'. Safe to call twice. */
  close(): Promise<void>
}

const STDERR_KEPT = 64 * 1024
const CLOSE_TIMEOUT_MS = 5000

/** Keeps the end of a growing text: the last lines of stderr explain a failure best. */
function keepTail(text: string): string {
  return text.length <= STDERR_KEPT ? text : `…${text.slice(text.length - STDERR_KEPT)}`
}

/**
 * A session over an authenticated ssh2 Client.
 *
 * Channels are opened with ssh2's Client.exec rather than node-ssh's execCommand: execCommand keeps all
 * of stdout and stderr in memory, and resolves a channel that died with the connection exactly like a
 * command that exited, with code null; the deploy needs streamed lines, bounded memory, and to tell the two apart.
 */
export function sshSession(client: Client, where: string, hostKey: SshSession['hostKey']): SshSession {
  let channels = 0
  let bytesWritten = 0
  let closed = false
  let lastError: Error | undefined
  client.on('error', (error: Error) => {
    lastError = error
  })
  const closedPromise = new Promise<void>((resolve) =>
    client.once('close', () => {
      closed = true
      resolve()
    }),
  )

  const lostMessage = (why?: string) => {
    const reason = why ?? (lastError ? lastError.message.toLowerCase() : 'the connection was closed')
    return `The SSH connection to ${where} was lost before the remote command finished (${reason}). Whether the command completed on the server is unknown.`
  }

  const start = (command: string): RemoteProcess => {
    channels++
    const stdin = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytesWritten += chunk.length
        callback(null, chunk)
      },
    })
    const listeners: ((line: string) => void)[] = []
    const stdout = lineSplitter((line) => {
      for (const listener of listeners) listener(line)
    })
    const done = new Promise<RemoteExit>((resolve, reject) => {
      const lose = (why?: string, cause?: unknown) => {
        stdin.destroy()
        reject(new SshError('connection-lost', lostMessage(why), { cause }))
      }
      if (closed) {
        lose('the session was already closed')
        return
      }
      const onChannel = (error: Error | undefined, channel: ClientChannel) => {
        if (error) {
          lose(`the server did not open a channel: ${error.message}`, error)
          return
        }
        let exit: { code: number | null; signal: string | null } | undefined
        let stderr = ''
        const stderrDecoder = new StringDecoder('utf8')
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { code: code ?? null, signal: signal ?? null }
        })
        channel.on('data', (chunk: Buffer) => stdout.push(chunk))
        channel.stderr.on('data', (chunk: Buffer) => {
          stderr = keepTail(stderr + stderrDecoder.write(chunk))
        })
        // Writing after the remote side closed its stdin errors on the channel; the exit status tells the story.
        channel.on('error', () => {})
        channel.on('close', () => {
          stdout.end()
          stderr = keepTail(stderr + stderrDecoder.end())
          stdin.unpipe(channel)
          stdin.destroy()
          if (exit) resolve({ ...exit, stderr })
          else lose()
        })
        stdin.pipe(channel)
      }
      try {
        client.exec(command, onChannel)
      } catch (error) {
        lose('the session was already closed', error)
      }
    })
    // The caller awaits `done`; this only keeps an ignored rejection from crashing the process.
    done.catch(() => {})
    return { stdin, onLine: (listener) => listeners.push(listener), done }
  }

  const close = async () => {
    if (closed) return
    client.end()
    const timer = setTimeout(() => client.destroy(), CLOSE_TIMEOUT_MS)
    await closedPromise
    clearTimeout(timer)
  }

  return { hostKey, start, stats: () => ({ channels, bytesWritten }), close }
}

/** Throws SshError 'remote-command' unless the command exited 0: "`what` failed with exit code N: stderr". */
export function requireSuccess(exit: RemoteExit, what: string): void {
  if (exit.code === 0) return
  const how =
    exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `failed with exit code ${exit.code}`
  const output = exit.stderr.trim()
  throw new SshError('remote-command', `${what} ${how}${output ? `: ${output}` : ' (no output on stderr)'}`)
}
