import {
  markdownToText,
  stripAnsi,
  type TextSink,
  terminalReporter,
  visibleWidth,
} from '../../src/report/terminal-reporter.js'

interface Collector extends TextSink {
  readonly chunks: string[]
  readonly text: () => string
}

function collector(isTTY = false): Collector {
  const chunks: string[] = []
  return { chunks, isTTY, write: (text: string) => chunks.push(text), text: () => chunks.join('') }
}

function setup(options: { debug?: boolean; color?: 'auto' | 'always' | 'never' } = {}) {
  const log = collector()
  const result = collector()
  let clock = 1000
  const reporter = terminalReporter({ log, result, now: () => clock, ...options })
  return { log, result, reporter, tick: (ms: number) => (clock += ms) }
}

describe('terminal reporter', () => {
  it('writes progress as it comes, groups as headed, indented sections with their time (a neutral end line: the work decides success)', async () => {
    const { log, result, reporter, tick } = setup()
    reporter.info('connecting')
    expect(log.text()).toBe('connecting\n')
    await reporter.group('Upload', async () => {
      reporter.info('12 files\nin 1 tar stream')
      await reporter.group('Unpack', async () => {
        tick(250)
        reporter.info('done')
      })
      tick(1000)
    })
    expect(log.text()).toBe(
      [
        'connecting',
        '▸ Upload',
        '  12 files',
        '  in 1 tar stream',
        '  ▸ Unpack',
        '    done',
        '  └ Unpack (0.3 s)',
        '└ Upload (1.3 s)',
        '',
      ].join('\n'),
    )
    expect(result.text()).toBe('')
  })

  it('marks a group that throws as failed and passes the error on', async () => {
    const { log, reporter, tick } = setup()
    await expect(
      reporter.group('Restart', async () => {
        tick(2000)
        throw new Error('unit failed')
      }),
    ).rejects.toThrow('unit failed')
    expect(log.text()).toBe('▸ Restart\n✗ Restart failed (2.0 s)\n')
    reporter.info('after')
    expect(log.text()).toMatch(/\nafter\n$/)
  })

  it('marks warnings and errors, hangs their continuation lines, and shows debug only when asked', () => {
    const quiet = setup()
    quiet.reporter.warning('COMMENTO_X is unknown\nline two')
    quiet.reporter.error('the unit failed')
    quiet.reporter.debug('ssh: kex done')
    expect(quiet.log.text()).toBe(
      'warning: COMMENTO_X is unknown\n         line two\nerror: the unit failed\n',
    )
    const verbose = setup({ debug: true })
    verbose.reporter.debug('ssh: kex done')
    expect(verbose.log.text()).toBe('debug: ssh: kex done\n')
  })

  it('records failure, prints it as an error, and prints outputs as name=value at the end', () => {
    const { log, result, reporter } = setup()
    expect(reporter.failed).toBe(false)
    reporter.setOutput('status', 'unhealthy')
    reporter.setOutput('url', 'https://comments.example.com')
    reporter.setOutput('note', 'two\nlines')
    expect(result.text()).toBe('')
    reporter.setFailed('The site is unhealthy.')
    expect(reporter.failed).toBe(true)
    expect(log.text()).toBe('error: The site is unhealthy.\n')
    reporter.finish()
    expect(result.text()).toBe('status=unhealthy\nurl=https://comments.example.com\nnote=two\\nlines\n')
  })

  it('renders the job summary as text at the end, tables as aligned columns', async () => {
    const { result, reporter } = setup()
    await reporter.summary(
      [
        '## commento-deploy: check `comments.example.com`',
        '',
        '| check | verdict | reason |',
        '|---|:-:|---|',
        '| dns | ✅ pass | resolves to 203.0.113.7 |',
        '| tls-chain | ❌ fail | **expired** on 2026-01-01; see [the docs](https://example.com/docs) |',
        '| a\\|b | warn | `x \\| y` &amp; more |',
      ].join('\n'),
    )
    await reporter.summary(
      '### Certificate\n\n- issuer: R11<br>- days left: 12\n\n<details><summary>Log</summary>\n\n```\nraw **line**\n```\n</details>',
    )
    expect(result.text()).toBe('')
    reporter.finish()
    expect(result.text()).toBe(
      [
        '',
        'commento-deploy: check comments.example.com',
        '-------------------------------------------',
        '',
        'check      verdict  reason',
        `---------  -------  ${'-'.repeat('expired on 2026-01-01; see the docs (https://example.com/docs)'.length)}`,
        'dns        ✅ pass  resolves to 203.0.113.7',
        'tls-chain  ❌ fail  expired on 2026-01-01; see the docs (https://example.com/docs)',
        'a|b        warn     x | y & more',
        '',
        'Certificate',
        '',
        '- issuer: R11',
        '- days left: 12',
        '',
        'Log',
        '',
        '    raw **line**',
        '',
        '',
      ].join('\n'),
    )
  })

  it('replaces every registered secret by *** in everything it prints', async () => {
    const { log, result, reporter } = setup({ debug: true })
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'
    reporter.setSecret('hunter2hunter2')
    reporter.setSecret('hunter2')
    reporter.setSecret(key)
    for (const line of key.split('\n')) reporter.setSecret(line)
    reporter.setSecret('')
    reporter.info('password hunter2hunter2 and hunter2')
    reporter.warning(`key:\n${key}`)
    reporter.error('b3BlbnNzaC1rZXktdjEAAAAA leaked')
    reporter.debug('debug hunter2')
    await reporter.group('login as hunter2', async () => undefined)
    await reporter.summary('| name | value |\n|---|---|\n| password | hunter2hunter2 |\n| pipe | hunter2 |')
    reporter.setOutput('secret-output', 'x-hunter2-x')
    reporter.setFailed('wrong password hunter2')
    reporter.finish()
    const everything = log.text() + result.text()
    expect(everything).not.toContain('hunter2')
    expect(everything).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA')
    expect(everything).not.toContain('PRIVATE KEY')
    expect(log.text()).toContain('password *** and ***\n')
    expect(log.text()).toContain('warning: key:\n         ***\n')
    expect(log.text()).toContain('▸ login as ***\n')
    expect(log.text()).toContain('error: wrong password ***\n')
    expect(result.text()).toContain('password  ***')
    expect(result.text()).toContain('secret-output=x-***-x\n')
  })

  it('colours only sinks that are terminals, unless told', () => {
    const log = collector(true)
    const result = collector(false)
    const reporter = terminalReporter({ log, result })
    reporter.warning('careful')
    reporter.setOutput('a', 'b')
    reporter.finish()
    expect(log.text()).toContain('\u001b[')
    expect(stripAnsi(log.text())).toBe('warning: careful\n')
    expect(result.text()).toBe('a=b\n')

    const never = setup({ color: 'never' })
    never.reporter.error('x')
    expect(never.log.text()).toBe('error: x\n')
    const always = setup({ color: 'always' })
    always.reporter.error('x')
    expect(always.log.text()).not.toBe('error: x\n')
    expect(stripAnsi(always.log.text())).toBe('error: x\n')
  })
})

describe('markdownToText', () => {
  it('underlines headings, keeps lists, turns links into text (url), drops HTML comments', () => {
    expect(
      markdownToText(
        '# Deploy\n\n<!-- marker -->\n* one\n+ two\n> quoted\n\n---\n[https://x.example](https://x.example)',
      ),
    ).toBe(
      ['Deploy', '======', '', '- one', '- two', '│ quoted', '', '-'.repeat(40), 'https://x.example'].join(
        '\n',
      ),
    )
  })

  it('keeps columns aligned when cells hold wide characters or colour', () => {
    const table = '| a | b |\n|---|--:|\n| ✅ | 1 |\n| 漢字 | 200 |\n| **x** | 3 |'
    const plainLines = markdownToText(table).split('\n')
    expect(plainLines).toEqual(['a       b', '----  ---', '✅      1', '漢字  200', 'x       3'])
    const coloured = markdownToText(table, (_style, text) => `\u001b[1m${text}\u001b[22m`).split('\n')
    expect(coloured.map(stripAnsi)).toEqual(plainLines)
  })

  it('shows a key/value table without its empty header', () => {
    expect(markdownToText('| | |\n|---|---|\n| Result | ✅ deployed |\n| Release | `a1b2` |')).toBe(
      'Result   ✅ deployed\nRelease  a1b2',
    )
  })

  it('measures terminal widths', () => {
    expect(visibleWidth('abc')).toBe(3)
    expect(visibleWidth('✅ ok')).toBe(5)
    expect(visibleWidth('e\u0301')).toBe(1)
    expect(visibleWidth('\u001b[31mred\u001b[39m')).toBe(3)
  })
})
