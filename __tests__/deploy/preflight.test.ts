// Preflight: a server that lacks what the stack needs is told so clearly, before anything changes.
import type { TestHost, TestHostOptions } from '../../test-host/test-host.mjs'
import { expectSuccess } from '../helpers/action-run.js'
import { useDeploySetting } from '../helpers/deploy-host.js'

const setting = useDeploySetting('preflight')

/** Each case needs a server of its own kind. */
async function withHost<T>(options: TestHostOptions, work: (host: TestHost) => Promise<T>): Promise<T> {
  const host = await setting.startHost(options)
  try {
    return await work(host)
  } finally {
    await host.stop()
  }
}

function deploy(host: TestHost, overrides: Record<string, string> = {}) {
  return setting.deploy(host, overrides)
}

describe('preflight', () => {
  it.each<[string, TestHostOptions, RegExp]>([
    [
      'no docker',
      { docker: 'absent' },
      /The preflight phase failed on the server: Docker is not installed on the server/,
    ],
    [
      'no compose',
      { compose: 'none' },
      /The preflight phase failed on the server: Docker Compose is not installed: install the compose plugin/,
    ],
    [
      'no systemd',
      { systemd: false },
      /The preflight phase failed on the server: systemd is not the init system on this server/,
    ],
  ])('%s: a clear error, and nothing changed on the server', async (_name, options, message) => {
    await withHost(options, async (host) => {
      const run = await deploy(host)
      expect(run.code).toBe(1)
      expect(run.shown).toMatch(message)
      expect(run.outputs.changed).toBe('false')
      expect((await host.exec('ls -A /opt')).stdout).toBe('')
      expect(
        host.calls().filter((c) => !/^(docker (version|compose version)|systemctl)/.test(c.command)),
      ).toEqual([])
    })
  })

  it('not enough disk: a clear error before the upload', async () => {
    await withHost({}, async (host) => {
      await host.exec('mkdir -p /opt/commento && mount -t tmpfs -o size=1m tmpfs /opt/commento')
      const run = await deploy(host)
      expect(run.code).toBe(1)
      expect(run.shown).toMatch(
        /not enough free disk space on \/opt\/commento: \d+ KiB free, at least \d+ KiB needed/,
      )
      // Only the audit log says that a deploy was attempted.
      expect((await host.exec('ls -A /opt/commento')).stdout).toBe('deploy.log\n')
      expect(await host.readFile('/opt/commento/deploy.log')).toMatch(/ result=failed:preflight\n$/)
    })
  })

  it('rollback on a server with no previous release: a clear error', async () => {
    await withHost({}, async (host) => {
      expectSuccess(await deploy(host))
      const run = await deploy(host, { mode: 'rollback' })
      expect(run.code).toBe(1)
      expect(run.shown).toContain('there is no previous release to roll back to in /opt/commento (current: r')
    })
  })

  it('a host with docker-compose v1 only: deploys with the v1 unit, and warns', async () => {
    await withHost({ compose: 'v1' }, async (host) => {
      const run = await deploy(host)
      expectSuccess(run)
      expect(run.shown).toMatch(/::warning::only Docker Compose v1 \(docker-compose [\d.]+\) is installed/)
      const unit = await host.readFile('/etc/systemd/system/commento.service')
      expect(unit).toMatch(/ExecStart=.*docker-compose/)
      expect(host.calls().some((c) => c.command.startsWith('docker-compose pull'))).toBe(true)
      expect(run.outputs.status).toBe('healthy')
    })
  })

  it('a docker-compose v1 host and a value with a double backslash: refused by name before anything changes', async () => {
    const value = 'sm\\\\tp-pass-word'
    await withHost({ compose: 'v1' }, async (host) => {
      const run = await deploy(host, { 'commento-env': `COMMENTO_SMTP_PASSWORD=${value}` })
      expect(run.code).toBe(1)
      expect(run.shown).toContain(
        'The upload phase failed on the server: docker-compose v1 would read the backslashes in COMMENTO_SMTP_PASSWORD differently from how they were written: install the compose plugin (docker-compose-plugin), or leave out the double backslashes.',
      )
      expect(run.shown).not.toContain(value)
      expect((await host.exec('ls -A /opt/commento')).stdout).not.toMatch(/^current$/m)
      // Only the preflight's reads ran: no volume made, nothing pulled, built or restarted.
      const readOnly =
        /^(docker-compose version|docker (version|compose version|volume inspect)|systemctl is-)/
      expect(host.calls().filter((c) => !readOnly.test(c.command))).toEqual([])
    })
    // Compose v2 reads the value as written: the same settings deploy.
    await withHost({}, async (host) => {
      const run = await deploy(host, { 'commento-env': `COMMENTO_SMTP_PASSWORD=${value}` })
      expectSuccess(run)
      expect(await host.readFile(`/opt/commento/current/.env`)).toContain(`COMMENTO_SMTP_PASSWORD='${value}'`)
    })
  })
})
