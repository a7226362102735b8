// The certbot entrypoint's decisions, from the state of the certificate folder to the certbot command
// lines it runs. certbot itself is a stand-in here that records its arguments (the rehearsal with the
// real certbot and Pebble is certificate-bootstrap.test.ts); the certificates it reads are real ones
// made with openssl.
import { type ChildProcess, spawn } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { certbotEnv, type NativePaths, nativePaths } from './helpers/native-stack.js'
import { waitUntil } from './helpers/sandbox.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

const DOMAIN = 'comments.example.test'
const STAGING_SERVER = 'https://acme-staging-v02.api.letsencrypt.org/directory'
const PRODUCTION_SERVER = 'https://acme-v02.api.letsencrypt.org/directory'

// Records each call as one line of arguments separated by tabs; `certonly` fails (so the entrypoint
// backs off), everything else succeeds.
const STAND_IN = `#!/bin/sh
printf '%s\\t' "$@" >> "$CERTBOT_CALLS"
printf '\\n' >> "$CERTBOT_CALLS"
case " $* " in *" certonly "*) echo "stand-in certbot: challenge failed" >&2; exit 1 ;; esac
exit 0
`

interface Started {
  readonly child: ChildProcess
  output: string
  exit?: number | null
}

describe('certbot entrypoint decisions', () => {
  let base: string
  let bin: string
  const running: Started[] = []

  beforeAll(() => {
    requireTool('python3', 'python3')
    requireTool('openssl', 'openssl')
    base = mkdtempSync(join(tmpdir(), 'cd-certbot-'))
    bin = join(base, 'bin')
    mkdirSync(bin)
    writeFileSync(join(bin, 'certbot'), STAND_IN)
    chmodSync(join(bin, 'certbot'), 0o755)
  })
  afterEach(() => {
    // The entrypoint and its children (sleep, certbot) form one process group: end all of them.
    for (const started of running.splice(0)) {
      try {
        process.kill(-(started.child.pid as number), 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
  afterAll(() => rmSync(base, { recursive: true, force: true }))

  let counter = 0
  const fresh = (): NativePaths & { calls: string } => {
    const paths = nativePaths(join(base, `case-${++counter}`))
    mkdirSync(paths.root, { recursive: true })
    return { ...paths, calls: join(paths.root, 'calls') }
  }

  const start = (paths: NativePaths & { calls: string }, extra: NodeJS.ProcessEnv = {}): Started => {
    const env = {
      ...certbotEnv(paths, stackDir, DOMAIN, extra),
      PATH: `${bin}:${process.env.PATH}`,
      CERTBOT_CALLS: paths.calls,
    }
    const child = spawn(join(stackDir, 'certbot', 'entrypoint.sh'), [], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    const started: Started = { child, output: '' }
    child.stdout?.on('data', (c: Buffer) => {
      started.output += c.toString()
    })
    child.stderr?.on('data', (c: Buffer) => {
      started.output += c.toString()
    })
    child.on('exit', (code) => {
      started.exit = code
    })
    running.push(started)
    return started
  }
  const waitFor = (started: Started, pattern: RegExp) =>
    waitUntil(
      `the entrypoint to print ${pattern}`,
      async () => {
        if (pattern.test(started.output)) return true
        if (started.exit !== undefined)
          throw new Error(`the entrypoint exited (${started.exit}):\n${started.output}`)
        return undefined
      },
      15_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${started.output}`)
    })
  const calls = (paths: { calls: string }): string[][] =>
    existsSync(paths.calls)
      ? readFileSync(paths.calls, 'utf8')
          .trim()
          .split('\n')
          .map((line) => line.split('\t').filter(Boolean))
      : []
  const stop = async (started: Started): Promise<number | null | undefined> => {
    started.child.kill('SIGTERM')
    await waitUntil(
      'the entrypoint to exit',
      async () => (started.exit !== undefined ? true : undefined),
      10_000,
    )
    return started.exit
  }

  /** A lineage as certbot leaves it: live/ with a CA-issued certificate, and renewal/<domain>.conf. */
  const lineage = async (
    paths: NativePaths,
    server: string,
    subject = `/CN=${DOMAIN}`,
    selfSigned = false,
  ) => {
    const live = join(paths.letsencrypt, 'live', DOMAIN)
    mkdirSync(live, { recursive: true })
    mkdirSync(join(paths.letsencrypt, 'renewal'), { recursive: true })
    const ca = join(paths.root, 'ca')
    mkdirSync(ca, { recursive: true })
    const ok = async (args: string[]) => expect((await run('openssl', args)).code).toBe(0)
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    if (selfSigned) {
      await ok([
        'req',
        '-x509',
        ...ec,
        '-days',
        '1',
        '-subj',
        subject,
        '-keyout',
        join(live, 'privkey.pem'),
        '-out',
        join(live, 'fullchain.pem'),
      ])
    } else {
      await ok([
        'req',
        '-x509',
        ...ec,
        '-days',
        '1',
        '-subj',
        '/CN=Test Intermediate',
        '-keyout',
        join(ca, 'key.pem'),
        '-out',
        join(ca, 'cert.pem'),
      ])
      await ok([
        'req',
        '-new',
        ...ec,
        '-subj',
        subject,
        '-keyout',
        join(live, 'privkey.pem'),
        '-out',
        join(ca, 'csr.pem'),
      ])
      await ok([
        'x509',
        '-req',
        '-in',
        join(ca, 'csr.pem'),
        '-CA',
        join(ca, 'cert.pem'),
        '-CAkey',
        join(ca, 'key.pem'),
        '-CAcreateserial',
        '-days',
        '1',
        '-out',
        join(live, 'fullchain.pem'),
      ])
    }
    if (server !== '')
      writeFileSync(
        join(paths.letsencrypt, 'renewal', `${DOMAIN}.conf`),
        `version = 2.1.0\n[renewalparams]\nserver = ${server}\n`,
      )
  }

  it('first issuance: the command line it runs, with --test-cert when staging, and never --force-renewal', async () => {
    const paths = fresh()
    const entry = start(paths, { STAGING: 'true' })
    await waitFor(entry, /issuance failed \(attempt 1/)
    const [certonly] = calls(paths)
    expect(certonly).toEqual([
      '--non-interactive',
      '--config-dir',
      paths.letsencrypt,
      '--work-dir',
      paths.certbotWork,
      '--logs-dir',
      paths.certbotLogs,
      'certonly',
      '--webroot',
      '--webroot-path',
      paths.webroot,
      '--cert-name',
      DOMAIN,
      '--domain',
      DOMAIN,
      '--agree-tos',
      '--keep-until-expiring',
      '--deploy-hook',
      join(stackDir, 'certbot', 'deploy-hook.sh'),
      '--email',
      `admin@${DOMAIN}`,
      '--no-eff-email',
      '--test-cert',
    ])
    expect(entry.output).toContain("asking Let's Encrypt's staging environment for one")
    expect(await stop(entry)).toBe(0)
    expect(entry.output).toContain('commento-certbot: stopped')
  })

  it('production, no e-mail, or another ACME server: no --test-cert; --server given as is', async () => {
    const production = fresh()
    const a = start(production, { EMAIL: '' })
    await waitFor(a, /issuance failed/)
    const [args] = calls(production)
    expect(args).toEqual(expect.arrayContaining(['--register-unsafely-without-email']))
    expect(args).not.toEqual(expect.arrayContaining(['--test-cert']))
    expect(args).not.toEqual(expect.arrayContaining(['--email']))
    expect(a.output).toContain("asking Let's Encrypt for one")
    const other = fresh()
    const b = start(other, { STAGING: 'true', ACME_SERVER: 'https://acme.example.test/dir' })
    await waitFor(b, /issuance failed/)
    const [withServer] = calls(other)
    expect(withServer?.slice(-2)).toEqual(['--server', 'https://acme.example.test/dir'])
    expect(withServer).not.toEqual(expect.arrayContaining(['--test-cert']))
    for (const call of [...calls(production), ...calls(other)]) expect(call).not.toContain('--force-renewal')
  })

  it('backs off after failed issuances, doubling up to the maximum, and stops promptly when asked', async () => {
    const paths = fresh()
    const entry = start(paths, { ISSUE_RETRY_MIN: '1', ISSUE_RETRY_MAX: '2' })
    await waitFor(entry, /attempt 3, see certbot's message above\); trying again in 2 s/)
    expect(entry.output).toMatch(
      /attempt 1, [^\n]*trying again in 1 s[\s\S]*attempt 2, [^\n]*trying again in 2 s/,
    )
    expect(calls(paths).filter((c) => c.includes('certonly'))).toHaveLength(3)
    const stopping = Date.now()
    expect(await stop(entry)).toBe(0)
    expect(Date.now() - stopping).toBeLessThan(3000)
  })

  it('a valid lineage is renewed when due, never re-issued; a production one is kept even when staging', async () => {
    const paths = fresh()
    await lineage(paths, PRODUCTION_SERVER)
    const entry = start(paths, { STAGING: 'true' })
    await waitFor(entry, /next check in 43200 s/)
    expect(entry.output).toContain(`a certificate for ${DOMAIN} is in place (valid lineage); no issuance`)
    expect(calls(paths)).toEqual([
      [
        '--non-interactive',
        '--config-dir',
        paths.letsencrypt,
        '--work-dir',
        paths.certbotWork,
        '--logs-dir',
        paths.certbotLogs,
        'renew',
        '--cert-name',
        DOMAIN,
        '--deploy-hook',
        join(stackDir, 'certbot', 'deploy-hook.sh'),
      ],
    ])
  })

  it('a staging lineage is kept while staging, and replaced by a trusted one when staging is turned off', async () => {
    const staging = fresh()
    await lineage(staging, STAGING_SERVER)
    const kept = start(staging, { STAGING: 'true' })
    await waitFor(kept, /next check in/)
    expect(kept.output).toContain('(staging lineage); no issuance')
    expect(calls(staging).map((c) => c[7])).toEqual(['renew'])

    const replaced = fresh()
    await lineage(replaced, STAGING_SERVER)
    const entry = start(replaced, { STAGING: 'false' })
    await waitFor(entry, /issuance failed/)
    expect(entry.output).toContain(
      "comes from Let's Encrypt's staging environment and STAGING is false: replacing it",
    )
    expect(calls(replaced).map((c) => c.slice(7, 10))).toEqual([
      ['delete', '--cert-name', DOMAIN],
      ['certonly', '--webroot', '--webroot-path'],
    ])
  })

  it("moves aside what certbot did not issue (the article's dummy, the placeholder), then issues", async () => {
    for (const [what, server, subject, selfSigned] of [
      ['dummy', '', '/CN=localhost', true],
      ['placeholder', PRODUCTION_SERVER, `/O=${PLACEHOLDER_ISSUER}/CN=${DOMAIN}`, true],
      ['no renewal configuration', '', `/CN=${DOMAIN}`, false],
    ] as const) {
      const paths = fresh()
      await lineage(paths, server, subject, selfSigned)
      const entry = start(paths)
      await waitFor(entry, /issuance failed/)
      expect({ what, output: entry.output }).toEqual({
        what,
        output: expect.stringContaining('that certbot did not issue'),
      })
      expect(existsSync(join(paths.letsencrypt, 'live', DOMAIN))).toBe(false)
      const aside = join(paths.letsencrypt, 'commento-deploy-aside')
      const [stamp] = readdirSync(aside)
      expect(readdirSync(join(aside, stamp as string, 'live', DOMAIN)).sort()).toEqual([
        'fullchain.pem',
        'privkey.pem',
      ])
      expect(calls(paths).map((c) => c[7])).toEqual(['certonly'])
      await stop(entry)
    }
  })

  it('refuses bad settings with a message that names them', async () => {
    const paths = fresh()
    for (const [env, message] of [
      [{ STAGING: 'yes' }, "STAGING is 'yes'; expected true or false."],
      [{ DOMAIN: '' }, 'DOMAIN is empty'],
      [{ RENEW_INTERVAL: '12h' }, "RENEW_INTERVAL is '12h'; expected a whole number of seconds above 0."],
      [{ DEPLOY_HOOK: join(paths.root, 'missing') }, 'is missing or not executable (DEPLOY_HOOK)'],
    ] as const) {
      const result = await run(join(stackDir, 'certbot', 'entrypoint.sh'), [], {
        env: {
          ...certbotEnv(paths, stackDir, DOMAIN, env),
          PATH: `${bin}:${process.env.PATH}`,
          CERTBOT_CALLS: paths.calls,
        },
      })
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 2,
        stderr: expect.stringContaining(message),
      })
    }
    expect(calls(paths)).toEqual([])
  })
})
