// The nginx image's entrypoint renders the site and picks the certificate; real nginx (Debian 12's
// 1.22) checks the result with `nginx -t`, against certificates made here with openssl.
import { X509Certificate } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { postgresEnvLines } from '../../src/release/postgres.js'
import { readStack } from '../../src/release/read-stack.js'
import { ENV_FILE, renderRelease } from '../../src/release/render-release.js'
import { interpolateDocument } from './helpers/compose.js'
import { readDotenv } from './helpers/dotenv-reader.js'
import { type NativePaths, nativePaths, nginxEnv, writeNginxMainConf } from './helpers/native-stack.js'
import { settingsFor } from './helpers/settings.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

const DOMAIN = 'comments.example.test'
const entrypoint = join(stackDir, 'nginx', 'entrypoint.sh')

/** The top-level `server { ... }` blocks of an nginx configuration. */
function serverBlocks(conf: string): string[] {
  const blocks: string[] = []
  const code = conf
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('\n')
  let at = code.indexOf('server {')
  while (at >= 0) {
    let depth = 0
    let end = at
    for (let i = code.indexOf('{', at); i < code.length; i++) {
      if (code[i] === '{') depth++
      if (code[i] === '}' && --depth === 0) {
        end = i
        break
      }
    }
    blocks.push(code.slice(at, end + 1))
    at = code.indexOf('server {', end)
  }
  return blocks
}

/** A certificate and key for `domain` from a CA made here, as certbot's live/ folder holds them. */
async function installTestCertificate(paths: NativePaths, domain: string): Promise<void> {
  const live = join(paths.letsencrypt, 'live', domain)
  mkdirSync(live, { recursive: true })
  const ca = join(paths.root, 'ca')
  mkdirSync(ca, { recursive: true })
  const openssl = (args: string[]) => run('openssl', args).then((r) => expect(r.code).toBe(0))
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '30',
    '-subj',
    '/CN=Test CA',
    '-keyout',
    join(ca, 'key.pem'),
    '-out',
    join(ca, 'cert.pem'),
  ])
  await openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${domain}`,
    '-keyout',
    join(live, 'privkey.pem'),
    '-out',
    join(ca, 'leaf.csr'),
  ])
  writeFileSync(join(ca, 'ext'), `subjectAltName=DNS:${domain}\n`)
  await openssl([
    'x509',
    '-req',
    '-in',
    join(ca, 'leaf.csr'),
    '-CA',
    join(ca, 'cert.pem'),
    '-CAkey',
    join(ca, 'key.pem'),
    '-CAcreateserial',
    '-days',
    '30',
    '-extfile',
    join(ca, 'ext'),
    '-out',
    join(live, 'cert.pem'),
  ])
  writeFileSync(
    join(live, 'fullchain.pem'),
    Buffer.concat([readFileSync(join(live, 'cert.pem')), readFileSync(join(ca, 'cert.pem'))]),
  )
}

describe('nginx entrypoint + nginx -t', () => {
  let base: string
  beforeAll(() => {
    requireTool('nginx', 'nginx-light')
    requireTool('openssl', 'openssl')
    base = mkdtempSync(join(tmpdir(), 'cd-nginx-'))
  })
  afterAll(() => rmSync(base, { recursive: true, force: true }))

  const fresh = (name: string): NativePaths => {
    const paths = nativePaths(join(base, name))
    mkdirSync(paths.root, { recursive: true })
    writeNginxMainConf(paths)
    return paths
  }
  const check = (paths: NativePaths, extra: NodeJS.ProcessEnv = {}) =>
    run(entrypoint, ['check'], { env: nginxEnv(paths, stackDir, DOMAIN, extra) })

  it("renders a site nginx accepts with Let's Encrypt's certificate, and points the links at it", async () => {
    const paths = fresh('live')
    await installTestCertificate(paths, DOMAIN)
    const result = await check(paths)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain(
      `the configuration for ${DOMAIN} is valid, with the certificate in ${paths.letsencrypt}/live/${DOMAIN}`,
    )
    expect(result.code).toBe(0)
    expect(readlinkSync(join(paths.tlsDir, 'fullchain.pem'))).toBe(
      join(paths.letsencrypt, 'live', DOMAIN, 'fullchain.pem'),
    )
    expect(readlinkSync(join(paths.tlsDir, 'privkey.pem'))).toBe(
      join(paths.letsencrypt, 'live', DOMAIN, 'privkey.pem'),
    )
    expect(existsSync(join(paths.tlsDir, 'placeholder'))).toBe(false)
    const direct = await run('nginx', ['-t', '-c', paths.nginxConf])
    expect(direct.stderr).toContain('test is successful')
    expect(direct.code).toBe(0)
  })

  it('without a certificate, makes the placeholder: EC P-256, CN and SAN the domain, short, recognisable', async () => {
    const paths = fresh('placeholder')
    const result = await check(paths)
    expect(result.stdout).toContain('made a placeholder certificate')
    expect(result.stdout).toContain('is valid, with the placeholder certificate')
    expect(result.code).toBe(0)
    const cert = new X509Certificate(readFileSync(join(paths.tlsDir, 'fullchain.pem')))
    expect(cert.subject.split('\n').sort()).toEqual([`CN=${DOMAIN}`, `O=${PLACEHOLDER_ISSUER}`])
    expect(cert.issuer).toBe(cert.subject)
    expect(cert.subjectAltName).toBe(`DNS:${DOMAIN}`)
    expect(cert.publicKey.asymmetricKeyType).toBe('ec')
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(cert.ca).toBe(false)
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(13)
    expect(days).toBeLessThanOrEqual(14)
    expect(statSync(join(paths.tlsDir, 'placeholder', 'privkey.pem')).mode & 0o777).toBe(0o600)
    expect(lstatSync(join(paths.tlsDir, 'fullchain.pem')).isSymbolicLink()).toBe(true)
  })

  it('falls back to the placeholder when the certificate in live/ cannot be loaded', async () => {
    const paths = fresh('broken')
    await installTestCertificate(paths, DOMAIN)
    writeFileSync(join(paths.letsencrypt, 'live', DOMAIN, 'privkey.pem'), 'not a key\n')
    const result = await check(paths)
    expect(result.stderr).toContain('serving the placeholder instead')
    expect(result.stdout).toContain('is valid, with the placeholder certificate')
    expect(result.code).toBe(0)
  })

  it('the rendered site: HTTP/2, TLS 1.2+, forwarding and WebSocket headers, server_name everywhere, ACME on 80', async () => {
    const paths = fresh('text')
    expect((await check(paths)).code).toBe(0)
    const site = readFileSync(paths.siteConf, 'utf8')
    expect(site).not.toMatch(/\{\{/)
    const [http, https] = serverBlocks(site)
    expect(serverBlocks(site)).toHaveLength(2)
    for (const block of [http, https]) expect(block).toContain(`server_name ${DOMAIN};`)
    expect(http).toContain('listen 80;')
    expect(http).toMatch(new RegExp(`location /\\.well-known/acme-challenge/ \\{\\s+root ${paths.webroot};`))
    expect(http).toContain(`return 301 https://${DOMAIN}$request_uri;`)
    expect(https).toContain('listen 443 ssl http2;')
    expect(https).toContain(`ssl_certificate ${paths.tlsDir}/fullchain.pem;`)
    expect(https).toContain(`include ${join(stackDir, 'nginx', 'tls.conf')};`)
    for (const header of [
      'proxy_set_header X-Forwarded-Proto $scheme;',
      'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      'proxy_set_header Host $host;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $commento_connection_upgrade;',
      'proxy_http_version 1.1;',
      'set $commento_upstream http://127.0.0.1:9;',
    ]) {
      expect(https).toContain(header)
    }
    expect(site).not.toContain('Strict-Transport-Security')
    const tls = readFileSync(join(stackDir, 'nginx', 'tls.conf'), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')
    expect(tls).toContain('ssl_protocols TLSv1.2 TLSv1.3;')
    expect(tls).not.toMatch(/TLSv1(\.1)?[ ;]|SSLv|ssl_dhparam|[ :]DHE-/)
    const ciphers = /ssl_ciphers ([^;]+);/.exec(tls)?.[1]?.split(':') ?? []
    expect(ciphers.length).toBeGreaterThan(0)
    for (const cipher of ciphers)
      expect(cipher).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/)
  })

  it('sends HSTS when the input hsts-max-age asks, through .env and compose.yaml, and none by default', async () => {
    /** nginx's environment as Compose makes it from a release rendered with these settings. */
    const nginxEnvironment = (hstsMaxAgeSeconds: number): Record<string, string> => {
      const release = renderRelease(settingsFor({ domain: DOMAIN, hstsMaxAgeSeconds }), readStack(stackDir))
      const text = (path: string) =>
        (release.files.find((f) => f.path === path)?.content ?? Buffer.alloc(0)).toString('utf8')
      const env = readDotenv(text(ENV_FILE) + postgresEnvLines('0123abcd'))
      const compose = interpolateDocument(parse(text('compose.yaml')), env) as {
        services: { nginx: { environment: Record<string, string> } }
      }
      return compose.services.nginx.environment
    }
    const on = fresh('hsts-input')
    expect((await check(on, nginxEnvironment(63_072_000))).code).toBe(0)
    expect(readFileSync(on.siteConf, 'utf8')).toContain(
      'add_header Strict-Transport-Security "max-age=63072000" always;',
    )
    const off = fresh('hsts-default')
    expect((await check(off, nginxEnvironment(0))).code).toBe(0)
    expect(readFileSync(off.siteConf, 'utf8')).not.toContain('Strict-Transport-Security')
  })

  it('turns HSTS on only when asked, and refuses a bad DOMAIN naming it', async () => {
    const paths = fresh('hsts')
    const on = await check(paths, { HSTS_MAX_AGE: '31536000' })
    expect(on.code).toBe(0)
    expect(readFileSync(paths.siteConf, 'utf8')).toContain(
      'add_header Strict-Transport-Security "max-age=31536000" always;',
    )
    const bad = await check(paths, { DOMAIN: 'Not A Domain' })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("DOMAIN 'Not A Domain' is not a lower-case ASCII DNS name")
    const empty = await check(paths, { DOMAIN: '' })
    expect(empty.stderr).toContain('DOMAIN is empty')
  })
})
