import { InputError } from '../../src/inputs/input-error.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { type KeyPair, makeKeyPair, makePemKey } from '../helpers/ssh-keys.js'

let key: KeyPair
let encrypted: KeyPair
let pem: string

beforeAll(() => {
  key = makeKeyPair('ed25519')
  encrypted = makeKeyPair('ed25519', 'correct horse')
  pem = makePemKey()
})

function inputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    mode: 'deploy',
    host: 'vps.example.com',
    domain: 'comments.example.com',
    email: 'admin@example.com',
    'private-key': key.privateKey,
    ...overrides,
  }
}

function parse(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  return parseInputs((name) => values[name] ?? '', env)
}

function errorOf(values: Record<string, string>): InputError {
  try {
    parse(values)
  } catch (error) {
    if (error instanceof InputError) return error
    throw error
  }
  throw new Error('expected an InputError')
}

describe('good inputs', () => {
  it('turns a minimal deploy into frozen settings with the documented defaults', () => {
    const { settings, warnings } = parse(inputs(), {
      GITHUB_ACTOR: 'octocat',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '42',
    })
    expect(warnings).toEqual([])
    expect(Object.isFrozen(settings)).toBe(true)
    expect(Object.isFrozen(settings.ssh)).toBe(true)
    expect(settings).toMatchObject({
      mode: 'deploy',
      domain: 'comments.example.com',
      email: 'admin@example.com',
      remoteDir: '/opt/commento',
      commentoImage: 'registry.gitlab.com/commento/commento:v1.8.0',
      postgresImage: 'postgres:17-alpine',
      staging: false,
      hstsMaxAgeSeconds: 0,
      force: false,
      keepReleases: 5,
      backup: true,
      rollbackOnFailure: true,
      waitTimeoutSeconds: 180,
      certMinDays: 7,
      lockWaitSeconds: 300,
      reportIssue: false,
      run: { actor: 'octocat', runUrl: 'https://github.com/o/r/actions/runs/42' },
    })
    expect(settings.ssh).toMatchObject({
      host: 'vps.example.com',
      port: 22,
      username: 'root',
      insecureIgnoreHostKey: false,
    })
    expect(settings.githubToken).toBeUndefined()
  })

  it.each([
    ['vps.example.com', 'vps.example.com'],
    ['VPS.Example.COM', 'vps.example.com'],
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('accepts host %s', (host, expected) => {
    expect(parse(inputs({ host })).settings.ssh?.host).toBe(expected)
  })

  it.each([
    ['comments.example.com', 'comments.example.com'],
    ['comments.example.com.', 'comments.example.com'],
    ['kommentare.bücher.de', 'kommentare.xn--bcher-kva.de'],
    ['коммент.рф', 'xn--e1ajgagc6a.xn--p1ai'],
  ])('accepts domain %s as %s', (domain, expected) => {
    expect(parse(inputs({ domain })).settings.domain).toBe(expected)
  })

  it.each([
    ['0', 0],
    ['31536000', 31_536_000],
    [' 63072000 ', 63_072_000],
  ])('reads hsts-max-age %j as %d seconds', (value, seconds) => {
    expect(parse(inputs({ 'hsts-max-age': value })).settings.hstsMaxAgeSeconds).toBe(seconds)
  })

  it.each([['TRUE'], ['True'], ['true']])('reads boolean %s as core.getBooleanInput does', (value) => {
    expect(parse(inputs({ staging: value })).settings.staging).toBe(true)
  })

  it('repairs a key with CRLF line endings and no trailing newline', () => {
    const mangled = key.privateKey.trimEnd().replace(/\n/g, '\r\n')
    expect(parse(inputs({ 'private-key': mangled })).settings.ssh?.privateKey).toBe(key.privateKey)
  })

  it('accepts a legacy PEM key and an encrypted key with its passphrase', () => {
    expect(parse(inputs({ 'private-key': pem })).settings.ssh?.privateKey).toBe(pem)
    const { settings } = parse(inputs({ 'private-key': encrypted.privateKey, passphrase: 'correct horse' }))
    expect(settings.ssh?.passphrase).toBe('correct horse')
  })

  it('accepts the forms of host-key that ssh-keyscan and ssh-keygen print', () => {
    const [type, base64] = key.publicKey.split(' ')
    const rsa = makeKeyPair('rsa')
    const [rsaType, rsaBase64] = rsa.publicKey.split(' ')
    const forms = [
      `vps.example.com ${type} ${base64}`,
      `[vps.example.com]:2222 ${type} ${base64}`,
      `|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ${type} ${base64}`,
      `${type} ${base64}`,
      key.fingerprint,
      `256 ${key.fingerprint} root@vps (ED25519)`,
      `# vps.example.com:22 SSH-2.0-OpenSSH_9.2\nvps.example.com ${type} ${base64}\n\nvps.example.com ${rsaType} ${rsaBase64}`,
    ]
    for (const hostKey of forms) {
      const pin = parse(inputs({ 'host-key': hostKey })).settings.ssh?.hostKey
      expect(pin?.fingerprints).toContain(key.fingerprint)
    }
    const two = parse(inputs({ 'host-key': forms[6] as string })).settings.ssh?.hostKey
    expect(two).toEqual({ fingerprints: [key.fingerprint, rsa.fingerprint], source: '2 key lines' })
  })

  it('reads commento-env, marks secrets by name, and warns about unknown settings', () => {
    const { settings, warnings, secrets } = parse(
      inputs({
        'commento-env':
          '# mail\nCOMMENTO_SMTP_HOST=smtp.example.com\n\nCOMMENTO_SMTP_PASSWORD=p@ss=word \nCOMMENTO_FORBID_NEW_OWNERS=true\nCOMMENTO_GITHUB_SECRET=ghsecret123\nCOMMENTO_FORBID_NEW_OWNER=true',
      }),
    )
    expect(settings.commentoEnv).toEqual([
      { name: 'COMMENTO_SMTP_HOST', value: 'smtp.example.com', secret: false },
      { name: 'COMMENTO_SMTP_PASSWORD', value: 'p@ss=word ', secret: true },
      { name: 'COMMENTO_FORBID_NEW_OWNERS', value: 'true', secret: false },
      { name: 'COMMENTO_GITHUB_SECRET', value: 'ghsecret123', secret: true },
      { name: 'COMMENTO_FORBID_NEW_OWNER', value: 'true', secret: false },
    ])
    expect(warnings).toEqual([
      'commento-env line 7: COMMENTO_FORBID_NEW_OWNER is not a setting Commento or Commento++ is known to read (a typo?).',
    ])
    expect(secrets).toContain('p@ss=word ')
    expect(secrets).toContain('ghsecret123')
    expect(secrets).not.toContain('true')
    expect(secrets).not.toContain('smtp.example.com')
  })

  it('masks every secret and every line of the key, but not short plain values', () => {
    const { secrets, warnings } = parse(
      inputs({
        password: 'hunter2hunter2',
        'postgres-password': 'a-long-db-password',
        'github-token': 'ghs_abcdef',
        passphrase: 'abc',
      }),
    )
    expect(secrets).toEqual(
      expect.arrayContaining(['hunter2hunter2', 'a-long-db-password', 'ghs_abcdef', key.privateKey]),
    )
    for (const line of key.privateKey.trim().split('\n')) expect(secrets).toContain(line)
    expect(secrets).not.toContain('abc')
    expect(warnings).toEqual([
      'A secret of 3 characters is too short to be masked in logs without hiding ordinary text.',
    ])
  })

  it('needs only a domain in check mode, and no SSH settings', () => {
    const { settings } = parse({ mode: 'check', domain: 'comments.example.com' })
    expect(settings.ssh).toBeUndefined()
    expect(settings.mode).toBe('check')
  })

  it('treats the unexpanded default ${{ github.token }} as no token', () => {
    expect(parse(inputs({ 'github-token': '${{ github.token }}' })).settings.githubToken).toBeUndefined()
  })
})

describe('bad inputs: each stops with a message that names the input and says what is expected', () => {
  const host = 'a DNS name, an IPv4 or an IPv6 address (the port and user have inputs of their own)'
  const domain = 'a DNS name such as comments.example.com'
  const dir =
    "an absolute path made of letters, digits, '.', '_', '-' and '/', such as /opt/commento (no '..', no spaces or shell characters)"
  const user =
    "a POSIX user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters"
  const hostKeyTail =
    'Expected known_hosts lines as `ssh-keyscan -p PORT HOST` prints them, a bare "TYPE BASE64" key, or a SHA256: fingerprint as `ssh-keygen -lf` prints it.'

  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'unknown mode',
      { mode: 'deploy-now' },
      `Input 'mode' is "deploy-now": expected one of deploy, check, plan, rollback.`,
    ],
    [
      'missing host',
      { host: '' },
      "Input 'host' is required for mode 'deploy': the server to deploy to: a DNS name, an IPv4 or an IPv6 address.",
    ],
    [
      'missing domain in check',
      { mode: 'check', domain: '' },
      "Input 'domain' is required for mode 'check': the DNS name the site is served under, e.g. comments.example.com (no scheme, no path).",
    ],
    [
      'missing email',
      { email: '' },
      "Input 'email' is required for mode 'deploy': the e-mail address given to Let's Encrypt for the account.",
    ],
    [
      'host with scheme',
      { host: 'ssh://vps.example.com' },
      `Input 'host' is "ssh://vps.example.com": expected ${host}, without a scheme such as https://.`,
    ],
    [
      'host with user',
      { host: 'root@vps.example.com' },
      `Input 'host' is "root@vps.example.com": expected ${host}, without a user name.`,
    ],
    [
      'host with port',
      { host: 'vps.example.com:2222' },
      `Input 'host' is "vps.example.com:2222": expected ${host}, without a port.`,
    ],
    [
      'host option-like',
      { host: '-oProxyCommand=sh' },
      `Input 'host' is "-oProxyCommand=sh": expected ${host}; it must not start with '-'.`,
    ],
    [
      'host with command substitution',
      { host: '$(reboot)' },
      `Input 'host' is "$(reboot)": expected ${host}; the label "$(reboot)" has characters other than letters, digits and inner hyphens.`,
    ],
    [
      'host with space',
      { host: 'vps example.com' },
      `Input 'host' is "vps example.com": expected ${host}, without spaces or control characters.`,
    ],
    [
      'host with newline',
      { host: 'vps\nexample.com' },
      `Input 'host' is "vps\\nexample.com": expected ${host}, without spaces or control characters.`,
    ],
    [
      'host label too long',
      { host: `${'a'.repeat(64)}.com` },
      `Input 'host' is "${'a'.repeat(64)}.com": expected ${host}; the label "aaaaaaaaaaaaaaaaaaaa…" is 64 characters (at most 63).`,
    ],
    ['port zero', { port: '0' }, 'Input \'port\' is "0": expected a whole number from 1 to 65535.'],
    [
      'port too big',
      { port: '65536' },
      'Input \'port\' is "65536": expected a whole number from 1 to 65535.',
    ],
    [
      'port not a number',
      { port: 'ssh' },
      'Input \'port\' is "ssh": expected a whole number from 1 to 65535.',
    ],
    ['port negative', { port: '-22' }, 'Input \'port\' is "-22": expected a whole number from 1 to 65535.'],
    ['username upper case', { username: 'Admin' }, `Input 'username' is "Admin": expected ${user}.`],
    [
      'username option-like',
      { username: '-oProxyCommand=x' },
      `Input 'username' is "-oProxyCommand=x": expected ${user}.`,
    ],
    ['username with shell', { username: 'deploy;id' }, `Input 'username' is "deploy;id": expected ${user}.`],
    [
      'remote-dir relative',
      { 'remote-dir': 'opt/commento' },
      `Input 'remote-dir' is "opt/commento": expected ${dir}.`,
    ],
    [
      'remote-dir traversal',
      { 'remote-dir': '/opt/commento/../../etc' },
      `Input 'remote-dir' is "/opt/commento/../../etc": expected ${dir}; '.' and '..' segments are not allowed.`,
    ],
    [
      'remote-dir shell',
      { 'remote-dir': '/opt/$(id)' },
      `Input 'remote-dir' is "/opt/$(id)": expected ${dir}.`,
    ],
    [
      'remote-dir space',
      { 'remote-dir': '/opt/my commento' },
      `Input 'remote-dir' is "/opt/my commento": expected ${dir}.`,
    ],
    [
      'remote-dir system',
      { 'remote-dir': '/etc/' },
      `Input 'remote-dir' is "/etc/": expected ${dir}; /etc is a system directory, use a folder of its own.`,
    ],
    ['boolean yes', { staging: 'yes' }, 'Input \'staging\' is "yes": expected true or false.'],
    ['boolean 1', { force: '1' }, 'Input \'force\' is "1": expected true or false.'],
    [
      'keep-releases zero',
      { 'keep-releases': '0' },
      'Input \'keep-releases\' is "0": expected a whole number from 1 to 100.',
    ],
    [
      'wait-timeout float',
      { 'wait-timeout': '1.5' },
      'Input \'wait-timeout\' is "1.5": expected a whole number of seconds from 0 to 3600.',
    ],
    [
      'hsts-max-age in milliseconds',
      { 'hsts-max-age': '31536000000' },
      'Input \'hsts-max-age\' is "31536000000": expected a whole number of seconds from 0 to 63072000.',
    ],
    [
      'hsts-max-age as a header value',
      { 'hsts-max-age': 'max-age=31536000; includeSubDomains' },
      'Input \'hsts-max-age\' is "max-age=31536000; includeSubDomains": expected a whole number of seconds from 0 to 63072000.',
    ],
    [
      'cert-min-days huge',
      { 'cert-min-days': '9999' },
      'Input \'cert-min-days\' is "9999": expected a whole number of days from 0 to 365.',
    ],
    [
      'domain with scheme',
      { domain: 'https://comments.example.com' },
      `Input 'domain' is "https://comments.example.com": expected ${domain}, without a scheme such as https://.`,
    ],
    [
      'domain with path',
      { domain: 'comments.example.com/blog' },
      `Input 'domain' is "comments.example.com/blog": expected ${domain}, without a path.`,
    ],
    [
      'domain with port',
      { domain: 'comments.example.com:8443' },
      `Input 'domain' is "comments.example.com:8443": expected ${domain}, without a port.`,
    ],
    [
      'domain wildcard',
      { domain: '*.example.com' },
      `Input 'domain' is "*.example.com": expected ${domain}, not a wildcard.`,
    ],
    [
      'domain single label',
      { domain: 'localhost' },
      `Input 'domain' is "localhost": expected a fully qualified DNS name such as comments.example.com (at least two labels).`,
    ],
    [
      'domain underscore',
      { domain: 'my_site.example.com' },
      `Input 'domain' is "my_site.example.com": expected ${domain}; the label "my_site" has characters other than letters, digits and inner hyphens.`,
    ],
    [
      'domain double dot',
      { domain: 'comments..example.com' },
      `Input 'domain' is "comments..example.com": expected ${domain}; it has an empty label (two dots in a row, or a dot at an end).`,
    ],
    [
      'domain hyphen end',
      { domain: 'comments-.example.com' },
      `Input 'domain' is "comments-.example.com": expected ${domain}; the label "comments-" has characters other than letters, digits and inner hyphens.`,
    ],
    [
      'domain confusable',
      { domain: 'pаypal.com' },
      `Input 'domain' is "pаypal.com": expected ${domain}; the label "pаypal" mixes Latin and Cyrillic letters, which look alike.`,
    ],
    [
      'domain numeric tld',
      { domain: '10.0.0.1' },
      `Input 'domain' is "10.0.0.1": expected ${domain}; its last label is all digits.`,
    ],
    [
      'domain too long',
      { domain: `${`${'a'.repeat(60)}.`.repeat(5)}com` },
      `Input 'domain' is "${`${'a'.repeat(60)}.`.repeat(5).slice(0, 80)}"… (308 characters): expected ${domain}; it is 308 characters long (at most 253).`,
    ],
    [
      'email without at',
      { email: 'admin.example.com' },
      'Input \'email\' is "admin.example.com": expected an e-mail address such as admin@example.com.',
    ],
    [
      'email bad local',
      { email: 'ad min@example.com' },
      "Input 'email' is \"ad min@example.com\": expected an e-mail address such as admin@example.com; the part before '@' has characters an address cannot have.",
    ],
    [
      'email bare domain',
      { email: 'admin@localhost' },
      "Input 'email' is \"admin@localhost\": expected an e-mail address such as admin@example.com; the domain after '@' needs at least two labels.",
    ],
    [
      'no credentials',
      { 'private-key': '' },
      "Input 'private-key' is empty, and so is 'password': mode 'deploy' with a host needs one of them to log in as root.",
    ],
    [
      'image untagged',
      { 'commento-image': 'registry.gitlab.com/commento/commento' },
      'Input \'commento-image\' is "registry.gitlab.com/commento/commento": expected an image reference pinned by a tag or digest, such as postgres:17-alpine (an untagged image changes under you).',
    ],
    [
      'image latest',
      { 'postgres-image': 'postgres:latest' },
      "Input 'postgres-image' is \"postgres:latest\": expected an image pinned to a version; 'latest' changes under you, name a version tag.",
    ],
    [
      'image injection',
      { 'postgres-image': 'postgres:17; rm -rf /' },
      'Input \'postgres-image\' is "postgres:17; rm -rf /": expected an image reference such as postgres:17-alpine or ghcr.io/owner/name:v1.2.3.',
    ],
    [
      'postgres-password short',
      { 'postgres-password': 'short' },
      "Input 'postgres-password' (hidden, 5 characters) is too short: expected at least 12 characters, or leave it empty to have one generated on the server.",
    ],
    [
      'postgres-password newline',
      { 'postgres-password': 'line-one-pass\nline-two' },
      "Input 'postgres-password' is (hidden, 22 characters): expected text without line breaks, NUL or other control characters.",
    ],
    [
      'password with NUL',
      { password: 'abc\u0000def' },
      "Input 'password' is (hidden, 7 characters): expected text without line breaks, NUL or other control characters.",
    ],
    [
      'report-issue without token',
      { 'report-issue': 'true' },
      "Input 'github-token' is empty, and 'report-issue' is true: give a token with issues: write.",
    ],
    [
      'env bad name',
      { 'commento-env': 'SMTP_HOST=x' },
      'Input \'commento-env\' line 1: has the name "SMTP_HOST"; expected COMMENTO_NAME=value with an upper-case name (a value cannot span lines, and # starts a comment line only at its beginning).',
    ],
    [
      'env no equals',
      { 'commento-env': 'COMMENTO_SMTP_HOST=a\n  continued' },
      'Input \'commento-env\' line 2: has no "="; expected COMMENTO_NAME=value with an upper-case name (a value cannot span lines, and # starts a comment line only at its beginning).',
    ],
    [
      'env control char',
      { 'commento-env': 'COMMENTO_SMTP_PASSWORD=a\u0007b' },
      "Input 'commento-env' line 1: the value of COMMENTO_SMTP_PASSWORD (hidden, 3 characters) holds a NUL, line break or other control character; expected printable text.",
    ],
    [
      'env carriage return',
      { 'commento-env': 'COMMENTO_STATIC=/a\rCOMMENTO_X=1' },
      "Input 'commento-env' line 1: the value of COMMENTO_STATIC holds a NUL, line break or other control character; expected printable text.",
    ],
    [
      'env managed origin',
      { 'commento-env': 'COMMENTO_ORIGIN=https://evil.example' },
      "Input 'commento-env' line 1: COMMENTO_ORIGIN cannot be set here: it is set from input 'domain'.",
    ],
    [
      'env managed postgres',
      { 'commento-env': 'COMMENTO_POSTGRES=postgres://x' },
      "Input 'commento-env' line 1: COMMENTO_POSTGRES cannot be set here: it is set from input 'postgres-password' and the stack's database service.",
    ],
    [
      'env duplicate',
      { 'commento-env': 'COMMENTO_STATIC=/a\nCOMMENTO_STATIC=/b' },
      "Input 'commento-env' line 2: COMMENTO_STATIC is set twice; keep one line for it.",
    ],
    [
      'env lower-case',
      { 'commento-env': 'commento_static=/a' },
      'Input \'commento-env\' line 1: has the name "commento_static"; expected COMMENTO_NAME=value with an upper-case name (a value cannot span lines, and # starts a comment line only at its beginning).',
    ],
    [
      'host-key MD5',
      { 'host-key': '16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' },
      `Input 'host-key' line 1 ("16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48") is an MD5 fingerprint, which is too weak to pin; use the SHA256: form. ${hostKeyTail}`,
    ],
    [
      'host-key short fingerprint',
      { 'host-key': 'SHA256:abc' },
      `Input 'host-key' line 1 ("SHA256:abc") is a SHA256 fingerprint of the wrong length (43 base64 characters). ${hostKeyTail}`,
    ],
    [
      'host-key unknown type',
      { 'host-key': 'vps.example.com ssh-foo AAAAB3Nza' },
      `Input 'host-key' line 1 ("vps.example.com ssh-foo AAAAB3Nza") names the key type "ssh-foo", which is not an SSH host key type. ${hostKeyTail}`,
    ],
    [
      'host-key garbage',
      { 'host-key': 'hello' },
      `Input 'host-key' line 1 ("hello") is neither a key nor a fingerprint. ${hostKeyTail}`,
    ],
    [
      'host-key only comments',
      { 'host-key': '# nothing\n\n' },
      "Input 'host-key' has no key in it (only blank or comment lines). Paste the output of `ssh-keyscan -p PORT HOST`, or a SHA256: fingerprint.",
    ],
    [
      'host-key cert-authority',
      { 'host-key': '@cert-authority *.example.com ssh-ed25519 AAAA' },
      `Input 'host-key' line 1 ("@cert-authority *.example.com ssh-ed25519 AAAA") has a marker (@revoked, @cert-authority) that is not supported; pin the host key itself. ${hostKeyTail}`,
    ],
    [
      'host-key mismatched blob',
      { 'host-key': 'vps ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl' },
      `Input 'host-key' line 1 ("vps ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsa…") has a key whose data does not match its type "ssh-rsa" (cut or mixed up?). ${hostKeyTail}`,
    ],
  ]

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
  })

  it.each(cases)('%s', (_name, overrides, message) => {
    const error = errorOf(inputs(overrides))
    expect(error.message).toBe(message)
    const named = message.match(/^Input '([a-z-]+)'/)?.[1]
    expect(error.input).toBe(named)
  })
})

describe('private-key: says what kind of text was found', () => {
  const tail = 'Expected an OpenSSH or PEM private key, such as the contents of ~/.ssh/id_ed25519.'
  it.each<[string, () => string, string]>([
    [
      'a public key',
      () => key.publicKey,
      'a public key (it starts with the key type and "AAAA"); paste the private key, the file without .pub',
    ],
    [
      'escaped newlines',
      () => key.privateKey.trim().replace(/\n/g, '\\n'),
      'a key whose line breaks were turned into the two characters \\n; store the key with real line breaks',
    ],
    [
      'one line',
      () => key.privateKey.trim().replace(/\n/g, ' '),
      'a key pasted on one line; store the key file as it is, with its line breaks',
    ],
    [
      'a certificate',
      () => '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      'a certificate, not an SSH private key',
    ],
    [
      'a PuTTY key',
      () => 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n',
      'a PuTTY key; convert it with `puttygen key.ppk -O private-openssh -o key`',
    ],
    [
      'a key cut short',
      () => key.privateKey.slice(0, 200),
      'a private key whose END line is missing (cut off?); paste the whole key file',
    ],
    [
      'a fingerprint',
      () => key.fingerprint,
      'a fingerprint; that belongs in host-key, this input needs the private key',
    ],
    [
      'prose',
      () => 'my key',
      'text that is not a key (an OpenSSH or PEM private key starts with "-----BEGIN")',
    ],
  ])('%s', (_name, value, found) => {
    const text = value()
    expect(errorOf(inputs({ 'private-key': text })).message).toBe(
      `Input 'private-key' (hidden, ${text.length} characters) holds ${found}. ${tail}`,
    )
  })

  it('a key cut in the middle', () => {
    const lines = key.privateKey.trim().split('\n')
    const cut = [lines[0], lines[1], lines[lines.length - 1]].join('\n')
    expect(errorOf(inputs({ 'private-key': cut })).message).toMatch(
      /^Input 'private-key' \(hidden, \d+ characters\) looks like a private key but cannot be read: .+\. Paste the whole key file, including its BEGIN and END lines\.$/,
    )
  })

  it('an encrypted key without passphrase, and with a wrong one', () => {
    expect(errorOf(inputs({ 'private-key': encrypted.privateKey })).message).toBe(
      "Input 'private-key' is encrypted with a passphrase, and input 'passphrase' is empty: set 'passphrase' to the key's passphrase (from a secret).",
    )
    const wrong = errorOf(inputs({ 'private-key': encrypted.privateKey, passphrase: 'wrong horse' }))
    expect(wrong.input).toBe('passphrase')
    expect(wrong.message).toBe(
      "Input 'passphrase' does not decrypt input 'private-key': check that the secret holds this key's passphrase.",
    )
  })

  it('never shows any part of a secret in a message', () => {
    const cases: Array<Record<string, string>> = [
      { 'private-key': key.privateKey.slice(0, 200) },
      { 'postgres-password': 'hunter2' },
      { 'commento-env': 'COMMENTO_SMTP_PASSWORD=sekr\u0001et' },
    ]
    for (const overrides of cases) {
      const message = errorOf(inputs(overrides)).message
      const secret = Object.values(overrides)[0] as string
      expect(message).not.toContain(secret)
      for (const line of secret.split('\n').filter((l) => l.length > 5)) expect(message).not.toContain(line)
    }
  })
})
