import { emptyOutcome, foldLine, parseEventLine, recreatedServices } from '../../src/remote/remote-events.js'

describe('remote events', () => {
  it('reads event lines and leaves other lines as output', () => {
    expect(parseEventLine('@@cd phase preflight')).toEqual({ kind: 'phase', text: 'preflight' })
    expect(parseEventLine('@@cd await-verdict')).toEqual({ kind: 'await-verdict', text: '' })
    expect(parseEventLine('pulling nginx')).toBeUndefined()
  })

  it('folds a failing run into phases with timings, facts, state and the failure', () => {
    const outcome = emptyOutcome()
    const lines = [
      '@@cd phase preflight',
      '@@cd fact docker 27.3.1',
      '@@cd fact compose docker compose 2.29.7',
      '@@cd state current=r111111111111 previous=- running=r111111111111 active=active',
      '@@cd phase images',
      'some output',
      '@@cd fail images 1',
      '@@cd command docker compose pull --quiet --ignore-buildable',
      '@@cd output Error response from daemon: manifest unknown',
      '@@cd message pulling images failed',
    ]
    lines.forEach((line, i) => {
      foldLine(outcome, line, 1000 + i * 100)
    })
    expect(outcome.phases).toEqual([
      { name: 'preflight', startedAt: 1000, endedAt: 1400 },
      { name: 'images', startedAt: 1400, endedAt: 1600 },
    ])
    expect(outcome.facts.get('compose')).toEqual(['docker compose 2.29.7'])
    expect(outcome.state).toEqual({
      current: 'r111111111111',
      previous: '-',
      running: 'r111111111111',
      active: 'active',
    })
    expect(outcome.output).toEqual(['some output'])
    expect(outcome.failure).toEqual({
      phase: 'images',
      exitCode: 1,
      command: 'docker compose pull --quiet --ignore-buildable',
      output: ['Error response from daemon: manifest unknown'],
      message: 'pulling images failed',
    })
  })

  it('tells which services Compose recreated from ps before and after (lines or one array)', () => {
    const before = [
      '{"Service":"app","ID":"a1","CreatedAt":"t1","State":"running"}',
      '{"Service":"nginx","ID":"n1","CreatedAt":"t1","State":"running"}',
      '{"Service":"postgres","ID":"p1","CreatedAt":"t1","State":"running"}',
    ]
    const after = [
      JSON.stringify([
        { Service: 'app', ID: 'a2', CreatedAt: 't2', State: 'running' },
        { Service: 'nginx', ID: 'n1', CreatedAt: 't1', State: 'running' },
        { Service: 'postgres', ID: 'p1', CreatedAt: 't1', State: 'running' },
        { Service: 'certbot', ID: 'c1', CreatedAt: 't2', State: 'running' },
      ]),
    ]
    expect(recreatedServices(before, after)).toEqual(['app', 'certbot'])
    expect(recreatedServices(before, before)).toEqual([])
  })
})
