// The command-line tool in-process: flags and environment against action.yml, --help, exit codes,
// usage errors, and input errors that read exactly as the action's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import {
  CLI_INPUTS,
  type CommandLine,
  EXIT,
  envName,
  helpText,
  parseCommandLine,
  runCli,
  TOOL_FLAGS,
  VERSION,
} from '../../src/cli.js'
import { INPUTS, MODES, OUTPUTS } from '../../src/inputs/input-definitions.js'
import { InputError } from '../../src/inputs/input-error.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { repoRoot } from '../helpers/paths.js'
import { type KeyPair, makeKeyPair } from '../helpers/ssh-keys.js'

const action = parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { default?: string }>
  outputs: Record<string, unknown>
}

let dir: string
let key: KeyPair
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cd-cli-'))
  key = makeKeyPair('ed25519')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): CommandLine {
  return parseCommandLine(argv, env)
}

function values(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const command = run(argv, env)
  if (command.kind !== 'run') throw new Error(`expected a run, got ${command.kind}`)
  return command
}

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    run(argv, env)
  } catch (error) {
    if (error instanceof Error && error.name === 'UsageError') return error.message
    throw error
  }
  throw new Error('expected a UsageError')
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await runCli(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env,
  })
  return { code, stdout: out.join(''), stderr: err.join('') }
}

describe('flags and environment variables mirror action.yml', () => {
  it('has one flag and one variable per input of action.yml, named from it, and nothing else', () => {
    const names = Object.keys(action.inputs)
    expect(CLI_INPUTS.map((i) => i.name)).toEqual(names)
    for (const input of CLI_INPUTS) {
      expect(input.flag).toBe(`--${input.name}`)
      expect(input.env).toBe(`COMMENTO_DEPLOY_${input.name.toUpperCase().replace(/-/g, '_')}`)
      expect(envName(input.name)).toBe(input.env)
      const def = INPUTS.find((d) => d.name === input.name)
      expect(input.secret).toBe(def?.secret === true)
      expect(input.boolean).toBe(['true', 'false'].includes(action.inputs[input.name]?.default ?? ''))
      // Every secret can come from a file, so that it need not be typed on the command line.
      if (input.secret) {
        expect(input.fileFlag).toBe(`${input.flag}-file`)
        expect(input.fileEnv).toBe(`${input.env}_FILE`)
      }
    }
    const flags = CLI_INPUTS.flatMap((i) => [i.flag, i.fileFlag].filter(Boolean))
    const envs = CLI_INPUTS.flatMap((i) => [i.env, i.fileEnv].filter(Boolean))
    expect(new Set([...flags, ...TOOL_FLAGS]).size).toBe(flags.length + TOOL_FLAGS.length)
    expect(new Set(envs).size).toBe(envs.length)
  })

  it('--help names every flag, variable, default and required mode, every output, and the exit codes', () => {
    const help = helpText()
    const helpFlags = new Set(help.match(/--[a-z][a-z-]+/g))
    const helpEnv = new Set(help.match(/COMMENTO_DEPLOY_[A-Z_]+/g))
    for (const input of CLI_INPUTS) {
      expect(helpFlags).toContain(input.flag)
      expect(helpEnv).toContain(input.env)
      if (input.fileFlag) expect(helpFlags).toContain(input.fileFlag)
      if (input.fileEnv) expect(helpEnv).toContain(input.fileEnv)
    }
    // Nothing in --help that the tool does not read.
    const known = new Set(CLI_INPUTS.flatMap((i) => [i.flag, i.fileFlag, i.env, i.fileEnv]))
    // (--flag is the placeholder of the usage line.)
    for (const flag of helpFlags) expect([...known, ...TOOL_FLAGS, '--flag']).toContain(flag)
    for (const env of helpEnv) expect([...known]).toContain(env)
    const flat = help.replace(/\s+/g, ' ')
    for (const def of INPUTS) {
      expect(flat).toContain(def.description.replace(/\s+/g, ' '))
      if (def.default && def.name !== 'mode') expect(flat).toContain(def.default)
      if (def.requiredFor && def.requiredFor.length < MODES.length)
        expect(flat).toContain(`Required for ${def.requiredFor.join(', ')}.`)
    }
    for (const output of Object.keys(action.outputs)) expect(help).toMatch(new RegExp(`^  ${output} `, 'm'))
    expect(OUTPUTS.map((o) => o.name)).toEqual(Object.keys(action.outputs))
    for (const mode of MODES) expect(help).toMatch(new RegExp(`^  ${mode} `, 'm'))
    expect(help).toMatch(/^ {2}0 {2}the run succeeded/m)
    expect(help).toMatch(/^ {2}1 {2}the run failed/m)
    expect(help).toMatch(/^ {2}2 {2}usage error: unknown flag or mode/m)
    expect(help.split('\n').every((line) => line.length <= 100)).toBe(true)
  })
})

describe('reading the command line', () => {
  it('takes the mode from the first argument or --mode, and each input from its flag', () => {
    const command = values([
      'plan',
      '--host',
      'vps.example.com',
      '--domain=comments.example.com',
      '--remote-dir',
      '/srv/commento',
      '--staging',
      '--backup=false',
    ])
    expect(command.mode).toBe('plan')
    expect(command.values).toEqual({
      mode: 'plan',
      host: 'vps.example.com',
      domain: 'comments.example.com',
      'remote-dir': '/srv/commento',
      staging: 'true',
      backup: 'false',
    })
    expect(command.warnings).toEqual([])
    expect(values(['--mode', 'check']).mode).toBe('check')
    expect(values(['check', '--mode', 'check']).mode).toBe('check')
    expect(values(['check', '--debug']).debug).toBe(true)
  })

  it('reads COMMENTO_DEPLOY_* variables; a flag wins over its variable', () => {
    const command = values(['deploy', '--port', '2222'], {
      COMMENTO_DEPLOY_HOST: 'vps.example.com',
      COMMENTO_DEPLOY_PORT: '22',
      COMMENTO_DEPLOY_REMOTE_DIR: '/srv/c',
      COMMENTO_DEPLOY_STAGING: 'true',
      COMMENTO_DEPLOY_EMAIL: '',
    })
    expect(command.values).toEqual({
      mode: 'deploy',
      host: 'vps.example.com',
      port: '2222',
      'remote-dir': '/srv/c',
      staging: 'true',
    })
    expect(values([], { COMMENTO_DEPLOY_MODE: 'check' }).mode).toBe('check')
  })

  it('reads secrets and host keys from files (flag or variable), without their trailing line breaks', () => {
    const keyFile = file('id_ed25519', key.privateKey)
    const passwordFile = file('password', 'correct horse\r\n\n')
    const hostKeyFile = file('known_hosts', `vps.example.com ${key.publicKey}`)
    const command = values(['deploy', '--private-key-file', keyFile, `--host-key-file=${hostKeyFile}`], {
      COMMENTO_DEPLOY_PASSWORD_FILE: passwordFile,
    })
    expect(command.values['private-key']).toBe(key.privateKey.replace(/\n$/, ''))
    expect(command.values.password).toBe('correct horse')
    expect(command.values['host-key']).toBe(`vps.example.com ${key.publicKey.trimEnd()}`)
    expect(command.warnings).toEqual([])
  })

  it('warns when a secret is typed as a flag, and about COMMENTO_DEPLOY_* variables it does not read', () => {
    const command = values(['deploy', '--password', 'hunter2hunter2'], { COMMENTO_DEPLOY_HOTS: 'x' })
    expect(command.values.password).toBe('hunter2hunter2')
    expect(command.warnings).toEqual([
      '--password puts a secret on the command line, where shell history and `ps` keep it: use --password-file PATH or the environment variable COMMENTO_DEPLOY_PASSWORD instead.',
      'The environment variable COMMENTO_DEPLOY_HOTS is not one commento-deploy reads (a typo?); `commento-deploy --help` lists them.',
    ])
    expect(command.warnings.join('\n')).not.toContain('hunter2')
  })

  it('answers --help and --version whatever else is on the line', () => {
    expect(run(['deploy', '--nope', '--help'])).toEqual({ kind: 'help' })
    expect(run(['-h'])).toEqual({ kind: 'help' })
    expect(run(['--version'])).toEqual({ kind: 'version' })
  })

  it.each<[string, string[], NodeJS.ProcessEnv, string]>([
    [
      'no mode',
      ['--host', 'vps.example.com'],
      {},
      'Name a mode: commento-deploy <deploy|check|plan|rollback> [--flag value ...] (or set COMMENTO_DEPLOY_MODE).',
    ],
    ['unknown mode', ['deploi'], {}, 'Unknown mode "deploi": expected one of deploy, check, plan, rollback.'],
    [
      'unknown mode from the environment',
      [],
      { COMMENTO_DEPLOY_MODE: 'status' },
      'Unknown mode "status": expected one of deploy, check, plan, rollback.',
    ],
    [
      'two modes',
      ['deploy', '--mode', 'plan'],
      {},
      'The mode is given twice, as "deploy" and --mode "plan"; give it once.',
    ],
    ['unknown flag', ['deploy', '--hots', 'x'], {}, 'Unknown option --hots. Did you mean --host?'],
    [
      'snake_case flag',
      ['deploy', '--private_key', 'x'],
      {},
      'Unknown option --private_key. Did you mean --private-key?',
    ],
    ['unknown short flag', ['deploy', '-p', '22'], {}, 'Unknown option -p.'],
    ['far-off flag', ['deploy', '--frobnicate'], {}, 'Unknown option --frobnicate.'],
    ['flag without value', ['deploy', '--host'], {}, '--host needs a value: --host VALUE.'],
    [
      'file flag without path',
      ['deploy', '--password-file'],
      {},
      '--password-file needs a value: --password-file PATH.',
    ],
    [
      'flag followed by a flag',
      ['deploy', '--port', '--host', 'x'],
      {},
      `--port is followed by the option "--host" instead of its value; write --port=VALUE for a value that starts with '-'.`,
    ],
    [
      'secret followed by a flag',
      ['deploy', '--password', '-secret-'],
      {},
      `--password is followed by (hidden, 8 characters) instead of its value; write --password=VALUE for a value that starts with '-'.`,
    ],
    ['flag twice', ['deploy', '--host', 'a', '--host', 'b'], {}, '--host is given twice; give it once.'],
    [
      'flag and file flag',
      ['deploy', '--password', 'a', '--password-file', '/dev/null'],
      {},
      "--password and --password-file both give input 'password'; give one of them.",
    ],
    [
      'value and file variable',
      ['deploy'],
      { COMMENTO_DEPLOY_PASSWORD: 'x', COMMENTO_DEPLOY_PASSWORD_FILE: '/dev/null' },
      'COMMENTO_DEPLOY_PASSWORD and COMMENTO_DEPLOY_PASSWORD_FILE are both set; set one of them.',
    ],
    [
      'extra argument',
      ['deploy', 'vps.example.com'],
      {},
      'Unexpected argument "vps.example.com": the mode is the only argument; everything else is a --flag (values with spaces need quotes).',
    ],
    [
      'missing file',
      ['deploy', '--private-key-file', '/nonexistent/id_ed25519'],
      {},
      'Cannot read --private-key-file "/nonexistent/id_ed25519": there is no such file.',
    ],
    [
      'a directory',
      ['deploy', '--host-key-file', '/'],
      {},
      'Cannot read --host-key-file "/": it is a directory, not a file.',
    ],
    [
      'missing file from a variable',
      ['deploy'],
      { COMMENTO_DEPLOY_GITHUB_TOKEN_FILE: '/nonexistent/token' },
      'Cannot read COMMENTO_DEPLOY_GITHUB_TOKEN_FILE "/nonexistent/token": there is no such file.',
    ],
    ['empty path', ['deploy', '--password-file='], {}, '--password-file is empty: give the path of a file.'],
    ['value for --debug', ['deploy', '--debug=yes'], {}, '--debug takes no value.'],
  ])('usage error: %s', (_name, argv, env, message) => {
    expect(usageError(argv, env)).toBe(message)
  })
})

describe('runCli', () => {
  it('prints --help and --version on standard output with exit code 0', async () => {
    const help = await cli(['--help'])
    expect(help).toEqual({ code: EXIT.success, stdout: helpText(), stderr: '' })
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `commento-deploy ${VERSION}\n`, stderr: '' })
    expect(VERSION).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version)
  })

  it('stops at a usage error with exit code 2, the reason and where to look', async () => {
    const result = await cli(['deploy', '--hots', 'vps.example.com'])
    expect(result).toEqual({
      code: EXIT.usage,
      stdout: '',
      stderr:
        'commento-deploy: Unknown option --hots. Did you mean --host?\nRun `commento-deploy --help` for the modes and flags.\n',
    })
    expect(EXIT).toEqual({ success: 0, failed: 1, usage: 2 })
  })

  // The same raw values through the action's parser and through the command line: the same message.
  it.each<[string, string[], NodeJS.ProcessEnv, Record<string, string>]>([
    [
      'a port that is not a number',
      ['check', '--domain', 'comments.example.com', '--host', 'vps.example.com', '--port', 'ssh'],
      { COMMENTO_DEPLOY_PASSWORD: 'hunter2hunter2' },
      {
        mode: 'check',
        domain: 'comments.example.com',
        host: 'vps.example.com',
        port: 'ssh',
        password: 'hunter2hunter2',
      },
    ],
    [
      'a missing host',
      ['deploy', '--domain', 'comments.example.com', '--email', 'admin@example.com'],
      {},
      { mode: 'deploy', domain: 'comments.example.com', email: 'admin@example.com' },
    ],
    [
      'a domain with a scheme, from the environment',
      ['check'],
      { COMMENTO_DEPLOY_DOMAIN: 'https://comments.example.com' },
      { mode: 'check', domain: 'https://comments.example.com' },
    ],
    [
      'a boolean that is not one',
      ['check', '--domain', 'comments.example.com', '--staging=yes'],
      {},
      { mode: 'check', domain: 'comments.example.com', staging: 'yes' },
    ],
  ])('an input error reads as the action says it: %s (exit code 1)', async (_name, argv, env, inputs) => {
    let expected = ''
    try {
      parseInputs((name) => inputs[name] ?? '', {})
    } catch (error) {
      if (error instanceof InputError) expected = error.message
    }
    expect(expected).toMatch(/^Input '/)
    const result = await cli(argv, env)
    expect(result.code).toBe(EXIT.failed)
    const input = expected.match(/^Input '([a-z-]+)'/)?.[1] ?? ''
    expect(result.stderr).toBe(
      `error: ${expected}\n(On the command line, input '${input}' is --${input}, or ${envName(input)}.)\n`,
    )
    expect(result.stdout).toBe('')
  })

  it('never prints a secret, whichever way it came in', async () => {
    const pw = file('pw', 'hunter2hunter2\n')
    const keyFile = file('key', key.privateKey)
    const result = await cli(
      [
        'deploy',
        '--debug',
        '--password-file',
        pw,
        '--private-key-file',
        keyFile,
        '--postgres-password',
        'short',
      ],
      {
        COMMENTO_DEPLOY_COMMENTO_ENV: 'COMMENTO_SMTP_PASSWORD=smtp-secret-value\nCOMMENTO_BAD=\u0007x',
        COMMENTO_DEPLOY_HOST: 'vps.example.com',
      },
    )
    const everything = result.stdout + result.stderr
    expect(result.code).toBe(EXIT.failed)
    for (const secret of ['hunter2hunter2', 'smtp-secret-value', ...key.privateKey.trim().split('\n')])
      expect(everything).not.toContain(secret)
    expect(result.stderr).toContain('warning: --postgres-password puts a secret on the command line')
  })
})
