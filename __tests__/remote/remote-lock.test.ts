// The deploy lock of remote.sh, run as it is (its own acquire_lock and lock_is_stale) in a plain shell,
// where a test can step in at the one instant the end-to-end tests cannot reach: between a deploy's look
// at a stale lock and its move of that lock aside. A shell function named `mv` plays the other deploys.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shellFunction } from '../helpers/remote-sh.js'

const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
// A process that has exited: pids are handed out in increasing order, so it is not reused while the test runs.
const DEAD_PID = spawnSync('true').pid

let dir: string
let lock: string
/** Where the other deploys' locks wait (same file system as the deploy dir, so a rename moves them). */
let spare: string
const holders: ChildProcess[] = []

/** A process that looks like a running deploy to lock_is_stale (its command line names commento-deploy). */
function liveDeploy(): number {
  const child = spawn('sh', ['-c', 'sleep 60; :', 'commento-deploy'], { stdio: 'ignore' })
  holders.push(child)
  return child.pid as number
}

function lockInfo(pid: number, actor: string): string {
  return `pid=${pid}\nboot=${BOOT_ID}\nactor=${actor}\nrun=https://github.com/o/r/actions/runs/${actor.length}\nsince=2026-12-04T10:00:00Z\nrelease=r-${actor}\n`
}

/** A lock directory as remote.sh leaves it, at `path`. */
function placeLock(path: string, pid: number, actor: string): void {
  mkdirSync(path)
  writeFileSync(join(path, 'info'), lockInfo(pid, actor))
}

/**
 * Runs acquire_lock as the deploy "dave" with lock-wait 1 s, after `prelude` (shell code that may define
 * an `mv` function standing for other deploys), and prints its events, then who holds the lock.
 */
function acquire(prelude = ''): { output: string; status: number | null } {
  const script = [
    shellFunction('emit'),
    shellFunction('phase'),
    'fail() { printf "FAIL %s\\n" "$1"; exit 1; }',
    shellFunction('lock_is_stale'),
    shellFunction('acquire_lock'),
    prelude,
    'acquire_lock',
    'printf "holder %s (ours: %s)\\n" "$(sed -n "s/^actor=//p" "$LOCK/info")" "$([ "$(sed -n "s/^pid=//p" "$LOCK/info")" = "$$" ] && echo yes || echo no)"',
  ].join('\n')
  const result = spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      CD_DIR: dir,
      SPARE: spare,
      LOCK: lock,
      CD_ACTOR: 'dave',
      CD_RUN_URL: 'https://github.com/o/r/actions/runs/4',
      CD_RELEASE: 'r-dave',
      CD_LOCK_WAIT: '1',
      WAITED: '0',
      LOCK_OWNED: '0',
    },
    timeout: 20_000,
  })
  return { output: result.stdout + result.stderr, status: result.status }
}

/**
 * A shell function `mv` that plays the other deploys. At Dave's move of the stale lock aside, Bob has
 * just recovered it and taken the name (his lock waits in $SPARE/bob); with `carol`, Carol then takes the
 * free name (from $SPARE/carol) before Dave can put Bob's lock back.
 */
function otherDeploys({ carol = false } = {}): string {
  return `
raced=0
mv() {
  if [ "$raced" = 0 ] && [ "$1" = -T ] && [ "$2" = "$LOCK" ]; then
    raced=1
    command mv -T "$LOCK" "$LOCK.recovered-by-bob"
    command mv -T "$SPARE/bob" "$LOCK"
  elif ${carol ? 'true' : 'false'} && [ "$raced" = 1 ] && [ "$1" = -T ] && [ "$3" = "$LOCK" ]; then
    raced=2
    command mv -T "$SPARE/carol" "$LOCK"
  fi
  command mv "$@"
}`
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cd-lock-'))
  lock = join(dir, '.deploy.lock')
  spare = mkdtempSync(join(tmpdir(), 'cd-lock-spare-'))
})

afterEach(() => {
  for (const child of holders.splice(0)) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  rmSync(spare, { recursive: true, force: true })
})

describe('the deploy lock (remote.sh acquire_lock)', () => {
  it('recovers a lock whose process is gone, with a warning naming who left it, and takes it', () => {
    placeLock(lock, DEAD_PID, 'alice')
    const { output, status } = acquire()
    expect({ status, output }).toMatchObject({ status: 0 })
    expect(output).toContain('@@cd warning recovered a stale deploy lock left by alice')
    expect(output).toContain('holder dave (ours: yes)')
    expect(readdirSync(dir)).toEqual(['.deploy.lock'])
  })

  it('waits for a live lock, then fails naming its holder', () => {
    placeLock(lock, liveDeploy(), 'bob')
    const { output, status } = acquire()
    expect(status).toBe(1)
    expect(output).toContain('@@cd waiting-lock bob')
    expect(output).toMatch(/FAIL another deploy holds the lock on \S+: bob \(run \S+, release r-bob, since /)
    expect(readFileSync(join(lock, 'info'), 'utf8')).toBe(lockInfo(holders[0]?.pid as number, 'bob'))
  })

  it('puts back a live lock that another deploy took between its look at the stale one and its move', () => {
    placeLock(lock, DEAD_PID, 'alice')
    const bob = liveDeploy()
    placeLock(join(spare, 'bob'), bob, 'bob')
    const { output, status } = acquire(otherDeploys())
    // Dave did not take Bob's lock, nor call it stale: he waited for it and gave up naming Bob.
    expect(output).not.toContain('recovered a stale deploy lock left by bob')
    expect(output).toMatch(/FAIL another deploy holds the lock on \S+: bob /)
    expect(status).toBe(1)
    expect(readFileSync(join(lock, 'info'), 'utf8')).toBe(lockInfo(bob, 'bob'))
  })

  it('says where a displaced live lock is when a third deploy took the name before it could go back', () => {
    placeLock(lock, DEAD_PID, 'alice')
    const [bob, carol] = [liveDeploy(), liveDeploy()]
    placeLock(join(spare, 'bob'), bob, 'bob')
    placeLock(join(spare, 'carol'), carol, 'carol')
    const { output, status } = acquire(otherDeploys({ carol: true }))
    const aside =
      /@@cd warning moved a live deploy lock aside by mistake and could not put it back: (\S+)/.exec(
        output,
      )?.[1]
    expect({ aside, output }).toMatchObject({ aside: expect.stringContaining('.deploy.lock.stale.') })
    expect(readFileSync(join(aside as string, 'info'), 'utf8')).toBe(lockInfo(bob, 'bob'))
    expect(readFileSync(join(lock, 'info'), 'utf8')).toBe(lockInfo(carol, 'carol'))
    expect(output).toMatch(/FAIL another deploy holds the lock on \S+: carol /)
    expect(status).toBe(1)
  })
})

describe('the deploy lock on exit (remote.sh on_exit)', () => {
  /** Runs on_exit of a plan run that took the lock, after `setup`; prints whether the lock is still there. */
  function exitWith(setup: string): string {
    const script = [
      shellFunction('on_exit'),
      `LOCK_OWNED=1; CD_MODE=plan; OUT="$CD_DIR/out"`,
      'mkdir "$LOCK"',
      setup,
      '(on_exit)',
      '[ -d "$LOCK" ] && echo "lock kept: $(sed -n "s/^actor=//p" "$LOCK/info")" || echo "lock removed"',
    ].join('\n')
    const result = spawnSync('sh', ['-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CD_DIR: dir, LOCK: lock },
    })
    return result.stdout + result.stderr
  }

  it('removes its own lock', () => {
    expect(exitWith(`printf 'pid=%s\\nactor=dave\\n' "$$" >"$LOCK/info"`)).toBe('lock removed\n')
  })

  it('leaves a lock that is not its own (another deploy holds the name now)', () => {
    expect(exitWith(`printf 'pid=%s\\nactor=bob\\n' "$PPID" >"$LOCK/info"`)).toBe('lock kept: bob\n')
  })
})
