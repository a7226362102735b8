import { createHash, randomInt } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InputError } from '../../src/inputs/input-error.js'
import { DotenvValueError, dotenvLine } from '../../src/release/dotenv.js'
import { postgresDataDir, postgresEnvLines, postgresUrl } from '../../src/release/postgres.js'
import { defaultStackDir, readStack } from '../../src/release/read-stack.js'
import type { Release, StackFiles } from '../../src/release/release.js'
import { ENV_FILE, MANIFEST_FILE, renderRelease } from '../../src/release/render-release.js'
import { readDotenv } from './helpers/dotenv-reader.js'
import { commentoSetting, settingsFor } from './helpers/settings.js'
import { stackDir } from './helpers/tools.js'

const stack = readStack(stackDir)
const fileOf = (release: Release, path: string) => {
  const file = release.files.find((f) => f.path === path)
  if (!file) throw new Error(`the release has no ${path}`)
  return file
}
const envOf = (release: Release) => readDotenv(fileOf(release, ENV_FILE).content.toString('utf8'))

// Values that trip naive quoting: quotes of both kinds, $ and ${}, backslashes, #, spaces, tabs, Unicode.
const TRICKY = [
  "it's",
  'say "hi"',
  `both ' and " here`,
  'cost: $5 and ${HOME} and $$',
  "dollar and quote: $HOME's",
  'C:\\path\\n\\t',
  "back\\'slash-quote",
  'back\\"slash-dquote',
  "mixed \\' and $X and \\\\ end",
  'hash # not a comment',
  '  leading and trailing spaces  ',
  'tab\there',
  'ünïcødé ✓ 🚀',
  '',
  '=equals=',
  "'",
  '"',
  '\\x',
]

describe('readStack', () => {
  it('reads every file of stack/, sorted, with executable scripts as 0755 and the rest as 0644', () => {
    const paths = stack.map((f) => f.path)
    expect(paths).toEqual([...paths].sort())
    for (const required of [
      'compose.yaml',
      'nginx/Dockerfile',
      'nginx/entrypoint.sh',
      'certbot/entrypoint.sh',
      'certbot/deploy-hook.sh',
      'systemd/commento.service',
      'systemd/commento.service.compose-v1',
    ]) {
      expect(paths).toContain(required)
    }
    for (const file of stack) {
      expect(file.mode).toBe(file.path.endsWith('.sh') ? 0o755 : 0o644)
    }
  })

  it('refuses links (the release holds plain files only) and names a missing folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cd-stack-'))
    try {
      writeFileSync(join(dir, 'a.txt'), 'a')
      symlinkSync('a.txt', join(dir, 'link'))
      expect(() => readStack(dir)).toThrow('stack/link is not a regular file')
      expect(() => readStack(join(dir, 'absent'))).toThrow(
        `The stack folder ${join(dir, 'absent')} does not exist`,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('defaultStackDir is stack/ beside the folder of the running bundle, through links', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cd-bundle-'))
    const saved = process.argv[1]
    try {
      mkdirSync(join(dir, 'action', 'dist'), { recursive: true })
      mkdirSync(join(dir, 'bin'))
      writeFileSync(join(dir, 'action', 'dist', 'cli.cjs'), '')
      symlinkSync(join(dir, 'action', 'dist', 'cli.cjs'), join(dir, 'bin', 'commento-deploy'))
      process.argv[1] = join(dir, 'bin', 'commento-deploy')
      expect(defaultStackDir()).toBe(join(dir, 'action', 'stack'))
    } finally {
      process.argv[1] = saved as string
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('renderRelease', () => {
  it('is deterministic: the same settings and stack give the same id and bytes', () => {
    const a = renderRelease(settingsFor(), stack)
    const b = renderRelease(settingsFor(), readStack(stackDir))
    expect(a.id).toMatch(/^r[0-9a-f]{12}$/)
    expect(b.id).toBe(a.id)
    expect(b.files.map((f) => [f.path, f.mode, f.content.toString('base64')])).toEqual(
      a.files.map((f) => [f.path, f.mode, f.content.toString('base64')]),
    )
  })

  it('gives another id for any change of a setting, an image, a stack file or its mode', () => {
    const base = renderRelease(settingsFor(), stack).id
    const changed = (release: Release) => expect(release.id).not.toBe(base)
    changed(renderRelease(settingsFor({ domain: 'other.example.test' }), stack))
    changed(renderRelease(settingsFor({ staging: true }), stack))
    changed(renderRelease(settingsFor({ email: 'other@example.test' }), stack))
    changed(renderRelease(settingsFor({ commentoImage: 'ghcr.io/souramoo/commentoplusplus:v1.8.7' }), stack))
    changed(renderRelease(settingsFor({ postgresImage: 'postgres:17.2-alpine' }), stack))
    changed(renderRelease(settingsFor({ postgresPassword: 'correct horse battery' }), stack))
    changed(renderRelease(settingsFor({ remoteDir: '/srv/commento' }), stack))
    changed(
      renderRelease(
        settingsFor({ commentoEnv: [commentoSetting('COMMENTO_FORBID_NEW_OWNERS', 'true')] }),
        stack,
      ),
    )
    const edited: StackFiles = stack.map((f) =>
      f.path === 'nginx/tls.conf' ? { ...f, content: Buffer.concat([f.content, Buffer.from('\n')]) } : f,
    )
    changed(renderRelease(settingsFor(), edited))
    const chmodded: StackFiles = stack.map((f) => (f.path === 'nginx/tls.conf' ? { ...f, mode: 0o755 } : f))
    changed(renderRelease(settingsFor(), chmodded))
  })

  it('does not change the id when only the order of commento-env lines changes', () => {
    const a = [
      commentoSetting('COMMENTO_SMTP_HOST', 'smtp.example.test'),
      commentoSetting('COMMENTO_SMTP_PORT', '587'),
    ]
    const one = renderRelease(settingsFor({ commentoEnv: a }), stack)
    const two = renderRelease(settingsFor({ commentoEnv: [...a].reverse() }), stack)
    expect(two.id).toBe(one.id)
  })

  it('lists every file but itself in manifest.json, with the sha256 of its content, all files sorted', () => {
    const release = renderRelease(settingsFor(), stack)
    const paths = release.files.map((f) => f.path)
    expect(paths).toEqual([...paths].sort())
    expect(paths).toEqual(expect.arrayContaining([ENV_FILE, MANIFEST_FILE, ...stack.map((f) => f.path)]))
    expect(paths).toHaveLength(stack.length + 2)
    const manifest = JSON.parse(fileOf(release, MANIFEST_FILE).content.toString('utf8'))
    expect(manifest).toEqual(release.manifest)
    expect(Object.keys(manifest)).toEqual(paths.filter((p) => p !== MANIFEST_FILE))
    for (const file of release.files.filter((f) => f.path !== MANIFEST_FILE)) {
      expect(manifest[file.path]).toBe(createHash('sha256').update(file.content).digest('hex'))
    }
  })

  it('writes .env with mode 0600, marked secret; every other file keeps its stack mode and is not secret', () => {
    const release = renderRelease(settingsFor(), stack)
    expect(fileOf(release, ENV_FILE)).toMatchObject({ mode: 0o600, secret: true })
    for (const file of stack)
      expect(fileOf(release, file.path)).toMatchObject({ mode: file.mode, secret: false })
    expect(fileOf(release, MANIFEST_FILE)).toMatchObject({ mode: 0o644, secret: false })
  })

  it('puts the domain, e-mail, staging flag, HSTS max-age, images, project name and Commento settings in .env', () => {
    const env = envOf(
      renderRelease(
        settingsFor({
          staging: true,
          hstsMaxAgeSeconds: 86_400,
          commentoEnv: [
            commentoSetting('COMMENTO_SMTP_HOST', 'smtp.example.test'),
            commentoSetting('COMMENTO_SMTP_PASSWORD', 'p@ss\'w"rd$1'),
          ],
        }),
        stack,
      ),
    )
    expect(Object.fromEntries(env)).toEqual({
      COMPOSE_PROJECT_NAME: 'commento',
      DOMAIN: 'comments.example.test',
      EMAIL: 'admin@example.test',
      STAGING: 'true',
      HSTS_MAX_AGE: '86400',
      COMMENTO_IMAGE: 'registry.gitlab.com/commento/commento:v1.8.0',
      POSTGRES_IMAGE: 'postgres:17-alpine',
      POSTGRES_DATA_DIR: '/var/lib/postgresql/data',
      COMMENTO_SMTP_HOST: 'smtp.example.test',
      COMMENTO_SMTP_PASSWORD: 'p@ss\'w"rd$1',
    })
  })

  it('quotes every value so that Compose reads it back byte for byte', () => {
    const settings = settingsFor({
      commentoEnv: TRICKY.map((value, i) => commentoSetting(`COMMENTO_VALUE_${i}`, value)),
      postgresPassword: 'p\'a"s$s w@rd/:%',
    })
    const env = envOf(renderRelease(settings, stack))
    for (const [i, value] of TRICKY.entries()) expect(env.get(`COMMENTO_VALUE_${i}`)).toBe(value)
    expect(env.get('POSTGRES_PASSWORD')).toBe('p\'a"s$s w@rd/:%')
    for (const line of fileOf(renderRelease(settings, stack), ENV_FILE)
      .content.toString('utf8')
      .split('\n')) {
      if (line === '' || line.startsWith('#')) continue
      expect(line).toMatch(/^[A-Z_][A-Z0-9_]*=(?:'[^']*'|"(?:[^"\\]|\\.)*")$/)
    }
  })

  it('round-trips random printable values through the reader', () => {
    const alphabet = ` !"#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_\`abcxyz{|}~é€😀\t`
    for (let n = 0; n < 300; n++) {
      const chars = Array.from(
        { length: randomInt(0, 24) },
        () => [...alphabet][randomInt(0, [...alphabet].length)],
      )
      let value = chars.join('')
      if (value.endsWith('\\')) value += 'x'
      expect(readDotenv(`${dotenvLine('V', value)}`).get('V')).toBe(value)
    }
  })

  it('refuses only a value ending in a backslash, naming the input and the variable, never the value', () => {
    const secret = 'top-secret-value\\'
    const attempt = () =>
      renderRelease(settingsFor({ commentoEnv: [commentoSetting('COMMENTO_SMTP_PASSWORD', secret)] }), stack)
    expect(attempt).toThrow(InputError)
    expect(attempt).toThrow(
      /Input 'commento-env': the value of COMMENTO_SMTP_PASSWORD cannot be written.*backslash/,
    )
    try {
      attempt()
    } catch (error) {
      expect((error as InputError).input).toBe('commento-env')
      expect((error as Error).message).not.toContain('top-secret')
    }
    const password = () => renderRelease(settingsFor({ postgresPassword: 'abcdefghijkl\\' }), stack)
    expect(password).toThrow(
      /Input 'postgres-password' \(hidden, 13 characters\) cannot be used: .*backslash/,
    )
    expect(() => dotenvLine('V', 'nul\0')).toThrow(DotenvValueError)
  })

  it('keeps secrets in .env only', () => {
    const secrets = ['smtp-secret-Zq9', 'oauth-secret-Xw8', 'postgres-secret-Yv7']
    const release = renderRelease(
      settingsFor({
        postgresPassword: secrets[2] as string,
        commentoEnv: [
          commentoSetting('COMMENTO_SMTP_PASSWORD', secrets[0] as string),
          commentoSetting('COMMENTO_GITHUB_SECRET', secrets[1] as string),
        ],
      }),
      stack,
    )
    for (const file of release.files) {
      const text = file.content.toString('utf8')
      for (const secret of secrets) {
        if (file.path === ENV_FILE) expect(text).toContain(secret)
        else expect(text).not.toContain(secret)
      }
    }
  })

  it('fills the deploy directory into both units', () => {
    const release = renderRelease(settingsFor({ remoteDir: '/srv/comments' }), stack)
    for (const unit of ['systemd/commento.service', 'systemd/commento.service.compose-v1']) {
      const text = fileOf(release, unit).content.toString('utf8')
      expect(text).toContain('WorkingDirectory=/srv/comments/current\n')
      expect(text).not.toContain('{{')
    }
  })

  it('names what is missing from an incomplete stack folder', () => {
    expect(() =>
      renderRelease(
        settingsFor(),
        stack.filter((f) => f.path !== 'compose.yaml'),
      ),
    ).toThrow('The stack folder is incomplete: compose.yaml missing')
    expect(() =>
      renderRelease(settingsFor(), [...stack, { path: '.env', mode: 0o644, content: Buffer.from('') }]),
    ).toThrow('The stack folder holds .env, which the renderer writes itself')
  })
})

describe('the Postgres password in .env', () => {
  it('without postgres-password, .env holds neither the password nor the URL, and says where they come from', () => {
    const text = fileOf(renderRelease(settingsFor(), stack), ENV_FILE).content.toString('utf8')
    const env = readDotenv(text)
    expect(env.has('POSTGRES_PASSWORD')).toBe(false)
    expect(env.has('COMMENTO_POSTGRES')).toBe(false)
    expect(text).toContain('/opt/commento/secrets/postgres-password')
    expect(text.endsWith('\n')).toBe(true)
  })

  it('lines rendered with a placeholder of unreserved characters, filled with a hex password, are those of the password', () => {
    const placeholder = '__PASSWORD_PLACEHOLDER__'
    const hex = createHash('sha256').update('x').digest('hex').slice(0, 48)
    const template = postgresEnvLines(placeholder)
    expect(template.split(placeholder)).toHaveLength(3)
    expect(template.split(placeholder).join(hex)).toBe(postgresEnvLines(hex))
    const appended =
      fileOf(renderRelease(settingsFor(), stack), ENV_FILE).content.toString('utf8') + postgresEnvLines(hex)
    const env = readDotenv(appended)
    expect(env.get('POSTGRES_PASSWORD')).toBe(hex)
    expect(env.get('COMMENTO_POSTGRES')).toBe(
      `postgres://postgres:${hex}@postgres:5432/commento?sslmode=disable`,
    )
  })

  it('percent-encodes the password in the URL, so that any password reaches the driver unchanged', () => {
    for (const password of ['p@ss/w:rd%41', 'it\'s "quoted" $HOME', 'ünï€ode', 'a#b?c&d=e+f g']) {
      const env = envOf(renderRelease(settingsFor({ postgresPassword: password }), stack))
      expect(env.get('POSTGRES_PASSWORD')).toBe(password)
      const url = new URL(env.get('COMMENTO_POSTGRES') as string)
      expect(env.get('COMMENTO_POSTGRES')).toBe(postgresUrl(password))
      expect([url.protocol, url.username, url.hostname, url.port, url.pathname, url.search]).toEqual([
        'postgres:',
        'postgres',
        'postgres',
        '5432',
        '/commento',
        '?sslmode=disable',
      ])
      expect(decodeURIComponent(url.password)).toBe(password)
    }
  })

  it('mounts the data volume where the image keeps its data (/var/lib/postgresql from Postgres 18 on)', () => {
    expect(postgresDataDir('postgres:17-alpine')).toBe('/var/lib/postgresql/data')
    expect(postgresDataDir('postgres:11')).toBe('/var/lib/postgresql/data')
    expect(postgresDataDir('postgres:9.6')).toBe('/var/lib/postgresql/data')
    expect(postgresDataDir('postgres:18-alpine')).toBe('/var/lib/postgresql')
    expect(postgresDataDir(`docker.io/library/postgres:18.1@sha256:${'a'.repeat(64)}`)).toBe(
      '/var/lib/postgresql',
    )
    expect(postgresDataDir(`postgres@sha256:${'a'.repeat(64)}`)).toBe('/var/lib/postgresql/data')
    expect(postgresDataDir('registry.example.test:5000/postgres:19beta1')).toBe('/var/lib/postgresql')
    const env = envOf(renderRelease(settingsFor({ postgresImage: 'postgres:18-alpine' }), stack))
    expect(env.get('POSTGRES_DATA_DIR')).toBe('/var/lib/postgresql')
  })
})
