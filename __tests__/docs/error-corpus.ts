// The messages a newcomer meets, produced by the real code: bad inputs (the action's and the command
// line's), SSH failures. README.md's troubleshooting table must list every one of them, and every row of
// that table must match one of them (readme.test.ts). A module that adds messages adds cases here.

import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { parseCommandLine } from '../../src/cli.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { remoteFailureMessage } from '../../src/modes/remote-session.js'
import { emptyOutcome } from '../../src/remote/remote-events.js'
import type { RemotePlan } from '../../src/remote/remote-script.js'
import type { Reporter } from '../../src/report/reporter.js'
import { authFailureMessage } from '../../src/ssh/auth-plan.js'
import { connectSsh } from '../../src/ssh/connect-ssh.js'
import { hostKeyMismatchMessage, hostKeyUnknownMessage } from '../../src/ssh/host-key-check.js'
import { repoRoot } from '../helpers/paths.js'
import { type KeyPair, makeKeyPair } from '../helpers/ssh-keys.js'

export interface CorpusMessage {
  /** What produced it, for a failing test's output. */
  readonly case: string
  readonly message: string
}

function inputs(key: KeyPair, overrides: Record<string, string>): Record<string, string> {
  return {
    mode: 'deploy',
    host: 'vps.example.com',
    domain: 'comments.example.com',
    email: 'admin@example.com',
    'private-key': key.privateKey,
    ...overrides,
  }
}

/** Raw inputs that each stop a run (or warn) before anything touches the server. */
function inputCases(key: KeyPair, encrypted: KeyPair): Array<[string, Record<string, string>]> {
  return [
    ['missing host', { host: '' }],
    ['missing domain in check', { mode: 'check', domain: '' }],
    ['missing email', { email: '' }],
    ['unknown mode', { mode: 'deploy-now' }],
    ['host with scheme', { host: 'ssh://vps.example.com' }],
    ['host with user', { host: 'root@vps.example.com' }],
    ['host with port', { host: 'vps.example.com:2222' }],
    ['host option-like', { host: '-oProxyCommand=sh' }],
    ['domain with scheme', { domain: 'https://comments.example.com' }],
    ['domain with path', { domain: 'comments.example.com/blog' }],
    ['domain wildcard', { domain: '*.example.com' }],
    ['domain single label', { domain: 'localhost' }],
    ['domain confusable', { domain: 'pаypal.com' }],
    ['email without at', { email: 'admin.example.com' }],
    ['email bare domain', { email: 'admin@localhost' }],
    ['port not a number', { port: 'ssh' }],
    ['keep-releases zero', { 'keep-releases': '0' }],
    ['wait-timeout float', { 'wait-timeout': '1.5' }],
    ['boolean yes', { staging: 'yes' }],
    ['username upper case', { username: 'Admin' }],
    ['remote-dir relative', { 'remote-dir': 'opt/commento' }],
    ['remote-dir system', { 'remote-dir': '/etc/' }],
    ['image untagged', { 'commento-image': 'registry.gitlab.com/commento/commento' }],
    ['image latest', { 'postgres-image': 'postgres:latest' }],
    ['no credentials', { 'private-key': '' }],
    ['public key as private key', { 'private-key': key.publicKey }],
    ['key on one line', { 'private-key': key.privateKey.trim().replace(/\n/g, ' ') }],
    ['key cut in the middle', { 'private-key': cutKey(key.privateKey) }],
    ['encrypted key without passphrase', { 'private-key': encrypted.privateKey }],
    ['wrong passphrase', { 'private-key': encrypted.privateKey, passphrase: 'wrong horse' }],
    ['host-key MD5', { 'host-key': '16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }],
    ['host-key garbage', { 'host-key': 'hello' }],
    ['host-key only comments', { 'host-key': '# nothing\n' }],
    ['env bad name', { 'commento-env': 'SMTP_HOST=x' }],
    ['env managed origin', { 'commento-env': 'COMMENTO_ORIGIN=https://evil.example' }],
    ['env duplicate', { 'commento-env': 'COMMENTO_STATIC=/a\nCOMMENTO_STATIC=/b' }],
    ['postgres-password short', { 'postgres-password': 'short' }],
    ['password with a line break', { password: 'line-one\nline-two' }],
    ['report-issue without token', { 'report-issue': 'true' }],
  ]
}

function cutKey(privateKey: string): string {
  const lines = privateKey.trim().split('\n')
  return [lines[0], lines[1], lines[lines.length - 1]].join('\n')
}

/** Warnings a run prints and goes on. */
function warningCases(key: KeyPair): Array<[string, Record<string, string>]> {
  return [
    ['unknown commento-env setting', { 'commento-env': 'COMMENTO_FORBID_NEW_OWNER=true' }],
    ['secret too short to mask', { password: 'abc', 'private-key': key.privateKey }],
  ]
}

const CLI_CASES: Array<[string, string[], NodeJS.ProcessEnv]> = [
  ['unknown flag', ['deploy', '--hots', 'x'], {}],
  ['no mode', ['--host', 'vps.example.com'], {}],
  ['unknown mode', ['deploi'], {}],
  ['missing file', ['deploy', '--private-key-file', '/nonexistent/id_ed25519'], {}],
]

const silent: Reporter = {
  info: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  setSecret: () => undefined,
  setOutput: () => undefined,
  group: (_title, work) => work(),
  summary: async () => undefined,
  setFailed: () => undefined,
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/**
 * The server side's failures, as the runner reports them: every `fail "…"`, `step "…"` and
 * `images_outcome "…"` (a pull or build that failed, or did not finish in time) of remote.sh
 * (shell expansions filled with a sample value), through remoteFailureMessage; and the runner's own
 * readings of a remote run that ended early (sudo refused, connection cut).
 */
function remoteCases(): CorpusMessage[] {
  const script = readFileSync(join(repoRoot, 'src', 'remote', 'remote.sh'), 'utf8')
  const sample = (text: string) => text.replace(/\$\([^)]*\)|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, 'X')
  const messages = [
    ...[...script.matchAll(/\bfail "([^"$][^"]*)"/g)].map((m) => m[1] as string),
    ...[...script.matchAll(/\bmessage="([^"]*)"/g)].map((m) => m[1] as string),
    ...[...script.matchAll(/\bstep "([^"]*)"/g)].map((m) => `${m[1]} failed`),
    ...[...script.matchAll(/\bimages_outcome "([^"]*)"/g)].flatMap((m) => {
      const timedOut = /fail "\$1 (did not finish within [^"]*)"/.exec(script)?.[1]
      if (!timedOut) throw new Error('remote.sh: images_outcome has no timeout message')
      return [`${m[1]} failed`, `${m[1]} ${timedOut}`]
    }),
  ]
  const plan = { mode: 'deploy', username: 'deployer' } as RemotePlan
  const corpus = messages.map((text) => {
    const outcome = emptyOutcome()
    outcome.failure = { phase: 'preflight', exitCode: 1, command: 'X', output: ['X'], message: sample(text) }
    const message = remoteFailureMessage({ outcome, exitCode: 1, signal: null, stderr: '' }, plan) as string
    return { case: `server: ${text.slice(0, 40)}`, message }
  })
  for (const [name, stderr, exitCode] of [
    ['sudo asks for a password', 'sudo: a password is required', 1],
    ['no sudo', 'bash: line 1: sudo: command not found', 127],
    ['connection cut', 'the connection to the server was lost', null],
    ['remote script killed', 'Killed', 137],
  ] as const) {
    const message = remoteFailureMessage(
      { outcome: emptyOutcome(), exitCode, signal: null, stderr },
      plan,
    ) as string
    corpus.push({ case: `server: ${name}`, message })
  }
  return corpus
}

export async function errorCorpus(): Promise<CorpusMessage[]> {
  const key = makeKeyPair('ed25519')
  const other = makeKeyPair('ed25519')
  const encrypted = makeKeyPair('ed25519', 'correct horse')
  const corpus: CorpusMessage[] = [...remoteCases()]

  for (const [name, overrides] of inputCases(key, encrypted)) {
    try {
      parseInputs((input) => inputs(key, overrides)[input] ?? '', {})
      throw new Error(`input case '${name}' did not fail`)
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'InputError') throw error
      corpus.push({ case: `input: ${name}`, message: error.message })
    }
  }
  for (const [name, overrides] of warningCases(key)) {
    const { warnings } = parseInputs((input) => inputs(key, overrides)[input] ?? '', {})
    if (warnings.length === 0) throw new Error(`warning case '${name}' did not warn`)
    for (const message of warnings) corpus.push({ case: `warning: ${name}`, message })
  }

  for (const [name, argv, env] of CLI_CASES) {
    try {
      parseCommandLine(argv, env)
      throw new Error(`command line case '${name}' did not fail`)
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'UsageError') throw error
      corpus.push({ case: `command line: ${name}`, message: error.message })
    }
  }
  const secretFlag = parseCommandLine(['deploy', '--password', 'hunter2hunter2'], {})
  if (secretFlag.kind === 'run')
    for (const message of secretFlag.warnings) corpus.push({ case: 'command line: secret flag', message })

  const [type, base64] = other.publicKey.split(' ') as [string, string]
  const presented = { type, fingerprint: other.fingerprint, base64 }
  const pin = { fingerprints: [key.fingerprint], source: '1 key line' }
  corpus.push(
    { case: 'ssh: no host key pinned', message: hostKeyUnknownMessage('vps.example.com', 22, presented) },
    {
      case: 'ssh: host key mismatch',
      message: hostKeyMismatchMessage('vps.example.com', 22, pin, [presented]),
    },
    {
      case: 'ssh: key refused',
      message: authFailureMessage(
        { host: 'vps.example.com', port: 22, username: 'root', privateKey: key.privateKey },
        { tried: ['publickey'], unanswerablePrompts: false },
        key.fingerprint,
      ),
    },
    {
      case: 'ssh: password refused',
      message: authFailureMessage(
        { host: 'vps.example.com', port: 22, username: 'deploy', password: 'x' },
        { tried: ['password'], unanswerablePrompts: false },
      ),
    },
  )
  // A real refused connection: nothing listens on a port that was just free.
  const port = await freePort()
  try {
    await connectSsh(
      { host: '127.0.0.1', port, username: 'root', password: 'x', insecureIgnoreHostKey: false },
      { reporter: silent, retry: { retries: 0, minTimeoutMs: 10 } },
    )
    throw new Error('connecting to a closed port succeeded')
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'SshError') throw error
    corpus.push({ case: 'ssh: connection refused', message: error.message })
  }
  return corpus
}
