// The certificate bootstrap, rehearsed with the real programs: the stack's own nginx and certbot
// entrypoints (from a packed and unpacked release) run natively, with real nginx and real certbot,
// against Pebble (Let's Encrypt's test server), all in a sandbox with its own network and /etc/hosts.
// Every check is a TLS handshake verified against Pebble's root.
import { X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { packRelease } from '../../src/release/pack-release.js'
import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { readStack } from '../../src/release/read-stack.js'
import { renderRelease } from '../../src/release/render-release.js'
import {
  certbotEnv,
  type NativePaths,
  nativePaths,
  nginxEnv,
  writeNginxMainConf,
} from './helpers/native-stack.js'
import { Sandbox, type SandboxProcess, waitUntil } from './helpers/sandbox.js'
import { settingsFor } from './helpers/settings.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

const FIRST = 'first.example.test'
const RETRY = 'retry.example.test'

// Answers every request, upgrades included, with the request line and headers it received, as JSON.
const ECHO_APP = `
const http = require('node:http')
const describe = (req) => JSON.stringify({ url: req.url, headers: req.headers })
const server = http.createServer((req, res) => res.end(describe(req)))
server.on('upgrade', (req, socket) => {
  const body = describe(req)
  socket.end('HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: ' + Buffer.byteLength(body) + '\\r\\nConnection: close\\r\\n\\r\\n' + body)
})
server.listen(8080, '127.0.0.1', () => console.log('listening'))
`

interface Served {
  readonly verified: boolean
  readonly verifyResult: string
  readonly certificate: X509Certificate
}

describe('certificate bootstrap with certbot, nginx and Pebble', () => {
  let base: string
  let release: string
  let sandbox: Sandbox | undefined
  let pebble: SandboxProcess | undefined
  const started: SandboxProcess[] = []
  let acmeCa: string
  let pebbleRoot: string

  beforeAll(async () => {
    for (const [tool, pkg] of [
      ['nginx', 'nginx-light'],
      ['certbot', 'certbot'],
      ['pebble', 'pebble'],
      ['openssl', 'openssl'],
      ['curl', 'curl'],
      ['unshare', 'util-linux'],
      ['nsenter', 'util-linux'],
      ['ip', 'iproute2'],
      ['tar', 'tar'],
      ['python3', 'python3'],
    ]) {
      requireTool(tool as string, pkg as string)
    }
    base = mkdtempSync(join(tmpdir(), 'cd-bootstrap-'))

    // The stack as it lands on the server: rendered, packed, unpacked by GNU tar.
    release = join(base, 'release')
    mkdirSync(release)
    writeFileSync(
      join(base, 'release.tar'),
      await packRelease(renderRelease(settingsFor({ domain: FIRST }), readStack(stackDir))),
    )
    const unpacked = await run('tar', ['-xf', join(base, 'release.tar'), '-C', release])
    expect(unpacked.code).toBe(0)

    // Pebble's own HTTPS certificate (Debian ships none), trusted by certbot through REQUESTS_CA_BUNDLE.
    acmeCa = join(base, 'pebble-api.pem')
    const key = join(base, 'pebble-api.key')
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      acmeCa,
    ])
    expect(made.code).toBe(0)
    const config = join(base, 'pebble.json')
    writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: '127.0.0.1:14000',
          managementListenAddress: '127.0.0.1:15000',
          certificate: acmeCa,
          privateKey: key,
          // The port Pebble validates HTTP-01 challenges on: nginx's.
          httpPort: 80,
          tlsPort: 5001,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    )

    sandbox = await Sandbox.start(base, `127.0.0.1 localhost ${FIRST} ${RETRY}\n::1 localhost\n`)
    pebble = sandbox.spawn('pebble', 'pebble', ['-config', config], {
      PATH: process.env.PATH,
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    })
    await pebble.waitFor(/Listening on: 127\.0\.0\.1:14000/)
    pebbleRoot = join(base, 'pebble-root.pem')
    const root = await sandbox.exec('curl', [
      '--silent',
      '--fail',
      '--cacert',
      acmeCa,
      '--output',
      pebbleRoot,
      'https://localhost:15000/roots/0',
    ])
    expect(root.code).toBe(0)
  }, 60_000)

  afterAll(async () => {
    await sandbox?.stop()
    if (base) rmSync(base, { recursive: true, force: true })
  })

  const startNginx = (paths: NativePaths, domain: string): SandboxProcess => {
    writeNginxMainConf(paths)
    const nginx = (sandbox as Sandbox).spawn(
      `nginx entrypoint (${domain})`,
      join(release, 'nginx', 'entrypoint.sh'),
      [],
      nginxEnv(paths, release, domain),
    )
    started.push(nginx)
    return nginx
  }
  const startCertbot = (paths: NativePaths, domain: string): SandboxProcess => {
    const certbot = (sandbox as Sandbox).spawn(
      `certbot entrypoint (${domain})`,
      join(release, 'certbot', 'entrypoint.sh'),
      [],
      certbotEnv(paths, release, domain, {
        ACME_SERVER: 'https://localhost:14000/dir',
        REQUESTS_CA_BUNDLE: acmeCa,
        // Long enough that no second attempt happens while a test watches.
        ISSUE_RETRY_MIN: '3600',
        RENEW_INTERVAL: '3600',
      }),
    )
    started.push(certbot)
    return certbot
  }

  /** The certificate nginx serves for `domain`, and whether it verifies against Pebble's root. */
  const served = async (domain: string): Promise<Served> => {
    const result = await (sandbox as Sandbox).exec('openssl', [
      's_client',
      '-connect',
      '127.0.0.1:443',
      '-servername',
      domain,
      '-CAfile',
      pebbleRoot,
      '-verify_hostname',
      domain,
    ])
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout)?.[0]
    if (!pem) throw new Error(`no TLS handshake with nginx for ${domain}: ${result.stderr.slice(-500)}`)
    const verifyResult = /Verify return code: (\d+ \([^)]*\))/.exec(result.stdout)?.[1] ?? 'none'
    return { verified: verifyResult.startsWith('0 '), verifyResult, certificate: new X509Certificate(pem) }
  }
  const servedOnceUp = (domain: string) =>
    waitUntil(`nginx to answer TLS for ${domain}`, () => served(domain).catch(() => undefined), 20_000)
  // `nginx -s reload` only signals the master: until its new workers are up, the old ones still accept
  // connections with the old certificate (seen on a busy machine). So wait for the switch, then look.
  const servedOnceReloaded = (domain: string) =>
    waitUntil(
      `nginx to serve a certificate other than the placeholder for ${domain}`,
      async () => {
        const now = await served(domain).catch(() => undefined)
        return now && !now.certificate.issuer.includes(`O=${PLACEHOLDER_ISSUER}`) ? now : undefined
      },
      10_000,
    )

  const issuedCount = (paths: NativePaths, domain: string): number => {
    const archive = join(paths.letsencrypt, 'archive', domain)
    return existsSync(archive) ? readdirSync(archive).filter((f) => f.startsWith('cert')).length : 0
  }

  afterEach(async () => {
    while (started.length > 0) await started.pop()?.stop('TERM')
  })

  // The first start's folders and certificate, which the second start reuses.
  let firstPaths: NativePaths | undefined
  let firstSerial = ''

  it('first start: nginx serves the placeholder, certbot obtains a certificate, nginx reloads and serves it', async () => {
    const paths = nativePaths(join(base, 'first'))
    firstPaths = paths
    const nginx = startNginx(paths, FIRST)
    await nginx.waitFor(/nginx serves first\.example\.test with the placeholder certificate/)
    const before = await servedOnceUp(FIRST)
    expect(before.certificate.issuer).toContain(`O=${PLACEHOLDER_ISSUER}`)
    expect(before.verified).toBe(false)

    const certbot = startCertbot(paths, FIRST)
    await certbot.waitFor(/obtained a certificate for first\.example\.test/, 45_000)
    expect(certbot.output).toContain('asked nginx to reload the certificate for first.example.test')
    await nginx.waitFor(/nginx reloaded with the certificate in \S+\/live\/first\.example\.test/)

    const after = await servedOnceReloaded(FIRST)
    expect(after.verifyResult).toBe('0 (ok)')
    expect(after.certificate.issuer).toMatch(/Pebble Intermediate/)
    expect(after.certificate.subjectAltName).toBe(`DNS:${FIRST}`)
    expect(issuedCount(paths, FIRST)).toBe(1)
    firstSerial = after.certificate.serialNumber
    await certbot.waitFor(/next check in 3600 s/)
    // A certificate certbot did not change asks for no reload.
    expect(nginx.output.match(/certbot asks for a reload/g)).toHaveLength(1)
  }, 60_000)

  it('second start: the certificate is read from disk, nothing new is issued, nothing reloads', async () => {
    if (!firstPaths || firstSerial === '') throw new Error('the first start did not complete')
    const paths = firstPaths
    const nginx = startNginx(paths, FIRST)
    await nginx.waitFor(
      /nginx serves first\.example\.test with the certificate in \S+\/live\/first\.example\.test/,
    )
    const atStart = await servedOnceUp(FIRST)
    expect(atStart.verifyResult).toBe('0 (ok)')
    expect(atStart.certificate.serialNumber).toBe(firstSerial)

    const certbot = startCertbot(paths, FIRST)
    await certbot.waitFor(/a certificate for first\.example\.test is in place \(valid lineage\); no issuance/)
    await certbot.waitFor(/next check in 3600 s/, 45_000)
    expect(certbot.output).toMatch(/not yet due for renewal|No renewals were attempted/)
    expect(certbot.output).not.toMatch(/asking .* for one|asked nginx to reload/)
    expect(nginx.output).not.toContain('certbot asks for a reload')
    expect(issuedCount(paths, FIRST)).toBe(1)
    expect((await served(FIRST)).certificate.serialNumber).toBe(firstSerial)
  }, 60_000)

  it('the site as nginx serves it: HTTP/2, forwarding and WebSocket headers, redirect, challenge, healthcheck', async () => {
    if (!firstPaths) throw new Error('the first start did not complete')
    const box = sandbox as Sandbox
    // A stand-in app that answers with the request headers nginx passed on.
    const app = box.spawn('echo app', process.execPath, ['-e', ECHO_APP], { PATH: process.env.PATH })
    started.push(app)
    await app.waitFor(/listening/)
    writeNginxMainConf(firstPaths)
    const nginx = box.spawn(
      'nginx entrypoint (site)',
      join(release, 'nginx', 'entrypoint.sh'),
      [],
      nginxEnv(firstPaths, release, FIRST, { UPSTREAM: '127.0.0.1:8080' }),
    )
    started.push(nginx)
    await nginx.waitFor(/nginx serves first\.example\.test with the certificate in/)
    await servedOnceUp(FIRST)

    const curl = async (...args: string[]) => {
      const result = await box.exec('curl', ['--silent', '--show-error', '--cacert', pebbleRoot, ...args])
      expect(result.stderr).toBe('')
      return result.stdout
    }
    // Browsers open a WebSocket over HTTP/1.1 (nginx offers no WebSocket over HTTP/2).
    const websocket = JSON.parse(
      await curl(
        '--http1.1',
        '--header',
        'Upgrade: websocket',
        '--header',
        'Connection: Upgrade',
        `https://${FIRST}/ws?x=1`,
      ),
    )
    expect(websocket).toMatchObject({
      url: '/ws?x=1',
      headers: {
        host: FIRST,
        'x-forwarded-proto': 'https',
        'x-forwarded-for': '127.0.0.1',
        upgrade: 'websocket',
        connection: 'upgrade',
      },
    })
    // Everything else goes over HTTP/2, and reaches the app without an upgrade.
    const [body, version] = (
      await curl('--http2', '--write-out', '\n%{http_version}', `https://${FIRST}/api/comment/count`)
    ).split('\n')
    expect(version).toBe('2')
    expect(JSON.parse(body as string).headers).toMatchObject({
      host: FIRST,
      'x-forwarded-proto': 'https',
      connection: 'close',
    })
    expect(JSON.parse(body as string).headers.upgrade).toBeUndefined()

    expect(
      await curl(
        '--output',
        '/dev/null',
        '--write-out',
        '%{http_code} %{redirect_url}',
        `http://${FIRST}/a/b?c=d`,
      ),
    ).toBe(`301 https://${FIRST}/a/b?c=d`)
    mkdirSync(join(firstPaths.webroot, '.well-known', 'acme-challenge'), { recursive: true })
    writeFileSync(join(firstPaths.webroot, '.well-known', 'acme-challenge', 'token-1'), 'key-authorisation')
    expect(await curl(`http://${FIRST}/.well-known/acme-challenge/token-1`)).toBe('key-authorisation')

    // The nginx healthcheck of compose.yaml, as Docker runs it (without the CMD marker).
    const compose = parse(readFileSync(join(release, 'compose.yaml'), 'utf8'))
    const [marker, command, ...args] = compose.services.nginx.healthcheck.test as string[]
    expect(marker).toBe('CMD')
    expect((await box.exec(command as string, args)).code).toBe(0)
  }, 60_000)

  it('a first issuance that fails (challenge unreachable) leaves a state from which the next start obtains one', async () => {
    const paths = nativePaths(join(base, 'retry'))
    // No nginx: Pebble's validation of the challenge on port 80 is refused.
    const failing = startCertbot(paths, RETRY)
    await failing.waitFor(
      /issuance failed \(attempt 1, see certbot's message above\); trying again in 3600 s, or at the next start/,
      45_000,
    )
    expect(failing.output).toMatch(/Connection refused|connection/i)
    expect(existsSync(join(paths.letsencrypt, 'live', RETRY))).toBe(false)
    expect(existsSync(join(paths.letsencrypt, 'renewal', `${RETRY}.conf`))).toBe(false)
    expect(await failing.stop('TERM')).toBe(0)
    expect(failing.output).toContain('commento-certbot: stopped')
    started.splice(started.indexOf(failing), 1)

    const nginx = startNginx(paths, RETRY)
    await nginx.waitFor(/nginx serves retry\.example\.test with the placeholder certificate/)
    const certbot = startCertbot(paths, RETRY)
    await certbot.waitFor(
      /no certificate for retry\.example\.test yet: asking the ACME server https:\/\/localhost:14000\/dir for one/,
    )
    await certbot.waitFor(/obtained a certificate for retry\.example\.test/, 45_000)
    await nginx.waitFor(/nginx reloaded with the certificate in \S+\/live\/retry\.example\.test/)
    const now = await servedOnceReloaded(RETRY)
    expect(now.verifyResult).toBe('0 (ok)')
    expect(now.certificate.subjectAltName).toBe(`DNS:${RETRY}`)
    expect(issuedCount(paths, RETRY)).toBe(1)
  }, 60_000)
})
