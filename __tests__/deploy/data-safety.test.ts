// Nothing is lost: the database is dumped before a restart that changes something (and a failed dump
// stops the deploy before the restart), and a data volume written by another Postgres major stops the
// deploy before anything changes.
import type { TestHost } from '../../test-host/test-host.mjs'
import { expectSuccess } from '../helpers/action-run.js'
import { useDeploySetting } from '../helpers/deploy-host.js'

const setting = useDeploySetting('data')
let host: TestHost
beforeAll(() => {
  host = setting.host
})

function deploy(overrides: Record<string, string> = {}) {
  return setting.deploy(host, overrides)
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
      'the database volume commento_postgres_volume was written by Postgres 11, but postgres-image runs Postgres 17, which cannot open it. Nothing was changed. Either keep Postgres 11 (set postgres-image to postgres:11, the Debian-based image the article used: moving data to the Alpine image changes the C library under its text indexes), or upgrade with a dump and restore',
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
    expectSuccess(await deploy({ 'postgres-image': 'postgres:11' }))
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

describe('upgrading Postgres when asked (postgres-upgrade)', () => {
  it('dumps the running database, restores it into a new volume for the new major, and keeps the old volume', async () => {
    const old = host.createVolume('commento_postgres_volume')
    await host.exec(`echo 15 > ${old}/PG_VERSION`)
    const from = host.calls().length
    const run = await deploy({
      'postgres-upgrade': 'true',
      'commento-env': 'COMMENTO_GITLAB_URL=https://upgraded.example.com',
    })
    expectSuccess(run)
    expect(run.shown).toContain('postgres-upgrade: 15 17 commento_postgres_volume_pg17')
    const commands = host
      .calls()
      .slice(from)
      .map((c) => c.command)
    const order = [
      'docker compose exec -T postgres pg_dumpall -U postgres',
      'docker volume create commento_postgres_volume_pg17',
      'systemctl stop commento.service',
      'docker compose up --detach --wait postgres',
      'docker compose exec -T postgres psql -q -U postgres -d postgres',
      'systemctl start commento.service',
    ].map((c) => commands.indexOf(c))
    expect(order.every((i) => i >= 0)).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    expect(host.state().projects.commento?.restoredBytes).toBeGreaterThan(0)
    expect(await host.readFile('/opt/commento/state/postgres-volume')).toBe('commento_postgres_volume_pg17\n')
    expect(await host.readFile('/opt/commento/current/.env')).toMatch(
      /^POSTGRES_VOLUME=commento_postgres_volume_pg17$/m,
    )
    // The old data is untouched.
    expect(await host.readFile(`${old}/PG_VERSION`)).toBe('15\n')
    expect((await host.exec('ls /opt/commento/backups')).stdout).toMatch(/-postgres15-upgrade\.sql\.gz\n/)
    // The next deploy runs on the new volume without asking again.
    const again = await deploy({ 'commento-env': 'COMMENTO_GITLAB_URL=https://upgraded.example.com' })
    expectSuccess(again)
    expect(again.outputs.changed).toBe('false')
    expect(host.forbiddenCalls()).toEqual([])
  })
})

describe('adopting an install made by hand from the 2019 article', () => {
  // The article's files, as its README has users put them in /opt/commento (trimmed to what matters).
  const articleCompose = `version: '3'
services:
  postgres:
    image: postgres:11
    environment:
      POSTGRES_PASSWORD: postgres
    volumes:
      - commento_postgres_volume:/var/lib/postgresql/data
  app:
    image: registry.gitlab.com/commento/commento
  nginx:
    build: ./nginx
  certbot:
    build: ./certbot
volumes:
  commento_postgres_volume:
    external: true
  certbot_etc_volume:
    external: true
`
  const articleUnit = `[Unit]
Description=Commento
[Service]
WorkingDirectory=/opt/commento
ExecStart=/usr/bin/env docker-compose -p commento up --abort-on-container-exit
ExecStop=/usr/bin/env docker-compose -p commento down
[Install]
WantedBy=multi-user.target
`
  let legacy: TestHost

  afterAll(async () => {
    await legacy?.stop()
  })

  it('dumps its database first, moves its files aside, keeps its volumes, and takes over', async () => {
    legacy = await setting.startHost({ compose: 'v1' })
    const data = legacy.createVolume('commento_postgres_volume')
    legacy.createVolume('certbot_etc_volume')
    await legacy.exec(`echo 11 > ${data}/PG_VERSION && echo comments > ${data}/readers-comments`)
    await legacy.exec(
      'mkdir -p /opt/commento/nginx /opt/commento/certbot && cd /opt/commento && echo "FROM nginx:stable-alpine" > nginx/Dockerfile && echo "FROM certbot/certbot:v0.29.1" > certbot/Dockerfile && cat > docker-compose.yml',
      { input: articleCompose },
    )
    await legacy.exec('cat > /opt/commento/commento.service', { input: articleUnit })
    await legacy.exec(
      'ln -s /opt/commento/commento.service /etc/systemd/system/commento.service && systemctl daemon-reload && systemctl start commento.service',
    )
    // Type=simple: the foreground `docker-compose up` comes up a moment after `systemctl start` returns.
    for (let i = 0; i < 50 && legacy.state().projects.commento?.status !== 'up'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const journal = await legacy.exec('journalctl -u commento.service --no-pager', { allowFailure: true })
    if (legacy.state().projects.commento?.status !== 'up')
      throw new Error(`the article's unit did not start:\n${journal.stdout}`)
    const from = legacy.calls().length

    const run = await setting.deploy(legacy, { 'postgres-image': 'postgres:11' })
    expectSuccess(run)
    const commands = legacy
      .calls()
      .slice(from)
      .map((c) => c.command)
    const dump = commands.indexOf('docker-compose exec -T postgres pg_dumpall -U postgres')
    const password = commands.indexOf('docker-compose exec -T postgres psql -v ON_ERROR_STOP=1 -U postgres')
    const restart = commands.findIndex((c) => /^systemctl (restart|start)/.test(c))
    expect(dump).toBeGreaterThanOrEqual(0)
    expect(password).toBeGreaterThan(dump)
    expect(restart).toBeGreaterThan(password)
    expect(legacy.forbiddenCalls()).toEqual([])

    const layout = await legacy.exec(
      'cd /opt/commento && ls -d legacy-*/docker-compose.yml legacy-*/commento.service backups/*-legacy.sql.gz && stat -c %F /etc/systemd/system/commento.service',
    )
    expect(layout.stdout).toMatch(
      /^backups\/\d{8}T\d{6}Z-legacy\.sql\.gz\nlegacy-\d{8}T\d{6}Z\/commento\.service\nlegacy-\d{8}T\d{6}Z\/docker-compose\.yml\nregular file\n$/,
    )
    expect(await legacy.readFile(`${data}/readers-comments`)).toBe('comments\n')
    expect(Object.keys(legacy.state().volumes)).toEqual(
      expect.arrayContaining(['certbot_etc_volume', 'commento_postgres_volume']),
    )
    expect(legacy.state().site.release).toBe(run.outputs.release)
    expect(run.shown).toContain('legacy-moved: /opt/commento/legacy-')
  })
})
