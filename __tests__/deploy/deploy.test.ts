// Deploy, plan and rollback end to end: the bundle in dist/, run as the runner runs it, against a real
// OpenSSH server in a test namespace whose docker and systemctl are recording stand-ins and whose site
// is served by a real nginx with a certificate from a test CA.
import type { TestHost } from '../../test-host/test-host.mjs'
import { type ActionRun, expectSuccess } from '../helpers/action-run.js'
import { domain, useDeploySetting } from '../helpers/deploy-host.js'

const setting = useDeploySetting('deploy', {
  'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=false\nCOMMENTO_SMTP_PASSWORD=smtp-secret-value-1',
})
let host: TestHost
beforeAll(() => {
  host = setting.host
})

function deploy(overrides: Record<string, string> = {}): Promise<ActionRun> {
  return setting.deploy(host, overrides)
}

/** Stand-in calls made after `from` calls had been recorded. */
function callsSince(from: number): string[] {
  return host
    .calls()
    .slice(from)
    .map((c) => c.command)
}

async function remoteTree(): Promise<string> {
  const r = await host.exec(
    "cd /opt/commento && find . -printf '%y %m %u %p %l\\n' | sort && find . -type f -exec sha256sum {} + | sort -k2",
  )
  return r.stdout
}

function explain(run: ActionRun): string {
  return `exit ${run.code}\n--- stdout\n${run.shown}\n--- stderr\n${run.stderr}`
}

describe('deploy against the test host', () => {
  let first: ActionRun
  let firstRelease: string

  it('a first deploy: volumes, unit, images, start, HTTPS checked, outputs and summary', async () => {
    const channelsBefore = host.sshChannelCount()
    const connectionsBefore = host.sshConnectionCount()
    first = await deploy()
    expectSuccess(first)
    firstRelease = first.outputs.release as string
    expect(firstRelease).toMatch(/^r[0-9a-f]{12}$/)
    expect(first.outputs).toMatchObject({
      url: `https://${domain}/`,
      status: 'healthy',
      changed: 'true',
      'previous-release': '',
      'rolled-back': 'false',
      'cert-issuer': expect.stringContaining(setting.pki.intermediateCn),
    })
    expect(Number(first.outputs['cert-days-left'])).toBeGreaterThan(80)

    // One connection, few channels, the work in one remote script.
    expect(host.sshConnectionCount() - connectionsBefore).toBe(1)
    expect(host.sshChannelCount() - channelsBefore).toBeLessThanOrEqual(3)

    const commands = callsSince(0)
    expect(commands).toEqual(
      expect.arrayContaining([
        'docker volume create commento_postgres_volume',
        'docker volume create certbot_etc_volume',
        'systemctl daemon-reload',
        'systemctl enable commento.service',
        'docker compose pull --quiet --ignore-buildable',
        'docker compose build --pull --quiet',
        'systemctl start commento.service',
      ]),
    )
    // Images are ready before anything starts.
    expect(commands.indexOf('docker compose build --pull --quiet')).toBeLessThan(
      commands.indexOf('systemctl start commento.service'),
    )
    expect(host.forbiddenCalls()).toEqual([])
    expect(host.unknownCalls()).toEqual([])

    const state = host.state()
    expect(state.site).toMatchObject({ running: true, release: firstRelease })
    expect(await host.readFile('/etc/systemd/system/commento.service')).toContain(
      'WorkingDirectory=/opt/commento/current',
    )
    const link = await host.exec('readlink /opt/commento/current; stat -c %a /opt/commento/current/.env')
    expect(link.stdout).toBe(`releases/${firstRelease}\n600\n`)
    const log = await host.readFile('/opt/commento/deploy.log')
    expect(log).toMatch(
      new RegExp(
        `^\\S+Z actor=octocat run=https://github.com/owner/blog/actions/runs/4242 mode=deploy release=${firstRelease} previous=- changed=1 result=healthy\\n$`,
      ),
    )

    expect(first.summary).toContain('## commento-deploy: deploy')
    expect(first.summary).toMatch(/\| upload \| server \| \d/)
    expect(first.summary).toContain('| tls-chain |')
    expect(first.stdout).toContain('::group::Preflight: docker, compose, systemd, disk')
    expect(first.shown).not.toContain('smtp-secret-value-1')
  })

  it('an unchanged redeploy uploads nothing and restarts nothing, but still checks HTTPS', async () => {
    const from = host.calls().length
    const run = await deploy()
    expectSuccess(run)
    expect(run.outputs).toMatchObject({
      changed: 'false',
      status: 'healthy',
      release: firstRelease,
      'previous-release': '',
    })
    expect(run.stdout).toContain('upload: skipped')
    const commands = callsSince(from)
    expect(
      commands.filter((c) => /^systemctl (start|restart|reload)|compose (up|pull|build)/.test(c)),
    ).toEqual([])
    expect(run.summary).toContain('| tls-chain |')
  })

  it('plan shows what a changed setting would do, and changes nothing', async () => {
    const before = await remoteTree()
    const from = host.calls().length
    const run = await deploy({
      mode: 'plan',
      'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=true\nCOMMENTO_SMTP_PASSWORD=smtp-secret-value-2',
    })
    expectSuccess(run)
    expect(run.outputs).toMatchObject({ changed: 'true', 'previous-release': firstRelease })
    expect(run.outputs.release).not.toBe(firstRelease)
    expect(run.summary).toContain('~ COMMENTO_FORBID_NEW_OWNERS (value hidden)')
    expect(run.summary).toContain('~ COMMENTO_SMTP_PASSWORD (value hidden)')
    expect(run.summary).toMatch(/Restart \| yes: reload/)
    for (const text of [run.summary, run.shown]) {
      expect(text).not.toContain('smtp-secret-value-1')
      expect(text).not.toContain('smtp-secret-value-2')
    }
    // Nothing that changes anything ran, and the tree is byte for byte the same.
    expect(
      callsSince(from).filter(
        (c) => !/^(docker (version|compose version|volume inspect)|systemctl (is-active|is-enabled))/.test(c),
      ),
    ).toEqual([])
    expect(await remoteTree()).toBe(before)
  })

  let second: ActionRun
  it('a changed deploy dumps the database first, reloads, and records the previous release', async () => {
    const from = host.calls().length
    second = await deploy({
      'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=true\nCOMMENTO_SMTP_PASSWORD=smtp-secret-value-2',
    })
    expectSuccess(second)
    expect(second.outputs).toMatchObject({
      changed: 'true',
      status: 'healthy',
      'previous-release': firstRelease,
    })
    const commands = callsSince(from)
    const dump = commands.findIndex((c) => c.startsWith('docker compose exec -T postgres pg_dumpall'))
    const reload = commands.indexOf('systemctl reload commento.service')
    expect(dump).toBeGreaterThanOrEqual(0)
    expect(reload).toBeGreaterThan(dump)
    const backups = await host.exec('ls /opt/commento/backups; stat -c %a /opt/commento/backups')
    expect(backups.stdout).toMatch(new RegExp(`^\\d{8}T\\d{6}Z-${firstRelease}\\.sql\\.gz\\n700\\n$`))
    expect(host.state().site.release).toBe(second.outputs.release)
    expect(second.summary).toMatch(/Recreated services \| app/)
  })

  it('mode rollback switches back to the previous release and checks it', async () => {
    const run = await deploy({ mode: 'rollback' })
    expectSuccess(run)
    expect(run.outputs).toMatchObject({
      release: firstRelease,
      'previous-release': second.outputs.release,
      status: 'healthy',
    })
    expect(host.state().site.release).toBe(firstRelease)
    expect(await host.readFile('/opt/commento/deploy.log')).toMatch(
      /mode=rollback release=r\w+ .*result=healthy\n$/,
    )
  })

  it('a deploy whose HTTPS check fails is rolled back, and the old release runs again', async () => {
    host.breakSiteOnNextUp()
    const run = await deploy({ 'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=true', 'wait-timeout': '3' })
    expect({ code: run.code, why: explain(run) }).toMatchObject({ code: 1 })
    expect({ outputs: run.outputs, why: explain(run) }).toMatchObject({
      outputs: { 'rolled-back': 'true', release: firstRelease, status: 'unhealthy' },
    })
    expect(run.stdout).toMatch(
      /::error::https:\/\/comments\.test\/ is unhealthy after the deploy: .*Rolled back to the previous release/,
    )
    expect(host.state().site).toMatchObject({ release: firstRelease, broken: false })
    expect((await host.exec('readlink /opt/commento/current')).stdout.trim()).toBe(`releases/${firstRelease}`)
    expect(await host.readFile('/opt/commento/deploy.log')).toMatch(/result=rolled-back\n$/)
    expect(host.forbiddenCalls()).toEqual([])
  })
})

describe('force, and check with diagnostics', () => {
  it('force: true reloads even when nothing changed', async () => {
    const from = host.calls().length
    const run = await deploy({ force: 'true' })
    expectSuccess(run)
    expect(run.outputs.changed).toBe('true')
    expect(callsSince(from)).toContain('systemctl reload commento.service')
  })

  it("a failing check with SSH settings adds the server's diagnostics to the summary, secrets masked", async () => {
    host.breakSiteOnNextUp()
    await host.exec('systemctl reload commento.service')
    try {
      const from = host.calls().length
      const run = await deploy({ mode: 'check', 'wait-timeout': '1' })
      expect(run.code).toBe(1)
      expect(run.outputs.status).toBe('unhealthy')
      expect(run.summary).toContain('Diagnostics from the server')
      expect(run.summary).toContain('$ systemctl status commento.service')
      expect(run.summary).toMatch(/\$ docker compose logs --tail 30/)
      expect(run.summary).toMatch(/\$ df -h \/opt\/commento/)
      expect(run.summary).not.toContain('smtp-secret-value')
      // Diagnostics only read.
      expect(
        callsSince(from).filter((c) =>
          /^(systemctl (start|stop|restart|reload)|docker compose (up|down|pull|build))/.test(c),
        ),
      ).toEqual([])
    } finally {
      await host.exec('systemctl reload commento.service')
    }
    expect(host.state().site.broken).toBe(false)
  })
})

describe('connecting', () => {
  it('without host-key: fails before logging in, printing the fingerprint and the line to paste', async () => {
    const run = await deploy({ 'host-key': '' })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(host.hostKeyFingerprint)
    expect(run.stdout).toContain(host.hostKeyLine.split(' ').slice(1).join(' '))
  })

  it('with a different pinned key: refused, naming both fingerprints', async () => {
    const run = await deploy({ 'host-key': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
    expect(run.stdout).toContain(host.hostKeyFingerprint)
  })

  it('works as a user with passwordless sudo', async () => {
    const from = host.calls().length
    const run = await deploy({ username: 'deployer', 'private-key': host.keys.deployer.privateKey })
    expectSuccess(run)
    expect(
      host
        .calls()
        .slice(from)
        .every((c) => c.uid === 0 && c.sudoUser === 'deployer'),
    ).toBe(true)
  })

  it('a user without passwordless sudo gets a message that says how to allow it', async () => {
    const run = await deploy({ username: 'nosudo', 'private-key': host.keys.nosudo.privateKey })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('User nosudo cannot run sudo without a password')
    expect(run.stdout).toContain('NOPASSWD')
  })
})

describe('the deploy lock', () => {
  it('waits up to lock-wait for a live deploy, then fails naming who holds it', async () => {
    // A deploy in progress: a live process named like one, holding the lock.
    await host.exec(
      'mkdir -p /opt/commento/.deploy.lock && (exec -a commento-deploy sleep 30 </dev/null >/dev/null 2>&1 & echo $! > /tmp/holder.pid) && printf \'pid=%s\\nboot=%s\\nactor=alice\\nrun=https://github.com/owner/blog/actions/runs/7\\nsince=2026-12-04T10:00:00Z\\nrelease=r000000000000\\n\' "$(cat /tmp/holder.pid)" "$(cat /proc/sys/kernel/random/boot_id)" > /opt/commento/.deploy.lock/info',
    )
    try {
      const started = Date.now()
      const run = await deploy({ 'lock-wait': '2' })
      expect(run.code).toBe(1)
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000)
      expect(run.stdout).toContain(
        'another deploy holds the lock on /opt/commento: alice (run https://github.com/owner/blog/actions/runs/7',
      )
    } finally {
      await host.exec('kill "$(cat /tmp/holder.pid)" || true')
    }
  })

  it('recovers a lock whose deploy died, with a warning', async () => {
    // The holder above is dead now: its lock is stale.
    const run = await deploy()
    expectSuccess(run)
    expect(run.stdout).toMatch(/::warning::recovered a stale deploy lock left by alice/)
    expect((await host.exec('test ! -e /opt/commento/.deploy.lock && echo released')).stdout).toBe(
      'released\n',
    )
  })
})
