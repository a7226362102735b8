// The stack's Postgres settings, applied to a real Postgres as the postgres image applies them: the
// superuser's password must be stored as md5 (upstream Commento v1.8.0's driver has no SCRAM), and the
// URL the renderer writes must log in, whatever characters the password has.
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { postgresUrl } from '../../src/release/postgres.js'
import { readStack } from '../../src/release/read-stack.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

/** Debian keeps initdb and pg_ctl outside PATH, in /usr/lib/postgresql/<major>/bin. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root)
    ? readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb')))
    : []
  const major = majors.sort((a, b) => Number(b) - Number(a))[0]
  if (!major) {
    throw new Error(
      'This test needs a Postgres server (initdb, pg_ctl), which is not installed: run `bash scripts/install-test-deps.sh` (Debian package postgresql).',
    )
  }
  return join(root, major, 'bin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

const compose = parse(
  (readStack(stackDir).find((f) => f.path === 'compose.yaml')?.content ?? '').toString(),
) as { services: { postgres: { environment: Record<string, string>; command: string[] } } }
const service = compose.services.postgres

describe('Postgres as the stack sets it up', () => {
  let dir: string
  let bin: string
  const running: string[] = []
  const asPostgres = (command: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('runuser', ['-u', 'postgres', '--', command, ...args], {
      env: { ...process.env, ...env },
      timeoutMs: 60_000,
    })

  beforeAll(async () => {
    bin = postgresBin()
    requireTool('runuser', 'util-linux')
    requireTool('psql', 'postgresql-client')
    const user = await run('id', ['-u', 'postgres'])
    if (user.code !== 0)
      throw new Error('This test needs the system user postgres (Debian package postgresql).')
    dir = mkdtempSync(join(tmpdir(), 'cd-pg-'))
    chownSync(dir, Number(user.stdout.trim()), Number(user.stdout.trim()))
  })
  afterAll(async () => {
    for (const data of running)
      await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** initdb and the pg_hba.conf rule as the image's docker-entrypoint.sh runs them, then the server with the compose command. */
  async function initAndStart(
    name: string,
    password: string,
    initdbArgs: string,
  ): Promise<{ port: number; socket: string }> {
    const data = join(dir, name)
    const pwfile = join(dir, `${name}.pw`)
    writeFileSync(pwfile, `${password}\n`, { mode: 0o644 })
    const init = await asPostgres(join(bin, 'initdb'), [
      `--pgdata=${data}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      ...initdbArgs.split(' ').filter(Boolean),
    ])
    expect(init.code).toBe(0)
    rmSync(pwfile)
    const hba = await asPostgres('sh', [
      '-c',
      `printf '\\nhost all all all %s\\n' "$1" >> "$0/pg_hba.conf"`,
      data,
      service.environment.POSTGRES_HOST_AUTH_METHOD as string,
    ])
    expect(hba.code).toBe(0)
    const port = await freePort()
    const [program, ...serverArgs] = service.command
    expect(program).toBe('postgres')
    const options = [
      ...serverArgs,
      '-c',
      `port=${port}`,
      '-c',
      "listen_addresses='127.0.0.1'",
      '-c',
      `unix_socket_directories=${dir}`,
    ]
    const start = await asPostgres(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-o',
      options.join(' '),
      '-l',
      join(dir, `${name}.log`),
      '-w',
      'start',
    ])
    expect(start.code).toBe(0)
    running.push(data)
    return { port, socket: dir }
  }

  const storedHash = async (socket: string, port: number) => {
    const result = await asPostgres('psql', [
      '-h',
      socket,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-Atc',
      "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = 'postgres'",
    ])
    expect(result.code).toBe(0)
    return result.stdout.trim()
  }

  it('stores the password as md5, and the URL the renderer writes logs in over TCP with it', async () => {
    requireTool('psql', 'postgresql-client')
    const password = `p@ss/w:rd%'"$ ü-${Date.now()}`
    const { port, socket } = await initAndStart(
      'stack',
      password,
      service.environment.POSTGRES_INITDB_ARGS as string,
    )
    expect(await storedHash(socket, port)).toMatch(/^md5[0-9a-f]{10}$/)
    const created = await asPostgres('psql', [
      '-h',
      socket,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      'CREATE DATABASE commento',
    ])
    expect(created.code).toBe(0)
    // The app's URL, pointed at this server: the percent-encoded password must decode to the real one.
    const url = postgresUrl(password).replace('@postgres:5432/', `@127.0.0.1:${port}/`)
    const login = await run('psql', [url, '-Atc', 'SELECT current_user, current_database()'], {
      env: { ...process.env, PGPASSWORD: '', PGPASSFILE: '/dev/null' },
    })
    expect(login.stderr).toBe('')
    expect(login.stdout.trim()).toBe('postgres|commento')
    // The rule that applies to TCP logins is md5.
    const rules = await asPostgres('psql', [
      '-h',
      socket,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-Atc',
      "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host'",
    ])
    expect(rules.stdout.trim()).toBe('md5')
    const wrong = await run('psql', [url.replace(/:[^:@]+@/, ':wrong@'), '-Atc', 'SELECT 1'], {
      env: { ...process.env, PGPASSFILE: '/dev/null' },
    })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stderr).toContain('password authentication failed')
  })

  it('without the stack settings the same Postgres stores SCRAM, which Commento v1.8.0 cannot log in with', async () => {
    const { port, socket } = await initAndStart('default', 'abcdefghijkl', '')
    expect(await storedHash(socket, port)).toBe('SCRAM-SHA-256')
  })
})
