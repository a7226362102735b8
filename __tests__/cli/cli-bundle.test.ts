// The command-line tool as users run it: dist/cli.cjs built from this tree into a temporary folder, run
// alone (no node_modules) under Node 24 and the machine's Node, next to the action's own bundle.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { helpText, VERSION } from '../../src/cli.js'
import { node24, repoRoot } from '../helpers/paths.js'

/** The machine's own Node, not the node24 that npm scripts put first on PATH from node_modules/.bin. */
function machineNode(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '' || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (existsSync(candidate)) return candidate
  }
  throw new Error('no node on PATH outside node_modules: the machine Node is needed for this test')
}

let dir: string
beforeAll(() => {
  const build = mkdtempSync(join(tmpdir(), 'cd-cli-build-'))
  try {
    execFileSync(process.execPath, ['scripts/build.mjs', join(build, 'dist'), join(build, 'action.yml')], {
      cwd: repoRoot,
    })
    dir = mkdtempSync(join(tmpdir(), 'cd-cli-alone-'))
    cpSync(join(build, 'dist'), join(dir, 'dist'), { recursive: true })
  } finally {
    rmSync(build, { recursive: true, force: true })
  }
}, 60_000)
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.each([
  ['Node 24', node24],
  ['the machine Node', machineNode()],
])('dist/cli.cjs under %s', (_name, nodeBinary) => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(nodeBinary, [join(dir, 'dist', 'cli.cjs'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
    })

  it('prints the same --help as the source, and the version', () => {
    const help = cli(['--help'])
    expect(help.stderr).toBe('')
    expect(help.status).toBe(0)
    expect(help.stdout).toBe(helpText())
    const version = cli(['--version'])
    expect(version.stdout).toBe(`commento-deploy ${VERSION}\n`)
    expect(version.status).toBe(0)
  })

  it('exits 2 on a usage error, with the reason on standard error', () => {
    const unknown = cli(['deploy', '--hots', 'vps.example.com'])
    expect(unknown.status).toBe(2)
    expect(unknown.stdout).toBe('')
    expect(unknown.stderr).toBe(
      'commento-deploy: Unknown option --hots. Did you mean --host?\nRun `commento-deploy --help` for the modes and flags.\n',
    )
    const none = cli([])
    expect(none.status).toBe(2)
    expect(none.stderr).toMatch(/^commento-deploy: Name a mode:/)
  })

  it.each<[string, string[], NodeJS.ProcessEnv, Record<string, string>]>([
    [
      'a relative remote-dir',
      ['check', '--domain', 'comments.example.com', '--remote-dir', 'relative/path'],
      {},
      { INPUT_MODE: 'check', INPUT_DOMAIN: 'comments.example.com', 'INPUT_REMOTE-DIR': 'relative/path' },
    ],
    [
      'a missing host, from the environment',
      ['deploy'],
      { COMMENTO_DEPLOY_DOMAIN: 'comments.example.com', COMMENTO_DEPLOY_EMAIL: 'admin@example.com' },
      { INPUT_MODE: 'deploy', INPUT_DOMAIN: 'comments.example.com', INPUT_EMAIL: 'admin@example.com' },
    ],
  ])('exits 1 on an input error, with the message the action gives: %s', (_name, args, env, actionEnv) => {
    const output = join(dir, 'output')
    writeFileSync(output, '')
    const action = spawnSync(nodeBinary, [join(dir, 'dist', 'index.cjs')], {
      cwd: dir,
      env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, ...actionEnv },
      encoding: 'utf8',
    })
    const message = /^::error::(.*)$/m.exec(action.stdout)?.[1]
    expect(message).toMatch(/^Input '/)
    const result = cli(args, env)
    expect(result.status).toBe(1)
    expect(result.stderr.split('\n')[0]).toBe(`error: ${message}`)
  })

  it('runs as an executable of its own (#!/usr/bin/env node), as the npm bin link runs it', () => {
    const file = join(dir, 'dist', 'cli.cjs')
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(statSync(file).mode & 0o111).not.toBe(0)
    const result = spawnSync(file, ['--version'], { env: { PATH: process.env.PATH }, encoding: 'utf8' })
    expect(result.stdout).toBe(`commento-deploy ${VERSION}\n`)
  })
})
