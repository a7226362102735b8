// Secrets are never printed, and the server keeps them where only root reads them. Every mode runs,
// succeeding and failing, with the runner's debug logging on (ACTIONS_STEP_DEBUG, RUNNER_DEBUG); every
// byte the action wrote is scanned (stdout without the `::add-mask::` commands the runner consumes, stderr,
// the summary, the outputs file, everything in its HOME and temp dirs) and so is every file a user other
// than root can read under the deploy dir, for the private key (whole and line by line, encrypted and
// decrypted), its passphrase, the SSH password, the Postgres password, every secret commento-env value and
// the GitHub token. Then the server's modes and owners, and deploy.log only ever appended to.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHost, type TestHost } from '../../test-host/test-host.mjs'
import type { Pki } from '../../test-host/test-pki.mjs'
import { type BundleRun, expectExit, runBundle } from './helpers/bundle.js'
import { encryptedKey } from './helpers/keys.js'
import { filesUnder, findSecrets, type NamedSecret, secretNeedles } from './helpers/secret-scan.js'
import { pkiFor } from './helpers/server.js'

const DOMAIN = 'comments.test'
const hex = (n: number) => randomBytes(n).toString('hex')

const PASSPHRASE = `pp-${hex(12)}`
const KEY = encryptedKey(PASSPHRASE)
const SECRETS = {
  passphrase: PASSPHRASE,
  password: `pw-${hex(12)}`,
  'postgres-password': `pg-${hex(12)}`,
  'github-token': `ghp_${hex(18)}`,
}
/** Two sets of commento-env secrets: the release before and after a change. */
const ENV_SECRETS = [0, 1].map(() => ({
  COMMENTO_SMTP_PASSWORD: `smtp-${hex(10)}`,
  COMMENTO_GITHUB_SECRET: `ghs-${hex(10)}`,
  COMMENTO_AKISMET_KEY: `akismet-${hex(10)}`,
  COMMENTO_PERSPECTIVE_API_TOKEN: `persp-${hex(10)}`,
}))

const NEEDLES = secretNeedles(
  [
    { name: 'private key (encrypted)', value: KEY.encrypted },
    { name: 'private key (decrypted)', value: KEY.decrypted },
    ...Object.entries(SECRETS).map(([name, value]) => ({ name, value })),
    ...ENV_SECRETS.flatMap((set, i) =>
      Object.entries(set).map(([name, value]) => ({ name: `commento-env ${name} (set ${i + 1})`, value })),
    ),
  ],
  KEY.boilerplate,
)

let host: TestHost
let pki: Pki
let pkiDir: string
/** Everything scanned, with its run's name: findings are collected per run and asserted empty. */
const findings: string[] = []
const scanned: string[] = []

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'cd-rel-secrets-'))
  const made = await pkiFor(pkiDir, DOMAIN)
  pki = made.pki
  host = await startTestHost({ domain: DOMAIN, tls: made.tls })
  await host.exec('cat >> /root/.ssh/authorized_keys', { input: KEY.publicKey })
}, 60_000)

afterAll(async () => {
  await host?.stop()
  rmSync(pkiDir, { recursive: true, force: true })
})

function inputs(envSet: number, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    host: DOMAIN,
    'host-key': host.hostKeyLine,
    'private-key': KEY.encrypted,
    ...SECRETS,
    domain: DOMAIN,
    email: 'admin@example.com',
    'wait-timeout': '10',
    'commento-env': [
      'COMMENTO_FORBID_NEW_OWNERS=true',
      ...Object.entries(ENV_SECRETS[envSet] as Record<string, string>).map(([k, v]) => `${k}=${v}`),
    ].join('\n'),
    ...overrides,
  }
}

/** Runs the bundle with debug logging and scans everything it wrote; returns the run. */
/** deploy.log as it is (its inode and text), or null before the first deploy made it. */
async function deployLog(dir: string): Promise<{ inode: string; text: string } | null> {
  const r = await host.exec(`stat -c %i ${dir}/deploy.log 2>/dev/null && cat ${dir}/deploy.log || true`)
  const newline = r.stdout.indexOf('\n')
  return newline < 0 ? null : { inode: r.stdout.slice(0, newline), text: r.stdout.slice(newline + 1) }
}

/** Runs failing deploy.log's rule: a run only ever appends to it (same file, earlier bytes untouched). */
const logViolations: string[] = []

async function scannedRun(name: string, values: Record<string, string>, extra: NamedSecret[] = []) {
  const remoteDir = values['remote-dir'] ?? '/opt/commento'
  const logBefore = await deployLog(remoteDir)
  let files: Array<{ where: string; text: string }> = []
  const run: BundleRun = await runBundle(host, values, {
    env: { NODE_EXTRA_CA_CERTS: pki.rootCertPath, ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' },
    inspect: (dir) => {
      files = filesUnder(dir)
    },
  })
  const sources = [
    { where: 'stdout (without ::add-mask::)', text: run.shown },
    { where: 'stderr', text: run.stderr },
    ...files.map((file) => ({
      where: file.where.replace(/^.*\/cd-rel-run-[^/]+\//, 'run dir: '),
      text: file.text,
    })),
  ]
  for (const f of findSecrets(sources, [...NEEDLES, ...secretNeedles(extra)]))
    findings.push(`${name}: ${f.secret} in ${f.where}`)
  scanned.push(`${name} (exit ${run.code})`)
  const logAfter = await deployLog(remoteDir)
  if (logBefore && (logAfter?.inode !== logBefore.inode || !logAfter.text.startsWith(logBefore.text)))
    logViolations.push(`${name}: deploy.log was rewritten, not appended to`)
  return run
}

/** Files under `dir` on the server that a user other than root can read (the file and every folder above it). */
async function worldReadable(dir: string): Promise<Array<{ where: string; text: string }>> {
  const list = await host.exec(
    `find ${dir} /etc/systemd/system -type f -perm -o=r 2>/dev/null | while IFS= read -r f; do
       d=$(dirname "$f"); ok=1
       while [ "$d" != / ]; do [ -n "$(find "$d" -maxdepth 0 -perm -o=x)" ] || ok=0; d=$(dirname "$d"); done
       [ "$ok" = 1 ] && printf '%s\\n' "$f"
     done`,
  )
  const files = list.stdout.split('\n').filter(Boolean)
  return Promise.all(
    files.map(async (where) => ({ where: `server: ${where}`, text: await host.readFile(where) })),
  )
}

describe('every mode, succeeding and failing, with debug logging: no secret in anything written', () => {
  it('deploy, plan, deploy of a change, rollback, check: all succeed', async () => {
    expectExit(await scannedRun('deploy', inputs(0)), 0)
    const plan = await scannedRun('plan of a change', inputs(1, { mode: 'plan' }))
    expectExit(plan, 0)
    expect(plan.summary).toContain('~ COMMENTO_SMTP_PASSWORD (value hidden)')
    expectExit(await scannedRun('deploy of a change', inputs(1)), 0)
    expectExit(await scannedRun('rollback', inputs(1, { mode: 'rollback' })), 0)
    expectExit(await scannedRun('check', inputs(1, { mode: 'check' })), 0)
    expect(findings).toEqual([])
  })

  it('deploy failing (the server echoes a secret in its error; the HTTPS check fails), rollback and plan failing', async () => {
    const leaky = ENV_SECRETS[1]?.COMMENTO_SMTP_PASSWORD as string
    host.failNext('docker compose pull', {
      stderr: `invalid interpolation: COMMENTO_SMTP_PASSWORD=${leaky} in ${SECRETS['postgres-password']}`,
    })
    const pull = await scannedRun('deploy, pull fails echoing secrets', inputs(1))
    expectExit(pull, 1)
    expect(pull.shown).toMatch(/::error::The images phase failed on the server: pulling images failed/)

    host.breakSiteOnNextUp()
    const broken = await scannedRun('deploy, HTTPS check fails', inputs(1, { 'wait-timeout': '2' }))
    expectExit(broken, 1)
    expect(broken.outputs['rolled-back']).toBe('true')

    host.failNext('systemctl reload', { stderr: `reload failed for ${leaky}` })
    expectExit(await scannedRun('rollback, reload fails', inputs(1, { mode: 'rollback' })), 1)

    host.failNext('docker version', { stderr: `Cannot connect: ${SECRETS.password}` })
    expectExit(await scannedRun('plan, docker fails', inputs(1, { mode: 'plan' })), 1)
    expect(findings).toEqual([])
  })

  it('check failing, with diagnostics collected over SSH', async () => {
    await host.exec('systemctl stop commento.service')
    const check = await scannedRun(
      'check failing, with diagnostics',
      inputs(1, { mode: 'check', 'wait-timeout': '1' }),
    )
    expectExit(check, 1)
    expect(check.summary).toContain('Diagnostics from the server')
    await host.exec('systemctl start commento.service')
    expect(findings).toEqual([])
  })

  it('nothing a user other than root can read on the server holds a secret', async () => {
    const files = await worldReadable('/opt/commento')
    expect(files.map((f) => f.where)).toContain('server: /etc/systemd/system/commento.service')
    const leaks = findSecrets(files, NEEDLES).map((f) => `${f.secret} in ${f.where}`)
    expect(leaks).toEqual([])
    // Everything is root's and writable by root only; what holds secrets is readable by root only.
    const modes = await host.exec(
      'cd /opt/commento && find . -not -type l -printf "%u %m %P\\n" | sed "s/ $/ ./" && stat -c "%U %a %n" /etc/systemd/system/commento.service',
    )
    expect(modes.stdout).toMatch(/ releases\/r\w+\/\.env\n/)
    expect(modes.stdout).toMatch(/ backups\/\S+\.sql\.gz\n/)
    for (const line of modes.stdout.trim().split('\n')) {
      const [owner, mode, path] = line.split(' ') as [string, string, string]
      expect({ path, owner }).toEqual({ path, owner: 'root' })
      const bits = Number.parseInt(mode, 8)
      expect({ path, writableByOthers: (bits & 0o022) !== 0 }).toEqual({ path, writableByOthers: false })
      if (/\.env$|^backups|^secrets|^state$/.test(path))
        expect({ path, readableByOthers: (bits & 0o077) !== 0 }).toEqual({ path, readableByOthers: false })
    }
  })
})

describe('the deploy dir on the server', () => {
  it('made by someone else, writable by all: the deploy takes it over for root; the generated password stays root-only', async () => {
    // A folder a user made and left open to everyone: any of them could swap a release or the unit's files.
    await host.exec(
      'install -d -m 0777 -o nobody -g nogroup /opt/taken-over && install -d -m 0777 -o nobody /opt/taken-over/releases',
    )
    const values = inputs(0, { 'remote-dir': '/opt/taken-over' })
    delete values['postgres-password']
    const run = await scannedRun('deploy into a dir made by someone else', values)
    expectExit(run, 0)
    const generated = (await host.readFile('/opt/taken-over/secrets/postgres-password')).trim()
    expect(generated).toMatch(/^[0-9a-f]{48}$/)
    expect(
      findSecrets(
        [
          { where: 'stdout', text: run.shown },
          { where: 'summary', text: run.summary },
        ],
        secretNeedles([{ name: 'generated password', value: generated }]),
      ),
    ).toEqual([])
    const stat = await host.exec(
      'cd /opt/taken-over && stat -c "%U:%G %a %n" . releases secrets secrets/postgres-password current/.env',
    )
    expect(stat.stdout.trim().split('\n')).toEqual([
      'root:root 755 .',
      'root:root 755 releases',
      'root:root 700 secrets',
      'root:root 600 secrets/postgres-password',
      'root:root 600 current/.env',
    ])
    const leaks = findSecrets(await worldReadable('/opt/taken-over'), [
      ...NEEDLES,
      ...secretNeedles([{ name: 'generated password', value: generated }]),
    ])
    expect(leaks).toEqual([])
  })

  it('deploy.log is only ever appended to: by every run above, earlier bytes untouched, in the same file', async () => {
    // A line the deploy did not write stays as it is too.
    await host.exec(`printf 'a line written by hand, kept as it is\\n' >> /opt/commento/deploy.log`)
    expectExit(await scannedRun('deploy after a hand-written log line', inputs(0)), 0)
    expect(await host.readFile('/opt/commento/deploy.log')).toMatch(
      /\na line written by hand, kept as it is\n\S+Z actor=octocat .* result=healthy\n$/,
    )
    expect(logViolations).toEqual([])
    expect(scanned.length).toBeGreaterThanOrEqual(12)
    expect(await host.exec(`stat -c '%U %a' /opt/commento/deploy.log`)).toMatchObject({
      stdout: 'root 640\n',
    })
  })

  afterAll(() => {
    console.log(`Secret scan: ${scanned.length} runs, ${NEEDLES.length} needles\n${scanned.join('\n')}`)
    expect(findings).toEqual([])
  })
})
