// The test host the deploy tests, the demo and the benchmark run against, proven with real clients:
// OpenSSH's ssh and ssh-keyscan, curl, flock, and node sockets, from the runner's side of the network.
import { execFileSync, spawn } from 'node:child_process'
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  processesInNetns,
  startTestHost,
  type TestHost,
  type TestHostOptions,
  type TestUser,
} from '../../test-host/test-host.mjs'

/** Fails with the name of the tool (and its Debian package) when a client tool is missing. */
function requireTools(tools: Record<string, string>): void {
  const path = (process.env.PATH ?? '').split(':')
  for (const [tool, pkg] of Object.entries(tools)) {
    const found = path.some((dir) => {
      try {
        accessSync(join(dir, tool), constants.X_OK)
        return true
      } catch {
        return false
      }
    })
    if (!found)
      throw new Error(`this test needs \`${tool}\` (Debian package ${pkg}): run scripts/install-test-deps.sh`)
  }
}

requireTools({
  ssh: 'openssh-client',
  'ssh-keyscan': 'openssh-client',
  'ssh-keygen': 'openssh-client',
  curl: 'curl',
  openssl: 'openssl',
  flock: 'util-linux',
  tar: 'tar',
})

interface TestCertificate {
  readonly caPath: string
  readonly certPath: string
  readonly keyPath: string
  readonly chainPath: string
}

/** A CA, an intermediate and a leaf for `domain`, made with a few openssl commands. */
function makeCertificate(dir: string, domain: string): TestCertificate {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  writeFileSync(
    join(dir, 'ca.ext'),
    'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
  )
  writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=DNS:${domain}\nextendedKeyUsage=serverAuth\n`)
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Test Root',
  )
  openssl('req', ...ec, '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Test Intermediate')
  openssl('x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial')
  openssl(
    'x509',
    '-req',
    '-in',
    'inter.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'ca.ext',
    '-out',
    'inter.pem',
  )
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${domain}`)
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'inter.pem',
    '-CAkey',
    'inter.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf.pem',
  )
  return {
    caPath: join(dir, 'root.pem'),
    certPath: join(dir, 'leaf.pem'),
    keyPath: join(dir, 'leaf.key'),
    chainPath: join(dir, 'inter.pem'),
  }
}

/** Runs a remote command over ssh from the runner's side, with the pinned host key. */
async function ssh(host: TestHost, user: TestUser, command: string, input?: string) {
  return host.runAsRunner('ssh', [...host.sshArgs(user), command], { input, timeoutMs: 30_000 })
}

/** `curl` from the runner: status, the release header and the body. */
async function curl(host: TestHost, caPath: string, url: string, extra: string[] = []) {
  const result = await host.runAsRunner('curl', [
    '-sS',
    '--cacert',
    caPath,
    '-o',
    '-',
    '-w',
    '\n%{http_code} %{content_type} [%header{x-commento-release}] %{redirect_url}',
    ...extra,
    url,
  ])
  const lines = result.stdout.split('\n')
  const [status = '', contentType = '', release = '', location = ''] = (lines.pop() ?? '').split(' ')
  return {
    status,
    contentType,
    release: release.replace(/^\[|\]$/g, ''),
    location,
    body: lines.join('\n'),
    stderr: result.stderr,
  }
}

const UNIT = `[Unit]
Description=Commento (test)
Requires=docker.service
After=docker.service
[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=/opt/commento/current
ExecStart=/usr/bin/env docker compose up --detach --wait --remove-orphans
ExecReload=/usr/bin/env docker compose up --detach --wait --remove-orphans
ExecStop=/usr/bin/env docker compose down
[Install]
WantedBy=multi-user.target
`

const COMPOSE = `services:
  postgres:
    image: postgres:18
    environment:
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD:?missing}
    volumes: ["commento_postgres_volume:/var/lib/postgresql"]
  app:
    image: ghcr.io/souramoo/commentoplusplus:v1.8.7
    environment:
      COMMENTO_ORIGIN: https://\${DOMAIN}
    depends_on: [postgres]
  nginx:
    image: nginx:1.27
volumes:
  commento_postgres_volume:
    external: true
`

/** Installs release `id` under /opt/commento (compose.yaml, .env) and points `current` at it. */
async function installRelease(host: TestHost, id: string, env: string) {
  await host.exec(
    `set -e; d=/opt/commento/releases/${id}; mkdir -p "$d"; cat > "$d/compose.yaml"; ` +
      `printf '%s\\n' 'COMPOSE_PROJECT_NAME=commento' 'DOMAIN=${host.domain}' ${env} > "$d/.env"; ` +
      `ln -sfn "releases/${id}" /opt/commento/current.new && mv -T /opt/commento/current.new /opt/commento/current`,
    { input: COMPOSE },
  )
}

describe('a test host', () => {
  let host: TestHost
  let certificate: TestCertificate
  let pkiDir: string
  const machinePasswd = readFileSync('/etc/passwd', 'utf8')
  const machineOpt = readdirSync('/opt').sort()
  const machineUnits = readdirSync('/etc/systemd/system').sort()
  const machineHosts = readFileSync('/etc/hosts', 'utf8')

  beforeAll(async () => {
    pkiDir = mkdtempSync(join(tmpdir(), 'test-host-pki-'))
    certificate = makeCertificate(pkiDir, 'comments.test')
    host = await startTestHost({ tls: certificate })
  })

  afterAll(async () => {
    await host?.stop()
    rmSync(pkiDir, { recursive: true, force: true })
  })

  it('logs in by key with the pinned host key: root, deployer (passwordless sudo) and nosudo (no sudo)', async () => {
    const root = await ssh(host, 'root', 'id -u; [ -d /run/sshd ] && stat -c %U:%a /run/sshd')
    expect(root).toMatchObject({ code: 0, stdout: '0\nroot:755\n' })
    const deployer = await ssh(host, 'deployer', 'id -un; sudo -n true && echo sudo-ok')
    expect(deployer).toMatchObject({ code: 0, stdout: 'deployer\nsudo-ok\n' })
    const nosudo = await ssh(host, 'nosudo', 'id -un; sudo -n true')
    expect(nosudo.code).not.toBe(0)
    expect(nosudo.stdout).toBe('nosudo\n')
    expect(nosudo.stderr).toContain('a password is required')
  })

  it('publishes its host key exactly as ssh-keyscan prints it, and a different pinned key is refused', async () => {
    const scan = await host.runAsRunner('ssh-keyscan', ['-t', 'ed25519', '-p', '22', host.domain])
    expect(scan.stdout.trim()).toBe(host.hostKeyLine)
    const fingerprint = execFileSync('ssh-keygen', ['-lf', host.knownHostsPath]).toString().split(' ')[1]
    expect(fingerprint).toBe(host.hostKeyFingerprint)
    expect(host.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)

    const otherKey = `${host.domain} ${host.keys.nosudo.publicKey.split(' ').slice(0, 2).join(' ')}\n`
    const wrongKnownHosts = join(pkiDir, 'wrong_known_hosts')
    writeFileSync(wrongKnownHosts, otherKey)
    const args = host
      .sshArgs('root')
      .map((arg) => (arg.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${wrongKnownHosts}` : arg))
    const refused = await host.runAsRunner('ssh', [...args, 'true'])
    expect(refused.code).toBe(255)
    expect(refused.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED')
  })

  it('keeps /etc/passwd, /opt and /etc/hosts private to the namespace', async () => {
    const inside = await host.exec(
      'getent passwd deployer nosudo | cut -d: -f1,6; getent hosts comments.test; ls -A /opt | wc -l',
    )
    expect(inside.stdout).toBe(
      `deployer:/home/deployer\nnosudo:/home/nosudo\n127.0.0.1       comments.test\n0\n`,
    )
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(machinePasswd)
    expect(machinePasswd).not.toMatch(/^deployer:/m)
  })

  it('records every stand-in call and refuses unknown and data-destroying ones', async () => {
    const before = host.calls().length
    const result = await ssh(
      host,
      'deployer',
      [
        "sudo docker version --format '{{.Server.Version}}'",
        'sudo docker frobnicate; echo "unknown=$?"',
        'sudo docker volume rm commento_postgres_volume; echo "rm=$?"',
        'sudo docker volume prune -f; echo "prune=$?"',
        'sudo docker system prune -af; echo "system=$?"',
        'cd /tmp && sudo docker compose down -v; echo "down=$?"',
        'docker version; echo "no-sudo=$?"',
      ].join('; '),
    )
    expect(result.stdout).toBe('27.5.1\nunknown=98\nrm=99\nprune=99\nsystem=99\ndown=99\nno-sudo=1\n')
    expect(result.stderr).toContain('`docker frobnicate` is not a call this stand-in knows')
    expect(result.stderr).toContain('refusing `docker volume rm commento_postgres_volume`')
    expect(result.stderr).toContain('permission denied while trying to connect to the Docker daemon socket')
    const calls = host.calls().slice(before)
    expect(calls[0]).toMatchObject({
      argv: ['docker', 'version', '--format', '{{.Server.Version}}'],
      cwd: '/home/deployer',
      uid: 0,
      user: 'root',
      sudoUser: 'deployer',
      exitCode: 0,
    })
    expect(new Date(calls[0]?.time ?? '').getTime()).toBeGreaterThan(Date.now() - 60_000)
    expect(host.unknownCalls().map((call) => call.command)).toEqual(['docker frobnicate'])
    expect(host.forbiddenCalls().map((call) => call.command)).toEqual([
      'docker volume rm commento_postgres_volume',
      'docker volume prune -f',
      'docker system prune -af',
      'docker compose down -v',
    ])
    expect(calls.at(-1)).toMatchObject({
      argv: ['docker', 'version'],
      uid: expect.any(Number),
      user: 'deployer',
      exitCode: 1,
    })
  })

  it('keeps volumes as real directories: inspect prints one, a missing one fails like docker', async () => {
    const missing = await ssh(host, 'root', "docker volume inspect --format '{{ .Mountpoint }}' nope")
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'Error: No such volume: nope\n' })
    const created = await ssh(
      host,
      'root',
      "docker volume create commento_postgres_volume && docker volume ls -q && docker volume inspect --format '{{ .Mountpoint }}' commento_postgres_volume",
    )
    const [name, listed, mountpoint = ''] = created.stdout.trim().split('\n')
    expect([name, listed]).toEqual(['commento_postgres_volume', 'commento_postgres_volume'])
    await host.exec(`echo 11 > ${mountpoint}/PG_VERSION`)
    expect(readFileSync(join(mountpoint, 'PG_VERSION'), 'utf8')).toBe('11\n')
    expect(host.state().volumes.commento_postgres_volume?.mountpoint).toBe(mountpoint)

    // Setup without a recorded call: an existing data volume, as a server that ran before has.
    const calls = host.calls().length
    const etc = host.createVolume('certbot_etc_volume')
    expect(host.calls()).toHaveLength(calls)
    const listed2 = await ssh(host, 'root', "docker volume inspect -f '{{.Mountpoint}}' certbot_etc_volume")
    expect(listed2.stdout).toBe(`${etc}\n`)
  })

  it('systemctl start runs the installed unit, whose compose up starts nginx serving HTTPS with the release header', async () => {
    await installRelease(host, 'r1', "'POSTGRES_PASSWORD=one'")
    await host.exec('cat > /etc/systemd/system/commento.service', { input: UNIT })
    const started = await ssh(
      host,
      'deployer',
      'sudo systemctl daemon-reload && sudo systemctl enable commento.service && sudo systemctl start commento.service && systemctl is-active commento.service',
    )
    expect(started.stderr).toContain(
      'Created symlink /etc/systemd/system/multi-user.target.wants/commento.service → /etc/systemd/system/commento.service.',
    )
    expect(started).toMatchObject({ code: 0, stdout: 'active\n' })
    const up = host.calls().find((call) => call.command.startsWith('docker compose up'))
    expect(up).toMatchObject({
      argv: ['docker', 'compose', 'up', '--detach', '--wait', '--remove-orphans'],
      cwd: '/opt/commento/releases/r1',
      exitCode: 0,
    })
    expect(host.state()).toMatchObject({
      units: { 'commento.service': { active: 'active', enabled: true } },
      projects: { commento: { status: 'up', dir: '/opt/commento/releases/r1' } },
      site: { running: true, release: 'r1', broken: false },
    })

    const base = `https://${host.domain}`
    const script = await curl(host, certificate.caPath, `${base}/js/commento.js`)
    expect(script).toMatchObject({
      status: '200',
      contentType: 'application/javascript',
      release: 'r1',
      stderr: '',
    })
    expect(await curl(host, certificate.caPath, `${base}/js/count.js`)).toMatchObject({
      status: '200',
      release: 'r1',
    })
    expect(await curl(host, certificate.caPath, `${base}/`)).toMatchObject({
      status: '301',
      location: `${base}/login`,
    })
    expect(await curl(host, certificate.caPath, `${base}/login`)).toMatchObject({
      status: '200',
      contentType: 'text/html',
    })
    const count = await curl(host, certificate.caPath, `${base}/api/comment/count`, [
      '-X',
      'POST',
      '-H',
      'Content-Type: application/json',
      '--data',
      '{"domain":"comments.test","paths":["/"]}',
    ])
    expect(count).toMatchObject({ status: '200', contentType: 'application/json' })
    expect(JSON.parse(count.body)).toEqual({ success: true, commentCounts: {} })
    expect(await curl(host, certificate.caPath, `http://${host.domain}/anything?x=1`)).toMatchObject({
      status: '301',
      location: `${base}/anything?x=1`,
    })
    expect(
      await curl(host, certificate.caPath, `http://${host.domain}/.well-known/acme-challenge/token`),
    ).toMatchObject({
      status: '404',
    })
    // The chain nginx serves is leaf + intermediate: it verifies against the root alone.
    const verified = await host.runAsRunner('openssl', [
      's_client',
      '-connect',
      `${host.domain}:443`,
      '-servername',
      host.domain,
      '-CAfile',
      certificate.caPath,
      '-verify_return_error',
      '-brief',
    ])
    expect(verified.stderr).toContain('Verification: OK')
  })

  it('reload applies a new release: only the changed services are recreated, the header follows current', async () => {
    await installRelease(host, 'r2', "'POSTGRES_PASSWORD=one' 'NOTE=unused'")
    // systemctl prints nothing on success: compose's lines go to the unit's journal.
    expect(await ssh(host, 'root', 'systemctl reload commento')).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '',
    })
    const journal = await ssh(host, 'root', 'journalctl -u commento -n 4 --no-pager')
    expect(journal.stdout).toContain(
      'Container commento-postgres-1 Running\nContainer commento-app-1 Running\nContainer commento-nginx-1 Running\n',
    )
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).release).toBe('r2')

    await installRelease(host, 'r3', "'POSTGRES_PASSWORD=two'")
    await ssh(host, 'root', 'systemctl reload commento')
    const after = await ssh(host, 'root', 'journalctl -u commento -n 4')
    expect(after.stdout).toContain(
      'Container commento-postgres-1 Recreated\nContainer commento-app-1 Running\nContainer commento-nginx-1 Running\n',
    )
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).release).toBe('r3')
  })

  it("uses the loaded unit until daemon-reload, with systemd's warning; a unit that does not exist fails like systemd", async () => {
    await host.exec(
      "sed -i 's/--remove-orphans$/--remove-orphans --force-recreate/' /etc/systemd/system/commento.service",
    )
    const stale = await ssh(
      host,
      'root',
      'systemctl reload commento; systemctl show -p NeedDaemonReload --value commento',
    )
    expect(stale.stderr).toContain(
      "Warning: The unit file, source configuration file or drop-ins of commento.service changed on disk. Run 'systemctl daemon-reload' to reload units.",
    )
    expect(stale.stdout).toBe('yes\n')
    const before = host.calls().length
    await ssh(host, 'root', 'systemctl daemon-reload && systemctl reload commento')
    expect(
      host
        .calls()
        .slice(before)
        .map((call) => call.command),
    ).toContain('docker compose up --detach --wait --remove-orphans --force-recreate')
    const missing = await ssh(
      host,
      'root',
      'systemctl start nothere; echo "start=$?"; systemctl is-active nothere; echo "active=$?"',
    )
    expect(missing.stdout).toBe('start=5\ninactive\nactive=3\n')
    expect(missing.stderr).toBe('Failed to start nothere.service: Unit nothere.service not found.\n')
  })

  it('exec -T postgres pg_dumpall prints a dump naming the project directory; exec needs the project up', async () => {
    const dump = await ssh(
      host,
      'root',
      'cd /opt/commento/current && docker compose exec -T postgres pg_dumpall -U postgres',
    )
    expect(dump.code).toBe(0)
    expect(dump.stdout).toContain('-- project directory: /opt/commento/releases/r3')
    const tty = await ssh(host, 'root', 'cd /opt/commento/current && docker compose exec postgres pg_dumpall')
    expect(tty).toMatchObject({ code: 1, stderr: 'the input device is not a TTY\n' })
  })

  it('daemons started by a stand-in do not inherit the caller’s descriptors (a flock on fd 9)', async () => {
    const restarted = await ssh(
      host,
      'root',
      'exec 9>/run/deploy.lock && flock -n 9 && systemctl restart commento && echo restarted',
    )
    expect(restarted).toMatchObject({ code: 0, stdout: 'restarted\n' })
    const check = await ssh(
      host,
      'root',
      'flock -n /run/deploy.lock true && echo lock-free; for p in $(pgrep -x nginx); do ls -l /proc/$p/fd; done | grep -c deploy.lock',
    )
    expect(check.stdout).toBe('lock-free\n0\n')
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).status).toBe('200')
  })

  it('failNext makes the next matching calls fail, then lets them through', async () => {
    host.failNext('docker compose pull', { exitCode: 18, stderr: 'pull access denied for postgres' })
    host.failNext('systemctl restart', { times: 2 })
    const result = await ssh(
      host,
      'root',
      'cd /opt/commento/current; for i in 1 2; do docker compose -f compose.yaml pull --quiet --ignore-buildable; echo "pull=$?"; done; ' +
        'for i in 1 2 3; do systemctl restart commento.service; echo "restart=$?"; done',
    )
    expect(result.stdout).toBe('pull=18\npull=0\nrestart=1\nrestart=1\nrestart=0\n')
    expect(result.stderr).toContain('pull access denied for postgres\n')
    expect(result.stderr).toContain('test host: injected failure of `systemctl restart`')
    const injected = host.calls().filter((call) => call.injected)
    expect(injected.map((call) => [call.command, call.exitCode])).toEqual([
      ['docker compose pull --quiet --ignore-buildable', 18],
      ['systemctl restart commento.service', 1],
      ['systemctl restart commento.service', 1],
    ])
    expect(host.state().failures).toEqual([])
  })

  it('breakSiteOnNextUp: 502 on everything after the next compose up, until the one after', async () => {
    host.breakSiteOnNextUp()
    expect(await ssh(host, 'root', 'cd /opt/commento/current && docker compose up -d --wait')).toMatchObject({
      code: 0,
    })
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).status).toBe('502')
    expect((await curl(host, certificate.caPath, `https://${host.domain}/`)).status).toBe('502')
    const ps = await ssh(
      host,
      'root',
      'cd /opt/commento/current && docker compose ps --format json | grep \'"Service":"app"\'',
    )
    expect(JSON.parse(ps.stdout)).toMatchObject({ Name: 'commento-app-1', State: 'restarting' })
    await ssh(host, 'root', 'cd /opt/commento/current && docker compose up -d --wait')
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).status).toBe('200')
  })

  it('counts connections and channels from sshd’s log, and kills sessions but not the listener', async () => {
    const connections = host.sshConnectionCount()
    const channels = host.sshChannelCount()
    await ssh(host, 'root', 'true')
    expect(host.sshConnectionCount()).toBe(connections + 1)
    expect(host.sshChannelCount()).toBe(channels + 1)

    const child = host.spawnAsRunner('ssh', [
      ...host.sshArgs('deployer'),
      'echo started; sleep 20; echo finished',
    ])
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    await new Promise((resolve) => child.stdout.once('data', resolve))
    const started = Date.now()
    expect(host.killSshSessions()).toBeGreaterThan(0)
    expect(await closed).toBe(255)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await ssh(host, 'root', 'echo still-listening')).toMatchObject({
      code: 0,
      stdout: 'still-listening\n',
    })

    // By default the remote command outlives its dropped connection, as on a real server; withCommands
    // kills it too (a crashed deploy).
    const marker = (name: string) => `sleep 3${name === 'kept' ? 1 : 2}.5`
    for (const [name, withCommands] of [
      ['kept', false],
      ['killed', true],
    ] as const) {
      const session = host.spawnAsRunner('ssh', [...host.sshArgs('root'), `echo started; ${marker(name)}`])
      const ended = new Promise((resolve) => session.on('close', resolve))
      await new Promise((resolve) => session.stdout.once('data', resolve))
      host.killSshSessions({ withCommands })
      await ended
      const left = await host.exec(`pgrep -f '^${marker(name)}$' || true`)
      expect({ name, running: left.stdout !== '' }).toEqual({ name, running: !withCommands })
    }
    await host.exec("pkill -f '^sleep 31.5$' || true")
  })

  it('setTls serves another certificate from now on (here one the client does not trust)', async () => {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat(
        [
          '-keyout',
          'self.key',
          '-out',
          'self.pem',
          '-subj',
          '/CN=self-signed',
          '-addext',
          `subjectAltName=DNS:${host.domain}`,
        ],
      ),
      { cwd: pkiDir, stdio: 'pipe' },
    )
    await host.setTls({ certPath: join(pkiDir, 'self.pem'), keyPath: join(pkiDir, 'self.key') })
    const refused = await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)
    expect(refused.status).toBe('000')
    expect(refused.stderr).toMatch(/self-signed certificate/)
    await host.setTls(certificate)
    expect((await curl(host, certificate.caPath, `https://${host.domain}/js/commento.js`)).status).toBe('200')
  })

  it('left the machine’s own /etc/passwd, /etc/hosts, /opt and /etc/systemd/system as they were', async () => {
    // Everything above wrote /opt/commento, a unit and its [Install] symlink: inside the namespace only.
    expect((await host.exec('ls /opt; ls /etc/systemd/system')).stdout).toBe(
      'commento\ncommento.service\nmulti-user.target.wants\n',
    )
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(machinePasswd)
    expect(readFileSync('/etc/hosts', 'utf8')).toBe(machineHosts)
    expect(readdirSync('/opt').sort()).toEqual(machineOpt)
    expect(readdirSync('/etc/systemd/system').sort()).toEqual(machineUnits)
  })
})

describe('machine preflight variants', () => {
  const preflight =
    'for t in docker docker-compose systemctl; do command -v $t >/dev/null && echo "$t=yes" || echo "$t=no"; done; ' +
    '[ -d /run/systemd/system ] && echo systemd-dir=yes || echo systemd-dir=no; ' +
    'docker compose version --short 2>&1; docker-compose version --short 2>&1; systemctl is-active commento 2>&1'
  const cases: [string, TestHostOptions, string][] = [
    [
      'docker absent',
      { docker: 'absent', compose: 'none' },
      'docker=no\ndocker-compose=no\nsystemctl=yes\nsystemd-dir=yes\nbash: line 1: docker: command not found\nbash: line 1: docker-compose: command not found\ninactive\n',
    ],
    [
      'compose v1 only',
      { compose: 'v1' },
      "docker=yes\ndocker-compose=yes\nsystemctl=yes\nsystemd-dir=yes\ndocker: 'compose' is not a docker command.\nSee 'docker --help'\n1.29.2\ninactive\n",
    ],
    [
      'no systemd',
      { systemd: false },
      "docker=yes\ndocker-compose=no\nsystemctl=yes\nsystemd-dir=no\n2.32.4\nbash: line 1: docker-compose: command not found\nSystem has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
    ],
  ]
  const hosts: TestHost[] = []

  beforeAll(async () => {
    // Several hosts at once, each in its own namespaces, all on port 22.
    hosts.push(...(await Promise.all(cases.map(([, options]) => startTestHost(options)))))
  })
  afterAll(async () => {
    await Promise.all(hosts.map((host) => host.stop()))
  })

  it.each(cases.map(([name, , expected], index) => [name, index, expected] as const))(
    '%s is what command -v and /run/systemd/system show',
    async (_name, index, expected) => {
      const host = hosts[index] as TestHost
      const result = await ssh(host, 'root', preflight)
      expect(result.stdout).toBe(expected)
    },
  )

  it('runs a Type=simple unit (foreground docker-compose v1) under supervision: start, main pid, stop', async () => {
    const host = hosts[1] as TestHost
    await host.exec(
      'mkdir -p /opt/commento/r1 && cd /opt/commento/r1 && ' +
        "printf 'services:\n  app:\n    image: commento\n  nginx:\n    image: nginx\n' > docker-compose.yml && " +
        'printf "COMPOSE_PROJECT_NAME=commento\n" > .env && cat > /etc/systemd/system/commento.service',
      {
        input:
          '[Service]\nType=simple\nWorkingDirectory=/opt/commento/r1\n' +
          'ExecStartPre=-/usr/bin/env docker-compose down --remove-orphans\n' +
          'ExecStart=/usr/bin/env docker-compose up --remove-orphans --abort-on-container-exit\n' +
          'ExecStop=/usr/bin/env docker-compose down\n',
      },
    )
    const started = await ssh(
      host,
      'root',
      'systemctl start commento && systemctl show -p ActiveState,SubState,MainPID commento',
    )
    expect(started.stdout).toMatch(/^ActiveState=active\nSubState=running\nMainPID=[1-9]\d*\n$/)
    const http = () =>
      host.runAsRunner('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${host.domain}/`])
    // Type=simple: systemctl returns once the main process runs, as systemd does; compose then brings
    // the project up in the foreground, so the site answers a moment later.
    let status = ''
    for (const deadline = Date.now() + 15_000; status !== '301' && Date.now() < deadline; ) {
      status = (await http()).stdout
      if (status !== '301') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(status).toBe('301')
    expect(host.state().projects.commento).toMatchObject({ status: 'up', dir: '/opt/commento/r1' })
    const mainPid = Number(/MainPID=(\d+)/.exec(started.stdout)?.[1])
    expect((await host.exec(`tr '\\0' ' ' < /proc/${mainPid}/cmdline`)).stdout).toContain('docker-compose up')

    const stopped = await ssh(host, 'root', 'systemctl stop commento; systemctl is-active commento')
    expect(stopped.stdout).toBe('inactive\n')
    expect((await http()).stdout).toBe('000')
    expect(host.state().projects.commento?.status).toBe('down')
    expect((await host.exec(`kill -0 ${mainPid}`, { allowFailure: true })).code).not.toBe(0)
  })
})

describe('stopping a host', () => {
  it('leaves no process, no mount and no file behind, and is idempotent', async () => {
    const host = await startTestHost()
    const { netns, dir } = host
    await host.exec(
      "mkdir -p /opt/p && printf 'name: p\\nservices:\\n  web:\\n    image: nginx\\n' > /opt/p/compose.yaml && cd /opt/p && docker compose up -d",
    )
    const sleeper = host.spawnAsRunner('sleep', ['60'])
    await new Promise((resolve) => sleeper.once('spawn', resolve))
    expect(processesInNetns(netns).length).toBeGreaterThan(3)
    await host.stop()
    expect(processesInNetns(netns)).toEqual([])
    expect(existsSync(dir)).toBe(false)
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir)
    await host.stop()
    expect(() => host.failNext('docker')).toThrow('this host is stopped')
  })

  it('stops itself when the process that started it is killed', async () => {
    const script = `import { startTestHost } from ${JSON.stringify(join(process.cwd(), 'test-host', 'test-host.mjs'))}
const host = await startTestHost()
console.log(JSON.stringify({ netns: host.netns, dir: host.dir }))
setInterval(() => {}, 1000)`
    const owner = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const line = await new Promise<string>((resolve) =>
      owner.stdout.once('data', (chunk) => resolve(String(chunk))),
    )
    const { netns, dir } = JSON.parse(line) as { netns: string; dir: string }
    expect(processesInNetns(netns).length).toBeGreaterThan(0)
    owner.kill('SIGKILL')
    const deadline = Date.now() + 10_000
    while ((processesInNetns(netns).length > 0 || existsSync(dir)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(processesInNetns(netns)).toEqual([])
    expect(existsSync(dir)).toBe(false)
  })
})

describe('latency', () => {
  /**
   * Milliseconds from connect() to the first byte of the answer to a request, from the runner: the best
   * of three connections, so that a machine busy with other tests does not blur the difference.
   */
  async function connectAndRequest(host: TestHost): Promise<number> {
    const probe = `const net = require('node:net')
const once = () => new Promise((resolve) => { const t = Date.now()
  const s = net.connect(80, ${JSON.stringify(host.domain)}, () => s.write('GET / HTTP/1.0\\r\\n\\r\\n'))
  s.once('data', () => { resolve(Date.now() - t); s.destroy() }) })
;(async () => { const times = []; for (let i = 0; i < 3; i++) times.push(await once()); console.log(Math.min(...times)) })()`
    const result = await host.runAsRunner(process.execPath, ['-e', probe])
    expect(result.stderr).toBe('')
    return Number(result.stdout)
  }

  /** Brings a one-service project up so nginx answers on port 80. */
  async function siteUp(host: TestHost) {
    await host.exec(
      "mkdir -p /opt/p && printf 'name: p\\nservices:\\n  web:\\n    image: nginx\\n' > /opt/p/compose.yaml && cd /opt/p && docker compose up -d",
    )
  }

  it('a TCP connect + request round trip takes two round trips with latencyMs 50, far less without', async () => {
    const [slow, fast] = await Promise.all([startTestHost({ latencyMs: 50 }), startTestHost()])
    try {
      await Promise.all([siteUp(slow), siteUp(fast)])
      const slowMs = await connectAndRequest(slow)
      const fastMs = await connectAndRequest(fast)
      // Two round trips of 100 ms (handshake, then request and answer); the one without latency
      // costs next to nothing, even on a busy machine.
      expect(slowMs).toBeGreaterThanOrEqual(150)
      expect(slowMs).toBeLessThan(1000)
      expect(fastMs).toBeLessThan(Math.min(100, slowMs - 100))
      // sshd behind the proxy still works with the pinned key, and the proxy counted the traffic.
      expect(await ssh(slow, 'root', 'echo hi')).toMatchObject({ code: 0, stdout: 'hi\n' })
      await new Promise((resolve) => setTimeout(resolve, 200))
      const stats = slow.trafficStats()
      expect(stats[80]).toMatchObject({ connections: 3, open: 0, bytesToServer: 3 * 18 })
      expect(stats[80]?.bytesToClient).toBeGreaterThan(100)
      expect(stats[22]?.connections).toBe(1)
      expect(stats[443]).toMatchObject({ connections: 0 })
      expect(() => fast.trafficStats()).toThrow('start the host with latencyMs')
    } finally {
      await Promise.all([slow.stop(), fast.stop()])
    }
  })
})
