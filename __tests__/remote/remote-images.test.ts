// remote.sh's image pulls and builds are bounded: its own images_step, run in a plain shell with a bound
// of one second, against commands that finish, fail, hang, and hang while ignoring SIGTERM.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shellFunction } from '../helpers/remote-sh.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cd-images-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Runs `images_step "pulling images" COMMAND` with CD_IMAGES_TIMEOUT=1; prints what fail() was given. */
function imagesStep(command: string): { output: string; status: number | null; ms: number } {
  const script = [
    'fail() { printf "FAIL %s | command: %s | exit %s\\n" "$1" "$2" "$3"; exit 1; }',
    shellFunction('images_step'),
    `images_step "pulling images" ${command}`,
    'echo "step done"',
  ].join('\n')
  const started = Date.now()
  const result = spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, CD_IMAGES_TIMEOUT: '1', OUT: join(dir, 'out') },
    timeout: 60_000,
  })
  return { output: result.stdout + result.stderr, status: result.status, ms: Date.now() - started }
}

describe('images_step (remote.sh): a pull or build that does not end is stopped', () => {
  it('lets a command that finishes in time pass', () => {
    expect(imagesStep('true')).toMatchObject({ output: 'step done\n', status: 0 })
  })

  it('reports a command that fails as failed, with its command and exit code', () => {
    expect(imagesStep('sh -c "exit 3"')).toMatchObject({
      output: 'FAIL pulling images failed | command: sh -c exit 3 | exit 3\n',
      status: 1,
    })
  })

  it('stops a command that hangs after the bound, and says so', () => {
    const run = imagesStep('sleep 30')
    expect(run).toMatchObject({
      output:
        'FAIL pulling images did not finish within 1s, so nothing was restarted: is the registry reachable from the server? | command: sleep 30 | exit 124\n',
      status: 1,
    })
    // Stopped at the bound, not when the command would have ended by itself.
    expect(run.ms).toBeLessThan(20_000)
  })

  it('kills a command that ignores SIGTERM, 10 s after the bound', () => {
    const run = imagesStep(`sh -c 'trap "" TERM; sleep 30; :'`)
    expect(run.output).toMatch(/^FAIL pulling images did not finish within 1s, .* \| exit 137\n$/)
    expect(run.ms).toBeLessThan(29_000)
  }, 60_000)
})
