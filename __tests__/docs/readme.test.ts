// README.md is for people, and it must stay true: its order, its commands, its generated tables, its
// example workflow, its exit codes, and a troubleshooting table that lists every message of the corpus.
import { spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { EXIT, helpText } from '../../src/cli.js'
import { MODES } from '../../src/inputs/input-definitions.js'
import { repoRoot } from '../helpers/paths.js'
import { type CorpusMessage, errorCorpus } from './error-corpus.js'
import { type ActionYml, checkWorkflow } from './workflow-check.js'

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const action = parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as ActionYml

/** The text of a `## ` section, up to the next one. */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`)
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`)
  const next = readme.indexOf('\n## ', start + 4)
  return readme.slice(start, next < 0 ? undefined : next)
}

/** Rows of the first Markdown table in `text`, as trimmed cells; header and separator dropped. */
function tableRows(text: string): string[][] {
  const all = text.split('\n')
  const first = all.findIndex((line) => line.startsWith('|'))
  const end = all.findIndex((line, i) => i > first && !line.startsWith('|'))
  const lines = all.slice(first, end < 0 ? undefined : end)
  return lines.slice(2).map((line) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim().replace(/\\\|/g, '|')),
  )
}

/** A troubleshooting pattern: the message with `…` for the parts that vary. */
function patternOf(cell: string): RegExp {
  const text = /^`(.*)`$/.exec(cell)?.[1]
  if (!text) throw new Error(`troubleshooting row does not start with a code span: ${cell}`)
  const escaped = text
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*')
  return new RegExp(`^${escaped}$`)
}

describe('README.md', () => {
  it("starts with a newcomer's two commands, then says what it does in three lines", () => {
    expect(readme.startsWith('# commento-deploy\n\n```sh\nnpm ci && npm run demo')).toBe(true)
    const [, afterCommands] = readme.split(/\n```\n/, 2)
    const firstBlock = readme.slice(0, readme.indexOf('\n```\n', 20))
    expect(firstBlock).toMatch(/\nnpm test\s/)
    const intro = (afterCommands ?? '').slice(0, (afterCommands ?? '').indexOf('\n## ')).trim()
    expect(intro.split('\n')).toHaveLength(3)
  })

  it('has the sections people look for, in this order', () => {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1])
    expect(headings).toEqual([
      'Quick start',
      'Example workflows',
      'Inputs',
      'Outputs',
      'Modes',
      'Command line',
      'On the server',
      'Security model',
      "Moving from the article's manual install",
      'Troubleshooting',
      'Performance',
      'Running the tests',
    ])
  })

  it('gives the exact commands to make a deploy key and to pin and verify the host key', () => {
    const quick = section('Quick start')
    for (const command of [
      'ssh-keygen -t ed25519 -f commento-deploy -C commento-deploy',
      'commento-deploy.pub',
      'authorized_keys',
      'ssh-keyscan -p 22 vps.example.com',
      'ssh-keygen -lf host-key.txt',
      'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub',
    ]) {
      expect(quick).toContain(command)
    }
    expect(quick.indexOf('ssh-keygen -t ed25519')).toBeLessThan(quick.indexOf('```yaml'))
  })

  it('has a quick-start workflow that passes the same checks as the examples', () => {
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')
    const workflows = blocks.filter((block) => block.includes('commento-deploy@'))
    expect(workflows.length).toBeGreaterThan(0)
    for (const workflow of workflows) {
      const check = checkWorkflow(workflow, action)
      expect(check.problems).toEqual([])
      expect(check.ourSteps.length).toBeGreaterThan(0)
    }
  })

  it('links every example workflow, and every relative link leads to a file', () => {
    for (const name of readdirSync(join(repoRoot, 'examples'))) expect(readme).toContain(`(examples/${name})`)
    // Written by the stack's engineer in the same round; the README links it already.
    const pending = ['docs/migrating-from-the-article.md']
    expect(readme).toContain('(docs/migrating-from-the-article.md)')
    for (const [, target] of readme.matchAll(/\]\(([^)#:]+)\)/g)) {
      if (!pending.includes(target ?? ''))
        expect({ target, exists: existsSync(join(repoRoot, target ?? '')) }).toEqual({ target, exists: true })
    }
    const anchors = new Set(
      [...readme.matchAll(/^#+ (.+)$/gm)].map((m) =>
        (m[1] ?? '')
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    )
    for (const [, anchor] of readme.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors).toContain(anchor)
  })

  it('has the inputs and outputs tables that scripts/readme-tables.mjs makes from action.yml', () => {
    const check = spawnSync(process.execPath, ['scripts/readme-tables.mjs', '--check'], {
      cwd: repoRoot,
      encoding: 'utf8',
    })
    expect(check.stderr).toBe('')
    expect(check.status).toBe(0)
    const inputs = tableRows(readme.slice(readme.indexOf('<!-- inputs:start -->')))
    expect(inputs.map((row) => row[0])).toEqual(Object.keys(action.inputs).map((name) => `\`${name}\``))
    const outputs = tableRows(readme.slice(readme.indexOf('<!-- outputs:start -->')))
    expect(outputs.map((row) => row[0])).toEqual(Object.keys(action.outputs).map((name) => `\`${name}\``))
  })

  it('notices when a table drifts from action.yml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cd-readme-'))
    try {
      copyFileSync(join(repoRoot, 'README.md'), join(dir, 'README.md'))
      const drifted = readFileSync(join(repoRoot, 'action.yml'), 'utf8').replace(
        'The SSH port of the server.',
        'The port sshd listens on.',
      )
      writeFileSync(join(dir, 'action.yml'), drifted)
      const args = [
        'scripts/readme-tables.mjs',
        '--readme',
        join(dir, 'README.md'),
        '--action',
        join(dir, 'action.yml'),
      ]
      const check = spawnSync(process.execPath, [...args, '--check'], { cwd: repoRoot, encoding: 'utf8' })
      expect(check.status).toBe(1)
      expect(check.stderr).toContain('the inputs or outputs table differs from')
      const write = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' })
      expect(write.status).toBe(0)
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toMatch(
        /\| `port` .*\| The port sshd listens on\. +\|/,
      )
      expect(spawnSync(process.execPath, [...args, '--check'], { cwd: repoRoot }).status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('lists every mode, and the exit codes the command line uses', () => {
    const modes = tableRows(section('Modes')).map((row) => /`([a-z]+)`/.exec(row[0] ?? '')?.[1])
    expect(modes).toEqual([...MODES])
    const cli = section('Command line')
    expect(cli).toContain(`\`${EXIT.success}\` the run succeeded`)
    expect(cli).toContain(`\`${EXIT.failed}\` the run failed`)
    expect(cli).toContain(`\`${EXIT.usage}\` usage error`)
    expect(helpText()).toContain(
      'usage error: unknown flag or mode, a flag without its value, conflicting flags',
    )
    expect(cli.replace(/\s+/g, ' ')).toContain(
      'usage error: unknown flag or mode, a flag without its value, conflicting flags, an unreadable file',
    )
  })

  it('keeps a marked place for the benchmark table', () => {
    const start = readme.indexOf('<!-- bench:start -->')
    const end = readme.indexOf('<!-- bench:end -->')
    expect(start).toBeGreaterThan(readme.indexOf('## Performance'))
    expect(end).toBeGreaterThan(start)
    expect(end).toBeLessThan(readme.indexOf('## Running the tests'))
  })

  describe('troubleshooting', () => {
    const rows = tableRows(section('Troubleshooting'))
    // A row may hold several messages: `A` / `B`.
    const patterns = rows.flatMap((row) =>
      (row[0] ?? '')
        .split(/(?<=`) \/ (?=`)/)
        .map((cell) => ({ cell, pattern: patternOf(cell), advice: row[1] ?? '' })),
    )
    let corpus: CorpusMessage[] = []
    beforeAll(async () => {
      corpus = await errorCorpus()
    })

    it('tells what to do for each message', () => {
      expect(rows.length).toBeGreaterThanOrEqual(25)
      for (const { cell, advice } of patterns)
        expect({ cell, advice: advice.length > 20 }).toEqual({ cell, advice: true })
    })

    it('lists every message of the corpus', () => {
      expect(corpus.length).toBeGreaterThanOrEqual(50)
      const unlisted = corpus.filter(({ message }) => !patterns.some(({ pattern }) => pattern.test(message)))
      expect(unlisted).toEqual([])
    })

    it('lists only messages that the code really gives', () => {
      const unmatched = patterns
        .filter(({ pattern }) => !corpus.some(({ message }) => pattern.test(message)))
        .map(({ cell }) => cell)
      expect(unmatched).toEqual([])
    })
  })
})
