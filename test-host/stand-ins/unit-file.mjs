// Reading a systemd unit file the way systemd does, as far as the stand-in `systemctl` needs: sections
// and keys (continuation lines, comments, an empty value resets a list), the service settings, and
// command lines (prefixes such as `-`, quoting, $VAR / ${VAR} and %-specifiers). Pure functions.

/**
 * @typedef {Record<string, Record<string, string[]>>} UnitSections
 * @typedef {{ path: string, argv: string[], ignoreFailure: boolean, raw: string }} ExecCommand
 * @typedef {{
 *   description: string, type: string, remainAfterExit: boolean, workingDirectory: string | undefined,
 *   workingDirectoryOptional: boolean, environment: Record<string, string>, environmentFiles: string[],
 *   user: string | undefined, group: string | undefined, requires: string[], wantedBy: string[],
 *   hasInstall: boolean, timeoutStartSec: number, timeoutStopSec: number,
 *   exec: Record<'ExecStartPre' | 'ExecStart' | 'ExecStartPost' | 'ExecReload' | 'ExecStop' | 'ExecStopPost', string[]>
 * }} ServiceSettings
 */

const LIST_KEYS = new Set([
  'ExecStartPre',
  'ExecStart',
  'ExecStartPost',
  'ExecReload',
  'ExecStop',
  'ExecStopPost',
  'Environment',
  'EnvironmentFile',
  'Requires',
  'Wants',
  'After',
  'Before',
  'BindsTo',
  'WantedBy',
  'RequiredBy',
])

/**
 * @param {string} text
 * @returns {UnitSections}
 */
export function parseUnitFile(text) {
  /** @type {UnitSections} */
  const sections = {}
  /** @type {Record<string, string[]> | undefined} */
  let current
  const lines = text.replace(/\r\n?/g, '\n').split('\n')
  for (let i = 0; i < lines.length; i++) {
    let line = /** @type {string} */ (lines[i]).trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i += 1
      const next = /** @type {string} */ (lines[i]).trim()
      if (next.startsWith('#') || next.startsWith(';')) continue
      line = `${line.slice(0, -1)} ${next}`
    }
    const section = /^\[([^\]]+)\]$/.exec(line)
    if (section) {
      const name = /** @type {string} */ (section[1])
      sections[name] ??= {}
      current = sections[name]
      continue
    }
    const eq = line.indexOf('=')
    if (eq <= 0 || !current) throw new Error(`not a unit file line: "${line}"`)
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1).trim()
    if (LIST_KEYS.has(key)) {
      if (value === '') current[key] = []
      else current[key] = [...(current[key] ?? []), value]
    } else {
      current[key] = [value]
    }
  }
  return sections
}

/** systemd's time spans, enough for TimeoutStartSec= (seconds, "1min 30s", "infinity"). @param {string | undefined} text */
export function parseTimeSpan(text, fallback = 90) {
  if (text === undefined || text === '') return fallback
  if (text === 'infinity') return Number.POSITIVE_INFINITY
  let total = 0
  const units = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600, '': 1 }
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|hr|h|)/g)) {
    total += Number(amount) * (units[/** @type {keyof typeof units} */ (unit)] ?? 1)
  }
  return total
}

/** Environment= assignments: space separated, each optionally quoted. @param {string} value */
export function parseEnvironmentAssignments(value) {
  /** @type {Record<string, string>} */
  const env = {}
  for (const word of splitWords(value)) {
    const eq = word.indexOf('=')
    if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1)
  }
  return env
}

/**
 * The [Service], [Unit] and [Install] settings the stand-in acts on.
 * @param {UnitSections} sections
 * @returns {ServiceSettings}
 */
export function serviceSettings(sections) {
  const unit = sections.Unit ?? {}
  const service = sections.Service ?? {}
  const install = sections.Install ?? {}
  const last = (/** @type {Record<string, string[]>} */ from, /** @type {string} */ key) => from[key]?.at(-1)
  const wd = last(service, 'WorkingDirectory')
  /** @type {Record<string, string>} */
  const environment = {}
  for (const value of service.Environment ?? [])
    Object.assign(environment, parseEnvironmentAssignments(value))
  const yes = (/** @type {string | undefined} */ value) => /^(1|yes|true|on)$/i.test(value ?? '')
  return {
    description: last(unit, 'Description') ?? '',
    type: last(service, 'Type') ?? (service.ExecStart ? 'simple' : 'oneshot'),
    remainAfterExit: yes(last(service, 'RemainAfterExit')),
    workingDirectory: wd?.replace(/^-/, ''),
    workingDirectoryOptional: wd?.startsWith('-') ?? false,
    environment,
    environmentFiles: service.EnvironmentFile ?? [],
    user: last(service, 'User'),
    group: last(service, 'Group'),
    requires: [...(unit.Requires ?? []), ...(unit.BindsTo ?? [])].flatMap((v) => v.split(/\s+/)),
    wantedBy: [...(install.WantedBy ?? []), ...(install.RequiredBy ?? [])].flatMap((v) => v.split(/\s+/)),
    hasInstall: Object.keys(install).length > 0,
    timeoutStartSec: parseTimeSpan(last(service, 'TimeoutStartSec') ?? last(service, 'TimeoutSec')),
    timeoutStopSec: parseTimeSpan(last(service, 'TimeoutStopSec') ?? last(service, 'TimeoutSec')),
    exec: {
      ExecStartPre: service.ExecStartPre ?? [],
      ExecStart: service.ExecStart ?? [],
      ExecStartPost: service.ExecStartPost ?? [],
      ExecReload: service.ExecReload ?? [],
      ExecStop: service.ExecStop ?? [],
      ExecStopPost: service.ExecStopPost ?? [],
    },
  }
}

/**
 * Words as systemd splits them: whitespace, "double" and 'single' quotes, C escapes.
 * @param {string} text
 * @returns {string[]}
 */
export function splitWords(text) {
  /** @type {string[]} */
  const words = []
  let word = ''
  let inWord = false
  /** @type {string | undefined} */
  let quote
  const escapes = { n: '\n', t: '\t', s: ' ', '\\': '\\', '"': '"', "'": "'", r: '\r', a: '\x07' }
  for (let i = 0; i < text.length; i++) {
    const c = /** @type {string} */ (text[i])
    if (c === '\\' && i + 1 < text.length) {
      const next = /** @type {string} */ (text[i + 1])
      word += escapes[/** @type {keyof typeof escapes} */ (next)] ?? next
      inWord = true
      i += 1
    } else if (quote) {
      if (c === quote) quote = undefined
      else word += c
    } else if (c === '"' || c === "'") {
      quote = c
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (quote) throw new Error(`unbalanced quotes in "${text}"`)
  if (inWord) words.push(word)
  return words
}

/**
 * Expands %-specifiers systemd knows for a plain (non-template) service.
 * @param {string} text
 * @param {string} unitName
 */
export function expandSpecifiers(text, unitName) {
  const prefix = unitName.replace(/\.[^.]+$/, '')
  /** @type {Record<string, string>} */
  const values = {
    n: unitName,
    N: prefix,
    p: prefix,
    P: prefix,
    i: '',
    I: '',
    h: '/root',
    u: 'root',
    '%': '%',
  }
  return text.replace(/%(.)/g, (whole, key) => {
    if (!(key in values)) throw new Error(`unsupported specifier ${whole} in "${text}"`)
    return /** @type {string} */ (values[key])
  })
}

/**
 * One Exec*= line as systemd runs it (no shell): prefixes, words, variables.
 * @param {string} line
 * @param {string} unitName
 * @param {Record<string, string>} env
 * @returns {ExecCommand}
 */
export function parseExecLine(line, unitName, env) {
  const prefixMatch = /^([-@:+!]*)/.exec(line)
  const prefixes = prefixMatch?.[1] ?? ''
  if (prefixes.includes('@')) throw new Error(`the @ prefix is not supported: "${line}"`)
  const body = expandSpecifiers(line.slice(prefixes.length), unitName)
  const expandVariables = !prefixes.includes(':')
  /** @type {string[]} */
  const argv = []
  for (const word of splitWords(body)) {
    if (word === ';') throw new Error(`several commands on one Exec line are not supported: "${line}"`)
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word)
    if (expandVariables && whole) {
      argv.push(...(env[/** @type {string} */ (whole[1])] ?? '').split(/\s+/).filter(Boolean))
    } else if (expandVariables) {
      argv.push(
        word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name) => (name ? (env[name] ?? '') : '$')),
      )
    } else {
      argv.push(word)
    }
  }
  const [path = '', ...args] = argv
  return { path, argv: [path, ...args], ignoreFailure: prefixes.includes('-'), raw: line }
}
