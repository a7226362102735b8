// Hostile input: a corpus of malicious or malformed values, each given to the bundle as the runner gives
// it (INPUT_* variables) against the test host. A value that is not free text is refused with a clear
// error that names its input, before any connection (sshd counted none). A value that is free text
// (postgres-password, passphrase, password, commento-env values) arrives byte for byte (the server's
// .env read back with Compose's rules, the key decrypted, the password accepted by sshd), while the
// stand-ins prove that no command ran that the test did not expect.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError } from '../../src/inputs/input-error.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { postgresUrl } from '../../src/release/postgres.js'
import { startTestHost, type TestHost } from '../../test-host/test-host.mjs'
import type { Pki } from '../../test-host/test-pki.mjs'
import { makeKeyPair } from '../helpers/ssh-keys.js'
import { readDotenv } from '../stack/helpers/dotenv-reader.js'
import { type BundleRun, expectExit, runBundle } from './helpers/bundle.js'
import { pkiFor } from './helpers/server.js'

const DOMAIN = 'comments.test'
// What a payload would create if any shell ran it: checked on the runner and on the server.
const MARK = `/tmp/cd-pwned-${randomBytes(6).toString('hex')}`

let host: TestHost
let pki: Pki
let pkiDir: string

beforeAll(async () => {
  pkiDir = mkdtempSync(join(tmpdir(), 'cd-rel-hostile-'))
  const made = await pkiFor(pkiDir, DOMAIN)
  pki = made.pki
  host = await startTestHost({ domain: DOMAIN, tls: made.tls })
}, 60_000)

afterAll(async () => {
  await host?.stop()
  rmSync(pkiDir, { recursive: true, force: true })
})

afterEach(async () => {
  expect(existsSync(MARK)).toBe(false)
  expect((await host.exec(`test -e ${MARK} && echo pwned || true`)).stdout).toBe('')
})

function inputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    host: DOMAIN,
    'host-key': host.hostKeyLine,
    'private-key': host.keys.root.privateKey,
    domain: DOMAIN,
    email: 'admin@example.com',
    'wait-timeout': '15',
    ...overrides,
  }
}

function run(values: Record<string, string>): Promise<BundleRun> {
  return runBundle(host, values, { env: { NODE_EXTRA_CA_CERTS: pki.rootCertPath } })
}

const shell = [
  `$(touch ${MARK})`,
  `\`touch ${MARK}\``,
  `; touch ${MARK}`,
  `&& touch ${MARK}`,
  `| touch ${MARK}`,
]
const long = (n: number) => 'a'.repeat(n)

/** [input, value]: each must be refused naming its input. */
const REFUSED: ReadonlyArray<readonly [string, string]> = [
  // host: shell, option injection, other fields smuggled in, junk.
  ...shell.map((s) => ['host', `${DOMAIN}${s}`] as const),
  ['host', '-oProxyCommand=touch /tmp/x'],
  ['host', '-oProxyCommand=sh'],
  ['host', `${DOMAIN}\n-oProxyCommand=sh`],
  ['host', `root@${DOMAIN}`],
  ['host', `${DOMAIN}:2222`],
  ['host', `ssh://${DOMAIN}`],
  ['host', `${DOMAIN}/../etc`],
  ['host', `${long(300)}.test`],
  ['host', 'comments test'],
  ['host', 'сomments.test'], // Cyrillic с
  // port
  ['port', '22; id'],
  ['port', '22 -oProxyCommand=sh'],
  ['port', '0'],
  ['port', '65536'],
  ['port', '-1'],
  ['port', '0x16'],
  // username
  ['username', '-oProxyCommand=touch /tmp/x'],
  ['username', `root${shell[2]}`],
  ['username', '$(id)'],
  ['username', 'ro ot'],
  ['username', 'root\nnosudo'],
  ['username', '../../etc'],
  ['username', long(40)],
  // remote-dir: traversal, shell, system dirs.
  ['remote-dir', '/opt/commento/../../etc'],
  ['remote-dir', '../etc'],
  ['remote-dir', '/opt/commento/..'],
  ['remote-dir', '/opt/./commento'],
  ['remote-dir', `/opt/commento${shell[2]}`],
  ['remote-dir', `/opt/${shell[0]}`],
  ['remote-dir', `/opt/${shell[1]}`],
  ['remote-dir', '/opt/comm ento'],
  ['remote-dir', '/opt/commento\n/etc'],
  ['remote-dir', 'opt/commento'],
  ['remote-dir', '/'],
  ['remote-dir', '/etc'],
  ['remote-dir', '/opt/-rf'],
  ['remote-dir', `/opt/${long(300)}`],
  // domain: shell, header and line injection, scheme/path/port, confusables, malformed labels.
  ['domain', `${DOMAIN}${shell[2]}`],
  ['domain', `${shell[0]}.test`],
  ['domain', `${DOMAIN}\nX-Injected: 1`],
  ['domain', `https://${DOMAIN}`],
  ['domain', `${DOMAIN}/path`],
  ['domain', `${DOMAIN}:8443`],
  ['domain', 'сomments.test'], // Cyrillic с in a Latin label
  ['domain', 'comments.tеst'], // Cyrillic е
  ['domain', 'pаypal.com'], // Cyrillic а
  ['domain', `*.${DOMAIN}`],
  ['domain', `-${DOMAIN}`],
  ['domain', 'comments..test'],
  ['domain', `${long(64)}.test`],
  ['domain', 'comments'],
  ['domain', `${DOMAIN} server_name evil.test;`],
  // email (certbot gets it): option-like, shell, lines.
  ['email', '--register-unsafely-without-email@example.com'],
  ['email', `admin@example.com\n--server=https://evil.test`],
  ['email', `${shell[0]}@example.com`],
  ['email', 'admin@example.com --agree-tos'],
  ['email', 'admin'],
  // commento-env: env-file and YAML injection, managed names, junk names, control characters, size.
  ['commento-env', 'COMMENTO_SMTP_HOST=x\nPOSTGRES_PASSWORD=hijacked'],
  ['commento-env', 'COMMENTO_SMTP_HOST=x\nCOMPOSE_PROJECT_NAME=evil'],
  ['commento-env', 'COMMENTO_POSTGRES=postgres://evil:evil@evil.test/commento'],
  ['commento-env', 'COMMENTO_ORIGIN=https://evil.test'],
  ['commento-env', 'COMMENTO_PORT=22'],
  ['commento-env', 'commento_smtp_host=lower.case'],
  ['commento-env', `COMMENTO_${shell[0]}=x`],
  ['commento-env', 'COMMENTO_SMTP_HOST'],
  ['commento-env', 'COMMENTO_SMTP_HOST=a\rCOMMENTO_X=b'],
  ['commento-env', 'COMMENTO_SMTP_HOST=a\u001b[2Jb'],
  ['commento-env', 'COMMENTO_SMTP_HOST=DEL\u007f'],
  ['commento-env', 'COMMENTO_SMTP_HOST=x\nCOMMENTO_SMTP_HOST=y'],
  ['commento-env', `COMMENTO_SMTP_HOST=${long(5000)}`],
  ['commento-env', 'COMMENTO_SMTP_PASSWORD=ends with a backslash\\'],
  ['commento-env', 'services:\n  evil:\n    image: evil'],
  // free text with line breaks or control characters: refused, and never shown.
  ['postgres-password', 'long enough password\nPOSTGRES_USER=evil'],
  ['postgres-password', 'long enough but ends in \\'],
  ['postgres-password', 'short'],
  ['passphrase', 'pass\nphrase'],
  ['password', 'pass\u0007word'],
  // images and numbers that reach the server's files and script.
  ['commento-image', `registry.example.com/commento:v1${shell[2]}`],
  ['postgres-image', 'postgres:17-alpine\nservices: {}'],
  ['keep-releases', '5; rm -rf /'],
  ['lock-wait', '$(id)'],
  ['wait-timeout', '1e9'],
  ['mode', `deploy${shell[2]}`],
  ['host-key', `${DOMAIN} ssh-ed25519 ${shell[0]}`],
]

describe('refused before any connection', () => {
  it(`${REFUSED.length} malicious or malformed values: exit 1, the message names the input, sshd saw no connection`, async () => {
    expect(REFUSED.length).toBeGreaterThanOrEqual(60)
    const before = host.sshConnectionCount()
    const results: Array<{ input: string; value: string; run: BundleRun }> = []
    // Four at a time: each is a node start, and nothing here depends on the others.
    for (let i = 0; i < REFUSED.length; i += 4) {
      const batch = REFUSED.slice(i, i + 4)
      results.push(
        ...(await Promise.all(
          batch.map(async ([input, value]) => ({ input, value, run: await run(inputs({ [input]: value })) })),
        )),
      )
    }
    const wrong = results
      .filter(
        ({ input, run: r }) => r.code !== 1 || !new RegExp(`::error::.*[Ii]nput '${input}'`).test(r.shown),
      )
      .map(
        ({ input, value, run: r }) =>
          `${input}=${JSON.stringify(value.slice(0, 60))}: exit ${r.code}\n${r.shown}`,
      )
    expect(wrong).toEqual([])
    expect(host.sshConnectionCount()).toBe(before)
    // The hidden inputs are never echoed, not even in the refusal.
    for (const { input, value, run: r } of results) {
      const firstLine = value.split('\n')[0] as string
      if (
        ['postgres-password', 'passphrase', 'password', 'commento-env'].includes(input) &&
        firstLine.length >= 10
      )
        expect({ input, shown: r.shown }).not.toEqual({ input, shown: expect.stringContaining(firstLine) })
    }
  })

  it('NUL, which no environment variable or argument can carry, is refused by the parser for every input', () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['host', `${DOMAIN}\u0000-oProxyCommand=sh`],
      ['username', 'root\u0000'],
      ['remote-dir', '/opt/commento\u0000/etc'],
      ['domain', `${DOMAIN}\u0000`],
      ['email', 'admin@example.com\u0000'],
      ['postgres-password', 'long enough password\u0000x'],
      ['passphrase', 'pass\u0000phrase'],
      ['password', 'pass\u0000word'],
      ['commento-env', 'COMMENTO_SMTP_HOST=a\u0000b'],
    ]
    for (const [input, value] of cases) {
      const values = inputs({ [input]: value })
      let error: unknown
      try {
        parseInputs((name) => values[name] ?? '', {})
      } catch (e) {
        error = e
      }
      expect({ input, error }).toMatchObject({ input, error: expect.any(InputError) })
      expect((error as InputError).input).toBe(input)
      expect((error as InputError).message).toContain(`nput '${input}'`)
    }
  })
})

/** Every command the stand-ins may see in a deploy; anything else means a value escaped its quoting. */
const ALLOWED_CALLS = [
  /^docker version --format \{\{\.Server\.Version\}\}$/,
  /^docker compose version --short$/,
  /^docker volume (inspect|create)( --format \{\{ \.Mountpoint \}\})? (commento_postgres_volume|certbot_etc_volume)$/,
  /^systemctl (is-active|is-enabled|daemon-reload|enable|start|reload|restart)( commento\.service)?$/,
  /^docker compose (pull --quiet --ignore-buildable|build --pull --quiet|ps --format json)$/,
  /^docker compose up --detach --wait( --build)? --remove-orphans$/,
  /^docker compose exec -T postgres pg_dumpall -U postgres$/,
]

function unexpectedCalls(from: number): string[] {
  return host
    .calls()
    .slice(from)
    .map((c) => c.command)
    .filter((command) => !ALLOWED_CALLS.some((re) => re.test(command)))
}

async function serverEnv(): Promise<Map<string, string>> {
  return readDotenv(await host.readFile('/opt/commento/current/.env'))
}

describe('free text arrives byte for byte, and nothing else runs', () => {
  // Both quoting branches of the .env writer (single quotes; double quotes when a ' is in the value).
  const VALUES: Record<string, string> = {
    COMMENTO_SMTP_PASSWORD: `it's "quoted" ${shell[0]} ${shell[1]}`,
    COMMENTO_SMTP_USERNAME: `'; touch ${MARK}; echo '`,
    COMMENTO_SMTP_HOST: `"; touch ${MARK}; echo "`,
    COMMENTO_SMTP_FROM_ADDRESS: '${POSTGRES_PASSWORD} $POSTGRES_PASSWORD $$ ${DOMAIN:-x}',
    COMMENTO_GITHUB_SECRET: "it's ${POSTGRES_PASSWORD} and $$",
    COMMENTO_GITHUB_KEY: 'back\\slash \\\\ double \\n not a newline \\" \\\'',
    COMMENTO_GITLAB_SECRET: '# not a comment',
    COMMENTO_GITLAB_KEY: '  leading and trailing spaces  ',
    COMMENTO_GITLAB_URL: 'services: {evil: {image: evil}} &a *a !!python/object:os.system',
    COMMENTO_GOOGLE_KEY: 'pässwörd ✓ 密码 🔑 \u202eRTL',
    COMMENTO_GOOGLE_SECRET: '=equals=in=the=value=',
    COMMENTO_TWITTER_KEY: 'a\ttab',
    COMMENTO_TWITTER_SECRET: `-oProxyCommand=touch ${MARK}`,
    COMMENTO_AKISMET_KEY: `${'$(x)`y`'.repeat(500)}'"`,
    COMMENTO_CDN_PREFIX: '%0A%00%27%22',
    COMMENTO_PERSPECTIVE_API_KEY: '\\$HOME \\${HOME} \\`id\\`',
  }
  const POSTGRES_PASSWORD = `p@ss 'w"o${shell[0]}\\rd%;|&<>*?[]{}~#!`

  it('commento-env values and postgres-password with quotes, $, backticks, backslashes, YAML and Unicode', async () => {
    const env = Object.entries(VALUES)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n')
    const from = host.calls().length
    const r = await run(inputs({ 'commento-env': env, 'postgres-password': POSTGRES_PASSWORD }))
    expectExit(r, 0)
    const read = await serverEnv()
    for (const [name, value] of Object.entries(VALUES))
      expect({ name, value: read.get(name) }).toEqual({ name, value })
    expect(read.get('POSTGRES_PASSWORD')).toBe(POSTGRES_PASSWORD)
    expect(read.get('COMMENTO_POSTGRES')).toBe(postgresUrl(POSTGRES_PASSWORD))
    expect(unexpectedCalls(from)).toEqual([])
    expect(host.unknownCalls()).toEqual([])
    expect(host.forbiddenCalls()).toEqual([])
    // No secret travels on a command line, where `ps` would show it.
    for (const call of host.calls().slice(from)) expect(call.argv.join(' ')).not.toContain(POSTGRES_PASSWORD)
  })

  it('a key passphrase with shell, quote and Unicode characters decrypts the key (plan connects)', async () => {
    const passphrase = `'"${shell[0]}\\ ✓ $HOME`
    const key = makeKeyPair('ed25519', passphrase)
    await host.exec(`cat >> /root/.ssh/authorized_keys`, { input: key.publicKey })
    const from = host.calls().length
    const r = await run(inputs({ mode: 'plan', 'private-key': key.privateKey, passphrase }))
    expectExit(r, 0)
    expect(r.shown).toContain('Connected to comments.test:22 as root')
    expect(unexpectedCalls(from)).toEqual([])
  })

  it('an SSH password with shell, quote and Unicode characters logs in (plan connects as the sudo user)', async () => {
    const password = `p'w"d ${shell[0]} \\ ✓ ;|&`
    const hash = (
      await host.runInside(['openssl', 'passwd', '-6', '-stdin'], { input: password })
    ).stdout.trim()
    // /etc/shadow is a bind mount in the namespace: rewrite it in place.
    const shadow = await host.readFile('/etc/shadow')
    const changed = shadow.replace(/^deployer:[^:]*:/m, `deployer:${hash}:`)
    expect(changed).not.toBe(shadow)
    await host.exec('cat > /etc/shadow', { input: changed })
    const from = host.calls().length
    const values = inputs({ mode: 'plan', username: 'deployer', password })
    delete values['private-key']
    const r = await run(values)
    expectExit(r, 0)
    expect(r.shown).toContain('Connected to comments.test:22 as deployer')
    expect(unexpectedCalls(from)).toEqual([])
  })
})
