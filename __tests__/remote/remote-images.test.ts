// remote.sh's images phase, run as it is (its own prepare_images, bounded and images_outcome) in a plain
// shell with a bound of one second and a fake `docker` on PATH whose pull and build finish, fail, hang,
// or ignore SIGTERM, as the test says.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { shellFunction } from '../helpers/remote-sh.js'

/** What the fake `docker compose pull` or `build` does. */
type Behaviour = 'ok' | 'fail' | 'hang' | 'ignore-term' | 'meet'

// `meet`: each one waits (at most 10 s) for the other to have started, so both succeed only when they run
// side by side.
const FAKE_DOCKER = `#!/bin/sh
[ "$1" = compose ] || exit 98
what=$2
eval "behaviour=\\$$(echo "$what" | tr a-z A-Z)_BEHAVIOUR"
: >"$MEET_DIR/$what.started"
case $behaviour in
ok) echo "$what done" ;;
fail) echo "$what: registry says no" >&2; exit 3 ;;
hang) sleep 30 ;;
ignore-term) trap '' TERM; sleep 20; echo "$what outlived TERM" ;;
meet)
  other=pull; [ "$what" = pull ] && other=build
  i=0
  until [ -e "$MEET_DIR/$other.started" ]; do
    i=$((i + 1)); [ "$i" -gt 100 ] && { echo "$what: $other never started beside me" >&2; exit 4; }
    sleep 0.1
  done
  echo "$what met $other" ;;
esac
`

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cd-images-'))
  mkdirSync(join(dir, 'bin'))
  mkdirSync(join(dir, 'meet'))
  writeFileSync(join(dir, 'bin', 'docker'), FAKE_DOCKER)
  chmodSync(join(dir, 'bin', 'docker'), 0o755)
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** Runs prepare_images with CD_IMAGES_TIMEOUT=1; prints what fail() was given, or the commands' output. */
function prepareImages(pull: Behaviour, build: Behaviour): { output: string; status: number | null } {
  const script = [
    'phase() { :; }',
    'fail() { printf "FAIL %s | command: %s | exit %s | output: %s\\n" "$1" "$2" "$3" "$(cat "$OUT")"; exit 1; }',
    shellFunction('bounded'),
    shellFunction('images_outcome'),
    shellFunction('prepare_images'),
    'prepare_images',
    'echo "images ready: $(cat "$OUT.pull" "$OUT.build" | tr "\\n" " ")"',
  ].join('\n')
  const result = spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    env: {
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      CD_IMAGES_TIMEOUT: '1',
      COMPOSE: 'docker compose',
      REL: dir,
      OUT: join(dir, 'out'),
      MEET_DIR: join(dir, 'meet'),
      PULL_BEHAVIOUR: pull,
      BUILD_BEHAVIOUR: build,
    },
    timeout: 60_000,
  })
  return { output: result.stdout + result.stderr, status: result.status }
}

describe('prepare_images (remote.sh): pull and build side by side, each bounded', () => {
  it('runs the pull and the build at the same time', () => {
    expect(prepareImages('meet', 'meet')).toEqual({
      output: 'images ready: pull met build build met pull \n',
      status: 0,
    })
  })

  it('reports a failed pull with its command, exit code and output, after the build has ended', () => {
    expect(prepareImages('fail', 'ok')).toEqual({
      output:
        'FAIL pulling images failed | command: docker compose pull --quiet --ignore-buildable | exit 3 | output: pull: registry says no\n',
      status: 1,
    })
  })

  it('reports a failed build the same way', () => {
    expect(prepareImages('ok', 'fail')).toEqual({
      output:
        'FAIL building images failed | command: docker compose build --pull --quiet | exit 3 | output: build: registry says no\n',
      status: 1,
    })
  })

  it('stops a pull that hangs after the bound, and says so', () => {
    expect(prepareImages('hang', 'ok')).toEqual({
      output:
        'FAIL pulling images did not finish within 1s, so nothing was restarted: is the registry reachable from the server? | command: docker compose pull --quiet --ignore-buildable | exit 124 | output: \n',
      status: 1,
    })
  })

  it('kills a build that ignores SIGTERM, 10 s after the bound', () => {
    const run = prepareImages('ok', 'ignore-term')
    expect(run.output).toMatch(
      /^FAIL building images did not finish within 1s, .* \| exit 137 \| output: \n$/,
    )
    expect(run.output).not.toContain('outlived TERM')
  }, 60_000)
})
