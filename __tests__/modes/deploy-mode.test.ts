// The runner side of a deploy, in-process: a scripted server (the events remote.sh sends) and a counted
// site check, to pin down which check gives the verdict.
import { PassThrough } from 'node:stream'
import type { SiteCheckOptions, SiteReport } from '../../src/check/site-report.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import type { ModeDependencies } from '../../src/modes/dependencies.js'
import { deployMode } from '../../src/modes/deploy-mode.js'
import type { SshSessionLike } from '../../src/modes/remote-session.js'
import type { Reporter } from '../../src/report/reporter.js'

const settings = parseInputs(
  (name) =>
    ({
      mode: 'deploy',
      host: 'vps.example.com',
      domain: 'comments.example.com',
      email: 'admin@example.com',
      password: 'a-long-password',
    })[name] ?? '',
  {},
).settings

function recordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    setSecret: () => {},
    setOutput: () => {},
    group: async (title, work) => {
      lines.push(`[${title}]`)
      return work()
    },
    summary: async () => {},
    setFailed: () => {},
  }
}

/** A server that answers as remote.sh does for a deploy that changed something or not. */
function scriptedSession(changed: boolean, verdicts: string[]): SshSessionLike {
  return {
    hostKey: { fingerprint: 'SHA256:x', knownHostsLine: 'x' },
    start() {
      const stdin = new PassThrough()
      let listener: (line: string) => void = () => {}
      const say = (line: string) => listener(line)
      const done = new Promise<{ code: number; signal: null; stderr: string }>((resolve) => {
        setImmediate(() => {
          say('@@cd phase preflight')
          say('@@cd state current=r111111111111 previous=- running=r111111111111 active=active')
          say('@@cd phase upload')
          say('@@cd fact upload skipped')
          say(`@@cd changed ${changed ? 1 : 0}`)
          say('@@cd phase verify')
          say('@@cd await-verdict')
        })
        stdin.on('data', (chunk: Buffer) => {
          const verdict = chunk.toString().trim()
          verdicts.push(verdict)
          say(`@@cd verdict ${verdict}`)
          say(`@@cd result ${verdict}`)
          resolve({ code: 0, signal: null, stderr: '' })
        })
      })
      return { stdin, onLine: (l: (line: string) => void) => (listener = l), done }
    },
    close: async () => {},
  }
}

function healthy(): SiteReport {
  return { url: 'https://comments.example.com/', status: 'healthy', checks: [] }
}

function dependencies(changed: boolean, checks: SiteCheckOptions[], verdicts: string[]): ModeDependencies {
  return {
    release: {
      render: () => ({ id: 'r111111111111', files: [], manifest: {} }),
      pack: async () => Buffer.from('tar'),
      postgresEnvTemplate: () => '',
    },
    connect: async () => scriptedSession(changed, verdicts),
    checkSite: async (options, reporter) => {
      checks.push(options)
      reporter.info(`checked with wait-timeout ${options.waitTimeoutSeconds}`)
      return healthy()
    },
    now: Date.now,
  }
}

describe('deploy mode: which check gives the verdict', () => {
  it('an unchanged deploy answers with the check made while the server was reached: one check, no wait', async () => {
    const checks: SiteCheckOptions[] = []
    const verdicts: string[] = []
    const reporter = recordingReporter()
    const result = await deployMode(dependencies(false, checks, verdicts))(settings, reporter)
    expect(checks.map((c) => c.waitTimeoutSeconds)).toEqual([0])
    expect(verdicts).toEqual(['healthy'])
    expect(result.outputs).toMatchObject({ changed: 'false', status: 'healthy' })
    // Its log lines appear where the verdict is given, not while the server was being reached.
    const verify = reporter.lines.indexOf('[HTTPS check]')
    expect(reporter.lines.indexOf('checked with wait-timeout 0')).toBeGreaterThan(verify)
  })

  it('a changed deploy checks again after the restart, with retries up to wait-timeout', async () => {
    const checks: SiteCheckOptions[] = []
    const verdicts: string[] = []
    const result = await deployMode(dependencies(true, checks, verdicts))(settings, recordingReporter())
    expect(checks.map((c) => c.waitTimeoutSeconds)).toEqual([0, settings.waitTimeoutSeconds])
    expect(verdicts).toEqual(['healthy'])
    expect(result.outputs).toMatchObject({ changed: 'true', status: 'healthy' })
  })
})
