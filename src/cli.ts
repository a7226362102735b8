#!/usr/bin/env node
// The command-line tool: `commento-deploy <mode> [--flag value ...]`. Its flags, environment variables
// and --help come from the same input definitions as action.yml, and the run is the action's own
// (runWith), so both give the same validation and the same messages.
import { closeSync, openSync, readSync } from 'node:fs'
import { homedir } from 'node:os'
import { parseArgs } from 'node:util'
import pkg from '../package.json' with { type: 'json' }
import { INPUTS, MODES, type Mode, OUTPUTS } from './inputs/input-definitions.js'
import { shown } from './inputs/input-error.js'
import type { Reporter } from './report/reporter.js'
import { type TextSink, terminalReporter } from './report/terminal-reporter.js'
import { runWith } from './run-action.js'

export const VERSION: string = pkg.version

/** The exit codes, as --help and the README document them. */
export const EXIT = {
  /** The run succeeded (for `check`: the site is healthy). */
  success: 0,
  /** The run failed: an input is invalid, a remote step failed, or the site is unhealthy. */
  failed: 1,
  /** The command line cannot be read: unknown flag or mode, a flag without its value, an unreadable file. */
  usage: 2,
} as const

const ENV_PREFIX = 'COMMENTO_DEPLOY_'

/** `remote-dir` → `COMMENTO_DEPLOY_REMOTE_DIR`. */
export function envName(input: string): string {
  return ENV_PREFIX + input.toUpperCase().replace(/-/g, '_')
}

/** How one input of the action is given on the command line. */
export interface CliInput {
  readonly name: string
  /** `--remote-dir` */
  readonly flag: string
  /** `COMMENTO_DEPLOY_REMOTE_DIR` */
  readonly env: string
  /** `--private-key-file`: for secrets (kept out of shell history and `ps`) and for host-key (long lines). */
  readonly fileFlag?: string
  readonly fileEnv?: string
  /** true/false inputs: `--staging` means `--staging=true`. */
  readonly boolean: boolean
  readonly secret: boolean
}

export const CLI_INPUTS: readonly CliInput[] = INPUTS.map((def) => {
  const fromFile = def.secret === true || def.name === 'host-key'
  return Object.freeze({
    name: def.name,
    flag: `--${def.name}`,
    env: envName(def.name),
    ...(fromFile ? { fileFlag: `--${def.name}-file`, fileEnv: `${envName(def.name)}_FILE` } : {}),
    boolean: def.default === 'true' || def.default === 'false',
    secret: def.secret === true,
  })
})

/** Flags of the tool itself, not inputs of the action. */
export const TOOL_FLAGS = ['--help', '--version', '--debug'] as const

const MODE_HELP: Readonly<Record<Mode, string>> = {
  deploy:
    'Put the stack on the server (changing only what changed), then check HTTPS; roll back when the check fails.',
  check:
    "Check HTTPS, the certificate and Commento's health from here. Needs only --domain; connects over SSH only to collect diagnostics when the check fails and SSH settings are given.",
  plan: 'Show what deploy would change on the server, and change nothing.',
  rollback: 'Switch the server back to the previous release, then check HTTPS.',
}

/** The command line cannot be read; the message says what is wrong and what to write instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export type CommandLine =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run'
      readonly mode: Mode
      /** Raw input values by input name, as the action would receive them; absent = not given. */
      readonly values: Readonly<Record<string, string>>
      readonly warnings: readonly string[]
      readonly debug: boolean
    }

/** Reads a whole (small) file as text; throws the fs error. */
export type ReadText = (path: string) => string

const MAX_FILE_BYTES = 1024 * 1024

/** Reads up to 1 MiB; works for FIFOs such as `--password-file <(pass show vps)` too. */
export function readTextFile(path: string): string {
  const fd = openSync(path, 'r')
  try {
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024)
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      chunks.push(chunk.subarray(0, n))
      total += n
      if (total > MAX_FILE_BYTES) throw Object.assign(new Error('larger than 1 MiB'), { code: 'E2BIG' })
    }
    return Buffer.concat(chunks).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT':
      return 'there is no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory, not a file'
    case 'E2BIG':
      return 'it is larger than 1 MiB, which no key or secret is'
    default:
      return error instanceof Error ? error.message : String(error)
  }
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

function allFlags(): string[] {
  return [
    ...CLI_INPUTS.flatMap((input) => [input.flag, ...(input.fileFlag ? [input.fileFlag] : [])]),
    ...TOOL_FLAGS,
  ]
}

/** "Did you mean …?" for a misspelt flag (`--private_key`, `--hots`). */
function suggestFlag(rawName: string): string {
  const wanted = `--${rawName.replace(/^-+/, '').toLowerCase().replace(/_/g, '-')}`
  const ranked = allFlags()
    .map((flag) => ({ flag, distance: levenshtein(wanted, flag) }))
    .sort((a, b) => a.distance - b.distance)
  const best = ranked[0]
  return best && best.distance <= 2 ? ` Did you mean ${best.flag}?` : ''
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path
}

/** A file's text as an input value: trailing line breaks (as editors and `echo` leave them) removed. */
function fileValue(readText: ReadText, path: string, where: string): string {
  if (path.trim() === '') throw new UsageError(`${where} is empty: give the path of a file.`)
  try {
    return readText(expandHome(path)).replace(/(\r?\n)+$/, '')
  } catch (error) {
    throw new UsageError(`Cannot read ${where} ${JSON.stringify(path)}: ${fileProblem(error)}.`)
  }
}

/**
 * Reads `argv` (without node and the script) and the COMMENTO_DEPLOY_* environment into raw input values.
 * Throws a UsageError when the command line itself cannot be read; the values are validated later, by the
 * same code as the action's inputs.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readText: ReadText = readTextFile,
): CommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    debug: { type: 'boolean' },
  }
  const byOption = new Map<string, { input: CliInput; fromFile: boolean }>()
  for (const input of CLI_INPUTS) {
    options[input.name] = { type: input.boolean ? 'boolean' : 'string' }
    byOption.set(input.name, { input, fromFile: false })
    if (input.fileFlag) {
      const name = input.fileFlag.slice(2)
      options[name] = { type: 'string' }
      byOption.set(name, { input, fromFile: true })
    }
  }
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) return { kind: 'help' }
  if (tokens.some((t) => t.kind === 'option' && t.name === 'version')) return { kind: 'version' }

  const values: Record<string, string> = {}
  const givenBy = new Map<string, string>()
  const warnings: string[] = []
  let modeArgument: string | undefined
  let debug = false

  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue
    if (token.kind === 'positional') {
      if (modeArgument === undefined) {
        modeArgument = token.value
        continue
      }
      throw new UsageError(
        `Unexpected argument ${shown(token.value)}: the mode is the only argument; everything else is a --flag (values with spaces need quotes).`,
      )
    }
    const { name, rawName } = token
    if (name === 'debug') {
      if (token.value !== undefined) throw new UsageError(`${rawName} takes no value.`)
      debug = true
      continue
    }
    const known = byOption.get(name)
    if (!known || !rawName.startsWith('--')) {
      throw new UsageError(`Unknown option ${rawName}.${suggestFlag(rawName)}`)
    }
    const { input, fromFile } = known
    const earlier = givenBy.get(input.name)
    if (earlier !== undefined) {
      throw new UsageError(
        earlier === rawName
          ? `${rawName} is given twice; give it once.`
          : `${earlier} and ${rawName} both give input '${input.name}'; give one of them.`,
      )
    }
    givenBy.set(input.name, rawName)
    let value: string
    if (input.boolean && !fromFile) {
      value = token.value ?? 'true'
    } else {
      if (token.value === undefined) {
        throw new UsageError(`${rawName} needs a value: ${rawName} ${fromFile ? 'PATH' : 'VALUE'}.`)
      }
      if (!token.inlineValue && token.value.startsWith('-') && token.value.length > 1) {
        throw new UsageError(
          `${rawName} is followed by ${token.value.startsWith('--') ? 'the option ' : ''}${shown(token.value, input.secret)} instead of its value; write ${rawName}=VALUE for a value that starts with '-'.`,
        )
      }
      value = fromFile ? fileValue(readText, token.value, rawName) : token.value
    }
    if (input.secret && !fromFile) {
      warnings.push(
        `${input.flag} puts a secret on the command line, where shell history and \`ps\` keep it: use ${input.fileFlag} PATH or the environment variable ${input.env} instead.`,
      )
    }
    values[input.name] = value
  }

  // The environment fills in what the flags did not give.
  for (const input of CLI_INPUTS) {
    if (input.name in values) continue
    const direct = env[input.env] ?? ''
    const file = input.fileEnv ? (env[input.fileEnv] ?? '') : ''
    if (direct !== '' && file !== '') {
      throw new UsageError(`${input.env} and ${input.fileEnv} are both set; set one of them.`)
    }
    if (direct !== '') values[input.name] = direct
    else if (file !== '' && input.fileEnv) values[input.name] = fileValue(readText, file, input.fileEnv)
  }
  const knownEnv = new Set(CLI_INPUTS.flatMap((i) => [i.env, ...(i.fileEnv ? [i.fileEnv] : [])]))
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith(ENV_PREFIX) && !knownEnv.has(name)) {
      warnings.push(
        `The environment variable ${name} is not one commento-deploy reads (a typo?); \`commento-deploy --help\` lists them.`,
      )
    }
  }

  const flagMode = values.mode
  if (
    modeArgument !== undefined &&
    flagMode !== undefined &&
    givenBy.has('mode') &&
    flagMode !== modeArgument
  ) {
    throw new UsageError(
      `The mode is given twice, as ${shown(modeArgument)} and --mode ${shown(flagMode)}; give it once.`,
    )
  }
  const modeText = (modeArgument ?? flagMode ?? '').trim()
  if (modeText === '') {
    throw new UsageError(
      `Name a mode: commento-deploy <${MODES.join('|')}> [--flag value ...] (or set ${envName('mode')}).`,
    )
  }
  if (!(MODES as readonly string[]).includes(modeText)) {
    throw new UsageError(`Unknown mode ${shown(modeText)}: expected one of ${MODES.join(', ')}.`)
  }
  values.mode = modeText
  return Object.freeze({
    kind: 'run',
    mode: modeText as Mode,
    values: Object.freeze(values),
    warnings: Object.freeze(warnings),
    debug,
  })
}

const WIDTH = 100

function wrap(text: string, indent: number, width = WIDTH): string[] {
  const lines: string[] = []
  let current = ''
  // `${{ github.token }}` stays on one line.
  for (const word of text.match(/\$\{\{[^}]*\}\}\S*|\S+/g) ?? []) {
    if (current !== '' && indent + current.length + 1 + word.length > width) {
      lines.push(current)
      current = word
    } else current = current === '' ? word : `${current} ${word}`
  }
  if (current !== '') lines.push(current)
  return lines.map((line) => ' '.repeat(indent) + line)
}

function column(left: string, right: string, at: number): string {
  return left.length + 2 > at ? `${left}  ${right}` : left.padEnd(at) + right
}

/** `--help`, generated from the input and output definitions (the same ones action.yml is made from). */
export function helpText(): string {
  const out: string[] = []
  out.push(
    ...wrap(
      `commento-deploy ${VERSION}: deploy a self-hosted Commento stack (certbot, nginx, Commento, Postgres under Docker Compose) to a server over SSH, and pass only when it answers over HTTPS with a valid certificate. The same tool as the GitHub Action.`,
      0,
    ),
    '',
    'Usage:',
    '  commento-deploy <mode> [--flag value ...]',
    '  commento-deploy --help | --version',
    '',
    'Example:',
    '  commento-deploy deploy --host vps.example.com --domain comments.example.com \\',
    '    --email admin@example.com --private-key-file ~/.ssh/id_ed25519 --host-key-file host-key.txt',
    '',
    'Modes (the first argument, or --mode, or COMMENTO_DEPLOY_MODE):',
  )
  for (const mode of MODES) {
    const [first, ...rest] = wrap(MODE_HELP[mode], 12)
    out.push(`  ${mode.padEnd(10)}${first?.trimStart() ?? ''}`, ...rest)
  }
  out.push(
    '',
    'Inputs:',
    ...wrap(
      'Every input of the GitHub Action is a flag and an environment variable: --remote-dir /srv/commento or COMMENTO_DEPLOY_REMOTE_DIR=/srv/commento; the flag wins. Booleans: --staging means --staging=true, --staging=false turns one off. Secrets belong in a file (--private-key-file PATH) or in the environment (COMMENTO_DEPLOY_PRIVATE_KEY): a secret typed as a flag lands in shell history and `ps`, and is warned about. Values read from files lose their trailing line breaks.',
      2,
    ),
    '',
  )
  for (const input of CLI_INPUTS) {
    const def = INPUTS.find((d) => d.name === input.name)
    if (!def) continue
    if (input.fileFlag && input.fileEnv) out.push(column(`  ${input.fileFlag} PATH`, input.fileEnv, 40))
    const flag = input.boolean ? `${input.flag}[=false]` : `${input.flag} VALUE`
    out.push(column(`  ${flag}${input.secret ? ' (secret)' : ''}`, input.env, 40))
    const notes: string[] = []
    const modes = def.requiredFor ?? []
    if (modes.length === MODES.length) notes.push('Required.')
    else if (modes.length > 0) notes.push(`Required for ${modes.join(', ')}.`)
    if (def.name === 'mode') {
      notes.push("On the command line a mode must be named: the action's default, deploy, is not assumed.")
    } else if (def.default !== undefined) {
      notes.push(
        def.default.includes('${{')
          ? `Default in a workflow: ${def.default}; none on the command line.`
          : `Default: ${def.default}.`,
      )
    }
    out.push(...wrap(`${def.description} ${notes.join(' ')}`, 6))
  }
  out.push('', 'Other flags:')
  out.push(column('  -h, --help', 'Show this help.', 20))
  out.push(column('  --version', 'Print the version.', 20))
  out.push(column('  --debug', 'Print debug messages too.', 20))
  out.push('', 'Outputs (printed as name=value lines on standard output at the end):')
  const outputWidth = Math.max(...OUTPUTS.map((o) => o.name.length)) + 4
  for (const output of OUTPUTS) {
    const [first, ...rest] = wrap(output.description.replace(/`/g, ''), outputWidth)
    out.push(`  ${output.name.padEnd(outputWidth - 2)}${first?.trimStart() ?? ''}`, ...rest)
  }
  out.push(
    '',
    ...wrap(
      'Standard error shows the progress, warnings and errors as the run goes; standard output gets the summary and the outputs when it is over. Secrets are shown as ***. Colours appear only on a terminal; NO_COLOR=1 turns them off.',
      0,
    ),
    '',
    'Exit codes:',
    `  ${EXIT.success}  the run succeeded (for check: the site is healthy)`,
    `  ${EXIT.failed}  the run failed: an input is invalid, a remote step failed, or the site is unhealthy`,
    `  ${EXIT.usage}  usage error: unknown flag or mode, a flag without its value, conflicting flags, an`,
    '     unreadable file',
  )
  return `${out.join('\n')}\n`
}

/** After an input error, say which flag and variable the input is on the command line. */
function withFlagHints(reporter: Reporter): Reporter {
  return {
    ...reporter,
    group: (title, work) => reporter.group(title, work),
    setFailed: (message) => {
      reporter.setFailed(message)
      const name = /^Input '([a-z-]+)'/.exec(message)?.[1]
      const input = CLI_INPUTS.find((i) => i.name === name)
      if (!input) return
      const flags = [input.flag, input.fileFlag].filter(Boolean).join(' or ')
      reporter.info(`(On the command line, input '${input.name}' is ${flags}, or ${input.env}.)`)
    },
  }
}

export interface CliIo {
  readonly stdout: TextSink
  readonly stderr: TextSink
  readonly env: NodeJS.ProcessEnv
  readonly readText?: ReadText
}

/** The whole tool: returns the exit code (see EXIT). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: CommandLine
  try {
    command = parseCommandLine(argv, io.env, io.readText)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr.write(
      `commento-deploy: ${error.message}\nRun \`commento-deploy --help\` for the modes and flags.\n`,
    )
    return EXIT.usage
  }
  if (command.kind === 'help') {
    io.stdout.write(helpText())
    return EXIT.success
  }
  if (command.kind === 'version') {
    io.stdout.write(`commento-deploy ${VERSION}\n`)
    return EXIT.success
  }
  const reporter = terminalReporter({
    log: io.stderr,
    result: io.stdout,
    color: io.env.NO_COLOR ? 'never' : 'auto',
    debug: command.debug,
  })
  for (const warning of command.warnings) reporter.warning(warning)
  const values = command.values
  const code = await runWith((name) => values[name] ?? '', withFlagHints(reporter), io.env)
  reporter.finish()
  return code === 0 ? EXIT.success : EXIT.failed
}

// Runs when executed (dist/cli.cjs, as the `commento-deploy` bin); importing this module runs nothing.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // `commento-deploy check ... | head -1` closes the pipe early: not an error of the run.
    if (error.code !== 'EPIPE') throw error
  })
  runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`commento-deploy: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exitCode = EXIT.failed
    },
  )
}
