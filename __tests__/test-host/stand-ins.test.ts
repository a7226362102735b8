// The stand-ins' parsers, as plain functions: how they read unit files, Exec lines, .env files and
// Compose interpolation decides what the deploy's real files do on the test host.
import { canonicalCompose, parseGlobals } from '../../test-host/stand-ins/compose.mjs'
import { interpolate, normalizeProjectName, parseEnvFile } from '../../test-host/stand-ins/compose-file.mjs'
import { startsWithWords } from '../../test-host/stand-ins/state-store.mjs'
import { canonicalSystemctl, unitName } from '../../test-host/stand-ins/systemctl.mjs'
import {
  parseExecLine,
  parseTimeSpan,
  parseUnitFile,
  serviceSettings,
  splitWords,
} from '../../test-host/stand-ins/unit-file.mjs'

describe('unit files', () => {
  const unit = parseUnitFile(`# a comment
[Unit]
Description=Commento
Requires=docker.service
[Service]
Type=oneshot
RemainAfterExit=yes
Environment="GREETING=hello world" MODE=x
ExecStart=/bin/true
ExecStart=
ExecStart=/usr/bin/env docker compose \\
  up --detach
ExecStart=-/bin/false
TimeoutStartSec=15min
[Install]
WantedBy=multi-user.target
`)

  it('reads sections, continuation lines, and an empty value that resets a list', () => {
    const settings = serviceSettings(unit)
    expect(settings.exec.ExecStart.map((line) => splitWords(line))).toEqual([
      ['/usr/bin/env', 'docker', 'compose', 'up', '--detach'],
      ['-/bin/false'],
    ])
    expect(settings).toMatchObject({
      description: 'Commento',
      type: 'oneshot',
      remainAfterExit: true,
      environment: { GREETING: 'hello world', MODE: 'x' },
      requires: ['docker.service'],
      wantedBy: ['multi-user.target'],
      hasInstall: true,
      timeoutStartSec: 900,
    })
  })

  it('defaults Type to simple when there is an ExecStart, and knows unit-less names', () => {
    expect(serviceSettings(parseUnitFile('[Service]\nExecStart=/bin/sleep 1\n')).type).toBe('simple')
    expect(unitName('commento')).toBe('commento.service')
    expect(unitName('docker.socket')).toBe('docker.socket')
    expect(parseTimeSpan('1min 30s')).toBe(90)
    expect(parseTimeSpan(undefined)).toBe(90)
  })

  it('splits Exec lines as systemd does: prefixes, quotes, ${VAR}, $VAR as words, specifiers', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g "h\\"i"`)).toEqual(['a', 'b c', 'd e', 'f g', 'h"i'])
    const command = parseExecLine('-/bin/echo "${A} and" $B %n 100%%', 'commento.service', {
      A: 'x y',
      B: 'p q',
    })
    expect(command).toMatchObject({
      path: '/bin/echo',
      argv: ['/bin/echo', 'x y and', 'p', 'q', 'commento.service', '100%'],
      ignoreFailure: true,
    })
    expect(() => parseExecLine('/bin/a ; /bin/b', 'x.service', {})).toThrow('several commands')
  })
})

describe('compose files', () => {
  it('reads .env as compose does', () => {
    expect(
      parseEnvFile(
        '# comment\nexport A=1\nB=\'two # not a comment\'\nC="three\\nlines"\nD=four # a comment\nE=\n',
      ),
    ).toEqual({ A: '1', B: 'two # not a comment', C: 'three\nlines', D: 'four', E: '' })
    expect(() => parseEnvFile('not a pair')).toThrow('expected KEY=VALUE')
  })

  it('interpolates defaults, alternatives, required variables and $$; warns about unset ones', () => {
    const warnings: string[] = []
    const env = { SET: 'v', EMPTY: '' }
    const text = '${SET} ${EMPTY:-d1} ${EMPTY-d2} ${UNSET:-${SET}} ${SET:+alt} $$SET $SET ${MISSING}'
    expect(interpolate(text, env, 'x', warnings)).toBe('v d1  v alt $SET v ')
    expect(warnings).toEqual(['The "MISSING" variable is not set. Defaulting to a blank string.'])
    expect(() => interpolate('${NEED:?set NEED in .env}', env, 'x', [])).toThrow(
      'required variable NEED is missing a value: set NEED in .env',
    )
  })

  it('names projects and matches commands without global options', () => {
    expect(normalizeProjectName('Release_ABC.1')).toBe('release_abc1')
    expect(parseGlobals(['-f', 'a.yaml', '--project-name=p', 'up', '-d'], 'v2')).toMatchObject({
      globals: { files: ['a.yaml'], projectName: 'p' },
      command: 'up',
      rest: ['-d'],
    })
    expect(canonicalCompose(['-f', 'compose.yaml', '-p', 'x', 'pull', '--quiet'])).toBe('pull --quiet')
    expect(canonicalSystemctl(['--no-pager', '-q', 'restart', 'commento'])).toBe('restart commento')
    expect(startsWithWords('docker compose pull --quiet', 'docker compose pull')).toBe(true)
    expect(startsWithWords('docker compose pull --quiet', 'docker compose pu')).toBe(false)
  })
})
