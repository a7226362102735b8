import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dotenvLine } from '../../src/release/dotenv.js'
import { postgresEnvLines } from '../../src/release/postgres.js'
import REMOTE_SCRIPT from '../../src/remote/remote.sh'
import { PASSWORD_PLACEHOLDER } from '../../src/remote/remote-plan.js'
import {
  buildRemoteCommand,
  compactScript,
  type RemotePlan,
  scriptParameters,
  shellQuote,
} from '../../src/remote/remote-script.js'
import { shellFunction } from '../helpers/remote-sh.js'

const plan: RemotePlan = {
  mode: 'deploy',
  username: 'root',
  remoteDir: '/opt/commento',
  releaseId: 'r0123456789ab',
  upload: { size: 10240, sha256: 'a'.repeat(64) },
  postgresEnvTemplate: "POSTGRES_PASSWORD='__CD_GENERATED_PASSWORD__'",
  postgresMajor: 17,
  postgresVolume: 'commento_postgres_volume',
  postgresUpgrade: false,
  dbService: 'postgres',
  dbUser: 'commento',
  volumes: ['commento_postgres_volume', 'certbot_etc_volume'],
  unitName: 'commento.service',
  unitV2: 'systemd/commento.service',
  unitV1: 'systemd/commento.service.compose-v1',
  force: false,
  backup: true,
  rollbackOnFailure: true,
  keepReleases: 5,
  lockWaitSeconds: 300,
  imagesTimeoutSeconds: 1800,
  awaitVerdict: true,
  diskNeededKb: 204800,
  actor: "o'brien",
  runUrl: 'https://github.com/o/r/actions/runs/1',
}

function sh(script: string, args: string[] = []): { stdout: string; status: number | null } {
  const result = spawnSync('sh', ['-c', script, ...args], { encoding: 'utf8' })
  return { stdout: result.stdout, status: result.status }
}

describe('shellQuote', () => {
  it.each([
    ['plain'],
    ["it's"],
    ['$(reboot) `id` ${HOME} "q" \\ ; | & > <'],
    ["'''"],
    ['new\nline'],
    ['ünïcödé ✓'],
  ])('carries %j through sh byte for byte', (value) => {
    expect(sh(`printf %s ${shellQuote(value)}`).stdout).toBe(value)
  })
})

describe('remote.sh', () => {
  it('passes shellcheck as POSIX sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cd-sh-'))
    try {
      const file = join(dir, 'remote.sh')
      writeFileSync(file, REMOTE_SCRIPT)
      const result = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' })
      if (result.error) throw new Error('shellcheck is needed for this test: apt-get install shellcheck')
      expect(result.stdout).toBe('')
      expect(result.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('stays valid sh once comments and indentation are stripped', () => {
    const compact = compactScript(REMOTE_SCRIPT)
    expect(compact).not.toMatch(/^\s*#/m)
    expect(compact.length).toBeLessThan(REMOTE_SCRIPT.length * 0.8)
    expect(spawnSync('sh', ['-n', '-c', compact]).status).toBe(0)
    expect(spawnSync('bash', ['-n', '-c', compact]).status).toBe(0)
  })
})

describe('the generated Postgres password', () => {
  it('has a placeholder that survives the .env rendering and that remote.sh replaces with builtins', () => {
    // remotePlanFor passes the template without its last line break.
    const template = postgresEnvLines(PASSWORD_PLACEHOLDER)
    const lines = template.trim().split('\n')
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(line).toContain(PASSWORD_PLACEHOLDER)
    // The substitution loop of remote.sh, run by sh on the real template.
    const loop = REMOTE_SCRIPT.slice(REMOTE_SCRIPT.indexOf('printf \'%s\\n\' "$CD_PG_ENV_TEMPLATE"'))
    const substitution = loop.slice(0, loop.indexOf('done') + 4)
    const out = sh(
      `CD_PG_ENV_TEMPLATE=${shellQuote(template.trimEnd())}; password=0123abcd\n${substitution}`,
    ).stdout
    expect(out).toBe(postgresEnvLines('0123abcd'))
  })
})

describe('env_value (remote.sh) reads .env values back as dotenv.ts wrote them', () => {
  it.each([
    ['plain-password-1'],
    ["it's a pass"],
    ['q"uote $HOME \\back\\slash'],
    ['sp ace & | ; `x`'],
    ["''"],
  ])('%j', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'cd-env-'))
    try {
      const file = join(dir, '.env')
      writeFileSync(file, `OTHER='x'\n${dotenvLine('POSTGRES_PASSWORD', value)}`)
      expect(
        sh(`${shellFunction('env_value')}\nenv_value POSTGRES_PASSWORD ${shellQuote(file)}`).stdout,
      ).toBe(value)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('buildRemoteCommand', () => {
  it('sets every parameter as a quoted assignment that sh reads back exactly', () => {
    const params = scriptParameters(plan)
    const read = sh(
      `${params}\nprintf '%s|' "$CD_MODE" "$CD_DIR" "$CD_RELEASE" "$CD_ACTOR" "$CD_VOLUMES" "$CD_PG_ENV_TEMPLATE" "$CD_FORCE" "$CD_BACKUP" "$CD_KEEP"`,
    )
    expect(read.stdout).toBe(
      "deploy|/opt/commento|r0123456789ab|o'brien|commento_postgres_volume certbot_etc_volume|POSTGRES_PASSWORD='__CD_GENERATED_PASSWORD__'|0|1|5|",
    )
  })

  it('runs as root with sh -c, and through sudo -n for another user, naming the process commento-deploy', () => {
    const root = buildRemoteCommand(plan)
    expect(root.startsWith("sh -c 'CD_MODE=")).toBe(true)
    expect(root.endsWith(' commento-deploy')).toBe(true)
    const sudo = buildRemoteCommand({ ...plan, username: 'deployer' })
    expect(sudo.startsWith("sudo -n sh -c 'CD_MODE=")).toBe(true)
  })

  it('is one shell word list that a login shell parses back into sh, -c, the script and $0', () => {
    const command = buildRemoteCommand(plan)
    // What the server's login shell does with the exec request: parse it as a command line.
    const words = sh(`set -- ${command.replace(/^sh /, '')}; printf '%s\\0' "$@"`).stdout.split('\0')
    expect(words[0]).toBe('-c')
    expect(words[1]).toContain('CD_ACTOR=')
    expect(words[1]).toContain('acquire_lock')
    expect(words[2]).toBe('commento-deploy')
  })

  it.each<[string, Partial<RemotePlan>]>([
    ['release id', { releaseId: 'r1; reboot' }],
    ['remote dir', { remoteDir: '/opt/$(id)' }],
    ['volume', { volumes: ['a b'] }],
    ['user', { username: '-oProxyCommand' }],
  ])('refuses an unsafe %s even if input validation were bypassed', (_name, bad) => {
    expect(() => buildRemoteCommand({ ...plan, ...bad })).toThrow(/bad|unsafe/)
  })
})
