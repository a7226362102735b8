// Nothing is lost: the database is dumped before a restart that changes something (and a failed dump
// stops the deploy before the restart), and a data volume written by another Postgres major stops the
// deploy before anything changes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHost, type TestHost } from '../../test-host/test-host.mjs'
import { createTestPki, type Pki } from '../../test-host/test-pki.mjs'
import { expectSuccess, runAction } from '../helpers/action-run.js'

const domain = 'comments.test'
let host: TestHost
let pki: Pki
let pkiDir: string

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'cd-data-pki-'))
  pki = await createTestPki(pkiDir)
  const leaf = await pki.issue({ names: [domain] })
  host = await startTestHost({
    domain,
    tls: { certPath: leaf.certPath, keyPath: leaf.keyPath, chainPath: leaf.chainPath },
  })
}, 60_000)

afterAll(async () => {
  await host?.stop()
  rmSync(pkiDir, { recursive: true, force: true })
})

function deploy(overrides: Record<string, string> = {}) {
  return runAction(
    host,
    {
      host: domain,
      'host-key': host.hostKeyLine,
      'private-key': host.keys.root.privateKey,
      domain,
      email: 'admin@example.com',
      'wait-timeout': '20',
      ...overrides,
    },
    { NODE_EXTRA_CA_CERTS: pki.rootCertPath },
  )
}

describe('data safety', () => {
  it('a data volume written by another Postgres major stops the deploy before anything changes', async () => {
    const mountpoint = host.createVolume('commento_postgres_volume')
    await host.exec(`echo 11 > ${mountpoint}/PG_VERSION`)
    try {
      await refusedThenKept()
    } finally {
      await host.exec(`rm -f ${mountpoint}/PG_VERSION`)
    }
  })

  async function refusedThenKept(): Promise<void> {
    const run = await deploy()
    expect(run.code).toBe(1)
    expect(run.shown).toContain(
      'the database volume commento_postgres_volume was written by Postgres 11, but postgres-image runs Postgres 17, which cannot open it. Nothing was changed. Either keep Postgres 11 (set postgres-image to postgres:11-alpine), or upgrade with a dump and restore',
    )
    expect((await host.exec('ls -A /opt')).stdout).toBe('')
    expect(
      host
        .calls()
        .filter((c) =>
          /volume create|compose (pull|build|up|exec)|systemctl (start|restart|reload|daemon-reload|enable)/.test(
            c.command,
          ),
        ),
    ).toEqual([])
    // Keeping the old major is the way forward that needs nothing else.
    expectSuccess(await deploy({ 'postgres-image': 'postgres:11-alpine' }))
  }

  it('a failed database dump stops the deploy before the restart; the old release keeps running', async () => {
    const before = host.state().site.release
    expect(before).toMatch(/^r[0-9a-f]{12}$/)
    host.failNext('docker compose exec', { stderr: 'pg_dumpall: error: connection to server failed' })
    const from = host.calls().length
    const run = await deploy({ 'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=true' })
    expect(run.code).toBe(1)
    expect(run.shown).toContain(
      'The backup phase failed on the server: the database dump failed, so nothing was restarted.',
    )
    expect(run.shown).toContain('pg_dumpall: error: connection to server failed')
    const commands = host
      .calls()
      .slice(from)
      .map((c) => c.command)
    expect(commands.filter((c) => /^systemctl (start|restart|reload)/.test(c))).toEqual([])
    expect(host.state().site.release).toBe(before)
    expect((await host.exec('readlink /opt/commento/current')).stdout.trim()).toBe(`releases/${before}`)
    expect(await host.readFile('/opt/commento/deploy.log')).toMatch(/result=failed:backup\n$/)
    // And the next deploy goes through, dumping first.
    expectSuccess(await deploy({ 'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=true' }))
    expect((await host.exec('ls /opt/commento/backups | wc -l')).stdout.trim()).toBe('1')
  })

  it('keeps only keep-releases database dumps and releases', async () => {
    for (const value of ['a', 'b', 'c']) {
      expectSuccess(
        await deploy({
          'commento-env': `COMMENTO_GITLAB_URL=https://${value}.example.com`,
          'keep-releases': '2',
        }),
      )
    }
    expect((await host.exec('ls /opt/commento/backups | wc -l')).stdout.trim()).toBe('2')
    const releases = (await host.exec('ls /opt/commento/releases')).stdout.trim().split('\n')
    expect(releases).toHaveLength(2)
    expect(host.forbiddenCalls()).toEqual([])
  })
})
