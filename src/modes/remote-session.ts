// What deploy, plan and rollback share: connect, run one remote plan over one channel with a log group per
// remote phase, and turn a failure into a message that names the phase, the command and its output.
import type { Settings } from '../inputs/settings.js'
import { emptyOutcome, type RemoteEvent, type RemoteOutcome } from '../remote/remote-events.js'
import { type RemoteChannel, type RemoteRunResult, runRemote, type Verdict } from '../remote/remote-run.js'
import { buildRemoteCommand, type RemotePlan } from '../remote/remote-script.js'
import type { Reporter } from '../report/reporter.js'
import { SshError } from '../ssh/ssh-error.js'

/** The SSH side the modes need; src/ssh's session satisfies it. */
export interface SshSessionLike {
  readonly hostKey: { readonly fingerprint: string; readonly knownHostsLine: string }
  start(command: string): RemoteChannel
  close(): Promise<void>
}

export type Connect = (settings: Settings, reporter: Reporter) => Promise<SshSessionLike>

const PHASE_TITLES: Record<string, string> = {
  preflight: 'Preflight: docker, compose, systemd, disk',
  lock: 'Deploy lock',
  adopt: 'Adopt the install made by hand from the article',
  upgrade: 'Postgres upgrade: dump the running database',
  upload: 'Upload release',
  volumes: 'Docker volumes',
  images: 'Pull and build images',
  backup: 'Database backup',
  switch: 'Install unit and switch release',
  restart: 'Restart',
  verify: 'HTTPS check',
  rollback: 'Roll back',
  cleanup: 'Remove old releases',
  diagnose: 'Diagnostics',
}

/** One log group per remote phase, opened as the phase starts and closed as the next one starts. */
class PhaseGroups {
  private endCurrent?: () => void
  private closed: Promise<unknown> = Promise.resolve()

  constructor(private readonly reporter: Reporter) {}

  async open(title: string): Promise<void> {
    await this.close()
    await new Promise<void>((started) => {
      this.closed = this.reporter.group(
        title,
        () =>
          new Promise<void>((end) => {
            this.endCurrent = end
            started()
          }),
      )
    })
  }

  async close(): Promise<void> {
    this.endCurrent?.()
    this.endCurrent = undefined
    await this.closed
  }
}

function describeEvent(event: RemoteEvent, outcome: RemoteOutcome): string | undefined {
  switch (event.kind) {
    case 'fact': {
      const [key, ...rest] = event.text.split(' ')
      return `${key}: ${rest.join(' ')}`
    }
    case 'state':
      return `server: ${event.text}`
    case 'need-upload':
      return `uploading the release (${event.text} bytes)`
    case 'changed':
      return event.text === '1' ? 'the release differs from what runs: applying it' : 'nothing changed'
    case 'waiting-lock':
      return `another deploy holds the lock (${event.text}): waiting`
    case 'verdict':
      return `result: ${event.text}`
    case 'message':
      return outcome.failure ? undefined : event.text
    default:
      return undefined
  }
}

export interface RemoteRunOptions {
  /** Where to fold the events; a fresh outcome when absent. */
  readonly outcome?: RemoteOutcome
  readonly tar?: Buffer
  readonly verify?: (outcome: RemoteOutcome) => Promise<Verdict>
}

/** Runs a plan over an open session, reporting progress live. */
export async function runPlan(
  session: SshSessionLike,
  plan: RemotePlan,
  reporter: Reporter,
  options: RemoteRunOptions = {},
): Promise<RemoteRunResult> {
  const groups = new PhaseGroups(reporter)
  try {
    return await runRemote(session.start(buildRemoteCommand(plan)), {
      ...options,
      onEvent: async (event, outcome) => {
        if (event.kind === 'phase') {
          await groups.open(PHASE_TITLES[event.text] ?? event.text)
          return
        }
        if (event.kind === 'warning') {
          reporter.warning(event.text)
          return
        }
        if (event.kind === 'await-verdict' || event.kind === 'result' || event.kind === 'fail') {
          if (event.kind !== 'await-verdict') await groups.close()
          return
        }
        const line = describeEvent(event, outcome)
        if (line) reporter.info(line)
      },
      onOutput: (line) => reporter.info(line),
    })
  } finally {
    await groups.close()
  }
}

/** The message for a remote run that did not succeed: phase, command, output, and what to do. */
export function remoteFailureMessage(run: RemoteRunResult, plan: RemotePlan): string | undefined {
  const { outcome } = run
  if (outcome.failure) {
    const f = outcome.failure
    const lines = [`The ${f.phase} phase failed on the server: ${f.message ?? 'a command failed'}.`]
    if (f.command) lines.push(`Command: ${f.command} (exit code ${f.exitCode})`)
    if (f.output.length > 0) lines.push('Output:', ...f.output.map((l) => `  ${l}`))
    return lines.join('\n')
  }
  if (run.exitCode === 0 && outcome.result) return undefined
  const stderr = run.stderr.trim()
  if (/a (terminal|password) is required/.test(stderr)) {
    return `User ${plan.username} cannot run sudo without a password, and the deploy needs root. Log in as root, or allow it on the server: echo '${plan.username} ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/commento-deploy (sudo: ${stderr.split('\n')[0]})`
  }
  if (/sudo: (command )?not found/.test(stderr)) {
    return `User ${plan.username} is not root and the server has no sudo: log in as root, or install sudo and allow passwordless sudo for ${plan.username}.`
  }
  const tail = stderr ? `\n${stderr.split('\n').slice(-20).join('\n')}` : ''
  if (run.exitCode === null && run.signal === null) {
    // runPlanSurvivingCut: the connection died, the script runs on (or died with it) on the server.
    const phase = outcome.phases.at(-1)?.name
    return `The SSH connection was lost${phase ? ` in the ${phase} phase` : ''} of the remote ${plan.mode}. The server finishes without the runner: it ends on the release it had or on the new one, never a mix (a new release that could not be verified is rolled back when rollback-on-failure is on), and releases its lock; a lock left by a deploy that died is recovered by the next one. Run the ${plan.mode} again to see where it stands.${tail}`
  }
  const how = run.signal ? `was killed by ${run.signal}` : `exited with code ${run.exitCode}`
  return `The remote ${plan.mode} ${how} before it finished; the server keeps the release it had or the new one, never a mix, and the next deploy recovers its lock.${tail}`
}

/**
 * Like runPlan, but a connection that dies mid-run becomes a result (no exit code, the reason in stderr)
 * instead of an exception, so the mode can still report what it saw and say where the server stands.
 */
export async function runPlanSurvivingCut(
  session: SshSessionLike,
  plan: RemotePlan,
  reporter: Reporter,
  options: RemoteRunOptions = {},
): Promise<RemoteRunResult> {
  const outcome = emptyOutcome()
  try {
    return await runPlan(session, plan, reporter, { ...options, outcome })
  } catch (error) {
    if (!(error instanceof SshError) || error.kind !== 'connection-lost') throw error
    return { outcome, exitCode: null, signal: null, stderr: error.message }
  }
}
