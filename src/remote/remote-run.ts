// The one executor of remote plans: runs the command over one SSH channel, answers the script's requests
// (the release tar, the HTTPS verdict) and folds its progress into a RemoteOutcome.
import { emptyOutcome, foldLine, type RemoteEvent, type RemoteOutcome } from './remote-events.js'

/** What the executor needs of an SSH channel (src/ssh provides it). */
export interface RemoteChannel {
  readonly stdin: NodeJS.WritableStream
  onLine(listener: (line: string) => void): void
  readonly done: Promise<{ code: number | null; signal: string | null; stderr: string }>
}

export type Verdict = 'healthy' | 'rollback' | 'unhealthy'

export interface RemoteRunHooks {
  /** Where to fold the events (the caller keeps it even when the run throws); fresh when absent. */
  readonly outcome?: RemoteOutcome
  /** The release tar, sent when the script asks for it (deploy). */
  readonly tar?: Buffer
  /** Called when the script waits for the runner's HTTPS verdict; the answer goes back on stdin. */
  readonly verify?: (outcome: RemoteOutcome) => Promise<Verdict>
  /** Every event as it arrives, after it was folded into the outcome (for live progress). */
  readonly onEvent?: (event: RemoteEvent, outcome: RemoteOutcome) => Promise<void> | void
  /** Every plain output line. */
  readonly onOutput?: (line: string) => void
  readonly now?: () => number
}

export interface RemoteRunResult {
  readonly outcome: RemoteOutcome
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stderr: string
}

export async function runRemote(
  channel: RemoteChannel,
  hooks: RemoteRunHooks = {},
): Promise<RemoteRunResult> {
  const outcome = hooks.outcome ?? emptyOutcome()
  const now = hooks.now ?? Date.now
  // Lines are handled one after another, even when a handler waits (the verdict takes a while).
  let queue: Promise<void> = Promise.resolve()
  let handlerError: unknown
  const handle = async (line: string) => {
    const event = foldLine(outcome, line, now())
    if (!event) {
      hooks.onOutput?.(line)
      return
    }
    await hooks.onEvent?.(event, outcome)
    if (event.kind === 'need-upload') {
      if (!hooks.tar) throw new Error('the server asked for the release, but there is none to send')
      channel.stdin.write(hooks.tar)
    } else if (event.kind === 'await-verdict') {
      const verdict = hooks.verify ? await hooks.verify(outcome) : 'unhealthy'
      channel.stdin.write(`${verdict}\n`)
      channel.stdin.end()
    }
  }
  channel.onLine((line) => {
    queue = queue
      .then(() => handle(line))
      .catch((error) => {
        handlerError ??= error
        // The script may be waiting for an answer: end its stdin so it stops instead of hanging.
        channel.stdin.end()
      })
  })
  const end = await channel.done
  await queue
  if (handlerError) throw handlerError
  return { outcome, exitCode: end.code, signal: end.signal, stderr: end.stderr }
}
