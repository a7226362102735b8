// A whole command-line run, in-process, with a stand-in mode: what the terminal shows while it runs,
// the summary and outputs at the end, secrets masked, and the exit code.
import { jest } from '@jest/globals'
import type { Settings } from '../../src/inputs/settings.js'
import type { ModeResult } from '../../src/modes/mode.js'
import type { Reporter } from '../../src/report/reporter.js'

type Runner = (settings: Settings, reporter: Reporter) => Promise<ModeResult>
let runner: Runner = async () => ({ outputs: {} })
const seen: Settings[] = []
const standIn: Runner = async (settings, reporter) => {
  seen.push(settings)
  return runner(settings, reporter)
}
jest.unstable_mockModule('../../src/modes/index.js', () => ({
  MODE_RUNNERS: { deploy: standIn, check: standIn, plan: standIn, rollback: standIn },
}))
const { runCli, EXIT } = await import('../../src/cli.js')

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
  })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

beforeEach(() => {
  seen.length = 0
})

describe('a command-line run', () => {
  it('hands the mode the same settings the action would build, and shows progress, summary and outputs', async () => {
    runner = async (settings, reporter) => {
      await reporter.group('Check https://comments.example.com', async () => {
        reporter.info('dns: resolves')
        reporter.warning('certificate expires in 20 days')
      })
      await reporter.summary(
        '### commento-deploy: check\n\n| check | verdict |\n|---|---|\n| dns | pass |\n| certificate-days | warn |',
      )
      return { outputs: { url: `https://${settings.domain}`, status: 'healthy' } }
    }
    const result = await cli(['check', '--domain', 'Comments.Example.com', '--cert-min-days', '14'], {
      USER: 'alice',
      NO_COLOR: '1',
    })
    expect(result.code).toBe(EXIT.success)
    expect(seen).toHaveLength(1)
    expect(seen[0]).toMatchObject({
      mode: 'check',
      domain: 'comments.example.com',
      certMinDays: 14,
      staging: false,
      run: { actor: 'alice', runUrl: '' },
    })
    expect(seen[0]?.ssh).toBeUndefined()
    expect(result.stderr).toMatch(
      /^▸ Check https:\/\/comments\.example\.com\n {2}dns: resolves\n {2}warning: certificate expires in 20 days\n└ Check https:\/\/comments\.example\.com \(\d+\.\d s\)\n$/,
    )
    expect(result.stdout).toBe(
      [
        '',
        'commento-deploy: check',
        '',
        'check             verdict',
        '----------------  -------',
        'dns               pass',
        'certificate-days  warn',
        '',
        'url=https://comments.example.com',
        'status=healthy',
        '',
      ].join('\n'),
    )
  })

  it('fails with exit code 1 and the reason when the mode reports a failure', async () => {
    runner = async () => ({
      outputs: { status: 'unhealthy' },
      failure: 'https://comments.example.com answers with an expired certificate.',
    })
    const result = await cli(['check', '--domain', 'comments.example.com'])
    expect(result.code).toBe(EXIT.failed)
    expect(result.stderr).toBe('error: https://comments.example.com answers with an expired certificate.\n')
    expect(result.stdout).toBe('status=unhealthy\n')
  })

  it('masks every secret input in what the mode prints, including each line of the key', async () => {
    runner = async (settings, reporter) => {
      const leaks = [
        settings.ssh?.password,
        settings.postgresPassword,
        settings.githubToken,
        ...settings.commentoEnv.map((s) => `${s.name}=${s.value}`),
        settings.ssh?.privateKey,
      ].join(' | ')
      reporter.info(`info ${leaks}`)
      reporter.debug(`debug ${leaks}`)
      await reporter.group(`group ${settings.ssh?.password}`, async () => reporter.error(`error ${leaks}`))
      await reporter.summary(`| leak |\n|---|\n| ${settings.postgresPassword} |`)
      return { outputs: { leak: `${settings.githubToken}` }, failure: `failed ${leaks}` }
    }
    const key = (await import('../helpers/ssh-keys.js')).makeKeyPair('ed25519')
    const result = await cli(['deploy', '--debug', '--host', 'vps.example.com', '--email', 'a@example.com'], {
      COMMENTO_DEPLOY_DOMAIN: 'comments.example.com',
      COMMENTO_DEPLOY_PASSWORD: 'ssh-password-1',
      COMMENTO_DEPLOY_PRIVATE_KEY: key.privateKey,
      COMMENTO_DEPLOY_POSTGRES_PASSWORD: 'postgres-password-1',
      COMMENTO_DEPLOY_GITHUB_TOKEN: 'ghs_token_value_1',
      COMMENTO_DEPLOY_COMMENTO_ENV:
        'COMMENTO_SMTP_PASSWORD=smtp-password-1\nCOMMENTO_SMTP_HOST=smtp.example.com',
    })
    expect(result.code).toBe(EXIT.failed)
    const everything = result.stdout + result.stderr
    for (const secret of [
      'ssh-password-1',
      'postgres-password-1',
      'ghs_token_value_1',
      'smtp-password-1',
      ...key.privateKey.trim().split('\n'),
    ]) {
      expect(everything).not.toContain(secret)
    }
    // Not secrets: still shown.
    expect(everything).toContain('COMMENTO_SMTP_HOST=smtp.example.com')
    expect(result.stderr).toContain('debug ***')
    expect(result.stderr).toContain('▸ group ***')
    expect(result.stdout).toContain('leak=***\n')
    expect(result.stdout).toMatch(/^leak\n-+\n\*\*\*$/m)
  })
})
