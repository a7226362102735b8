import { parseCommentoEnv } from './commento-env.js'
import { parseHostKey } from './host-key.js'
import { INPUTS, type InputDefinition, MODES, type Mode } from './input-definitions.js'
import { InputError, invalid } from './input-error.js'
import { parsePrivateKey } from './private-key.js'
import type { RunContext, Settings, SshSettings } from './settings.js'
import {
  parseBoolean,
  parseDomain,
  parseEmail,
  parseFreeText,
  parseHost,
  parseImage,
  parseInteger,
  parseRemoteDir,
  parseUsername,
} from './validators.js'

/** Where raw input values come from: the runner's INPUT_* variables, or command-line flags. Absent → ''. */
export type InputSource = (name: string) => string

export interface ParsedInputs {
  readonly settings: Settings
  readonly warnings: readonly string[]
  /** Every secret value, to be masked before anything is printed. */
  readonly secrets: readonly string[]
}

// Values this short would star out ordinary words in every log line; they are not masked (and are warned about).
const MIN_MASKED_LENGTH = 4

function runContext(env: NodeJS.ProcessEnv): RunContext {
  const clean = (s: string | undefined) => (s ?? '').replace(/[^A-Za-z0-9._@/:+-]/g, '').slice(0, 200)
  const actor = clean(env.GITHUB_ACTOR) || clean(env.USER) || 'unknown'
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: runId } = env
  const runUrl = server && repo && runId ? clean(`${server}/${repo}/actions/runs/${runId}`) : ''
  return { actor, runUrl }
}

/**
 * Turns raw inputs into one frozen, typed settings object, or throws an InputError that names the input.
 * Nothing here touches the network.
 */
export function parseInputs(source: InputSource, env: NodeJS.ProcessEnv = process.env): ParsedInputs {
  const raw = (name: string): string => {
    const def: InputDefinition | undefined = INPUTS.find((d) => d.name === name)
    if (!def) throw new Error(`input ${name} is not defined`)
    const value = source(name)
    return value === '' ? (def.default ?? '') : value
  }
  const warnings: string[] = []
  const secrets: string[] = []

  const modeText = raw('mode').trim()
  if (!(MODES as readonly string[]).includes(modeText))
    throw invalid('mode', modeText, `one of ${MODES.join(', ')}`)
  const mode = modeText as Mode

  for (const def of INPUTS) {
    if (def.requiredFor?.includes(mode) && raw(def.name).trim() === '') {
      throw new InputError(
        def.name,
        `Input '${def.name}' is required for mode '${mode}': ${lowerFirst(def.description)}`,
      )
    }
  }

  const bool = (name: string) => parseBoolean(name, raw(name).trim())
  const int = (name: string, min: number, max: number, unit = '') =>
    parseInteger(name, raw(name).trim(), min, max, unit)
  const optional = (name: string) => {
    const value = raw(name)
    return value === '' ? undefined : value
  }

  const domain = parseDomain('domain', raw('domain'))
  const emailText = optional('email')
  const email = emailText === undefined ? undefined : parseEmail('email', emailText)
  const remoteDir = parseRemoteDir('remote-dir', raw('remote-dir').trim())
  const commentoImage = parseImage('commento-image', raw('commento-image')).reference
  const postgresImage = parseImage('postgres-image', raw('postgres-image')).reference
  const env_ = parseCommentoEnv(raw('commento-env'))
  warnings.push(...env_.warnings)
  const postgresPasswordText = optional('postgres-password')
  const postgresPassword =
    postgresPasswordText === undefined
      ? undefined
      : parseFreeText('postgres-password', postgresPasswordText, 200, true)
  if (postgresPassword !== undefined && postgresPassword.length < 12) {
    throw new InputError(
      'postgres-password',
      `Input 'postgres-password' (hidden, ${postgresPassword.length} characters) is too short: expected at least 12 characters, or leave it empty to have one generated on the server.`,
    )
  }
  // Outside a workflow the default `${{ github.token }}` arrives unexpanded: that is no token.
  const githubTokenText = optional('github-token')?.trim()
  const githubToken = githubTokenText?.startsWith('${{') ? undefined : githubTokenText

  const ssh = parseSsh(mode, raw, optional, bool, int)

  const settings: Settings = Object.freeze({
    mode,
    ...(ssh ? { ssh } : {}),
    domain,
    ...(email ? { email } : {}),
    remoteDir,
    commentoImage,
    postgresImage,
    commentoEnv: Object.freeze([...env_.settings]),
    ...(postgresPassword ? { postgresPassword } : {}),
    postgresUpgrade: bool('postgres-upgrade'),
    staging: bool('staging'),
    // Two years is the most browsers honour; a larger number is a mistake (milliseconds, say).
    hstsMaxAgeSeconds: int('hsts-max-age', 0, 63_072_000, ' of seconds'),
    force: bool('force'),
    keepReleases: int('keep-releases', 1, 100),
    backup: bool('backup'),
    rollbackOnFailure: bool('rollback-on-failure'),
    waitTimeoutSeconds: int('wait-timeout', 0, 3600, ' of seconds'),
    certMinDays: int('cert-min-days', 0, 365, ' of days'),
    lockWaitSeconds: int('lock-wait', 0, 3600, ' of seconds'),
    reportIssue: bool('report-issue'),
    ...(githubToken ? { githubToken } : {}),
    run: Object.freeze(runContext(env)),
  })
  if (settings.reportIssue && !settings.githubToken) {
    throw new InputError(
      'github-token',
      "Input 'github-token' is empty, and 'report-issue' is true: give a token with issues: write.",
    )
  }

  for (const value of [
    ssh?.privateKey,
    ssh?.passphrase,
    ssh?.password,
    postgresPassword,
    githubToken,
    ...settings.commentoEnv.filter((s) => s.secret).map((s) => s.value),
  ]) {
    if (value === undefined || value === '') continue
    if (value.length < MIN_MASKED_LENGTH) {
      warnings.push(
        `A secret of ${value.length} characters is too short to be masked in logs without hiding ordinary text.`,
      )
      continue
    }
    secrets.push(value)
    // The runner masks a multi-line value line by line only if each line is registered too.
    for (const line of value.split('\n'))
      if (line.trim().length >= MIN_MASKED_LENGTH) secrets.push(line.trim())
  }

  return Object.freeze({
    settings,
    warnings: Object.freeze(warnings),
    secrets: Object.freeze([...new Set(secrets)]),
  })
}

function parseSsh(
  mode: Mode,
  raw: (name: string) => string,
  optional: (name: string) => string | undefined,
  bool: (name: string) => boolean,
  int: (name: string, min: number, max: number) => number,
): SshSettings | undefined {
  const hostText = raw('host').trim()
  // `check` connects only to collect diagnostics, and only when a host is given.
  if (hostText === '' && mode === 'check') return undefined
  const host = parseHost('host', hostText)
  const port = int('port', 1, 65535)
  const username = parseUsername('username', raw('username').trim())
  const passphrase = optional('passphrase')
  const password = optional('password')
  if (passphrase !== undefined) parseFreeText('passphrase', passphrase, 1024, true)
  if (password !== undefined) parseFreeText('password', password, 1024, true)
  const keyText = optional('private-key')
  const privateKey = keyText === undefined ? undefined : parsePrivateKey(keyText, passphrase)
  if (!privateKey && !password) {
    throw new InputError(
      'private-key',
      `Input 'private-key' is empty, and so is 'password': mode '${mode}' with a host needs one of them to log in as ${username}.`,
    )
  }
  const hostKeyText = optional('host-key')
  const hostKey = hostKeyText === undefined ? undefined : parseHostKey(hostKeyText)
  const insecureIgnoreHostKey = bool('insecure-ignore-host-key')
  return Object.freeze({
    host,
    port,
    username,
    ...(privateKey ? { privateKey } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(password ? { password } : {}),
    ...(hostKey ? { hostKey } : {}),
    insecureIgnoreHostKey,
  })
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}
