import { InputError } from './input-error.js'
import type { CommentoSetting } from './settings.js'

/** Settings Commento (and Commento++) read, without the COMMENTO_ prefix (REFERENCE.md, "Commento"). */
const KNOWN = new Set([
  'MAX_IDLE_PG_CONNECTIONS',
  'CDN_PREFIX',
  'FORBID_NEW_OWNERS',
  'STATIC',
  'CONFIG_FILE',
  'SMTP_HOST',
  'SMTP_PORT',
  'SMTP_USERNAME',
  'SMTP_PASSWORD',
  'SMTP_FROM_ADDRESS',
  'SMTP_SKIP_HOST_VERIFY',
  'AKISMET_KEY',
  'GOOGLE_KEY',
  'GOOGLE_SECRET',
  'GITHUB_KEY',
  'GITHUB_SECRET',
  'TWITTER_KEY',
  'TWITTER_SECRET',
  'GITLAB_KEY',
  'GITLAB_SECRET',
  'GITLAB_URL',
  'SSL',
  'SSL_CERT',
  'SSL_KEY',
  'ENABLE_LOGGING',
  'ENABLE_WILDCARDS',
])
const KNOWN_PREFIXES = ['PERSPECTIVE_']

/** Settings the deploy itself owns: letting users set them would break the stack's wiring. */
const MANAGED: Record<string, string> = {
  ORIGIN: "it is set from input 'domain'",
  POSTGRES: "it is set from input 'postgres-password' and the stack's database service",
  PORT: 'nginx proxies to the port the stack sets',
  BIND_ADDRESS: 'the stack binds Commento to its private network',
}

const SECRET_NAME = /KEY|SECRET|PASSWORD|TOKEN/

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const NON_PRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f]/

export interface ParsedCommentoEnv {
  readonly settings: readonly CommentoSetting[]
  readonly warnings: readonly string[]
}

function lineError(line: number, message: string): InputError {
  return new InputError('commento-env', `Input 'commento-env' line ${line}: ${message}`)
}

/** Parses `COMMENTO_NAME=value` lines; blank lines and `#` comments are allowed. */
export function parseCommentoEnv(raw: string): ParsedCommentoEnv {
  const settings: CommentoSetting[] = []
  const warnings: string[] = []
  const seen = new Set<string>()
  raw
    .replace(/\r\n/g, '\n')
    .split('\n')
    .forEach((text, index) => {
      const line = index + 1
      if (text.trim() === '' || text.trim().startsWith('#')) return
      const eq = text.indexOf('=')
      const name = (eq < 0 ? text : text.slice(0, eq)).trim()
      if (eq < 0 || !/^COMMENTO_[A-Z0-9_]+$/.test(name)) {
        const what = eq < 0 ? 'has no "="' : `has the name ${JSON.stringify(name.slice(0, 40))}`
        throw lineError(
          line,
          `${what}; expected COMMENTO_NAME=value with an upper-case name (a value cannot span lines, and # starts a comment line only at its beginning).`,
        )
      }
      const value = text.slice(eq + 1)
      const secret = SECRET_NAME.test(name)
      if (NON_PRINTABLE.test(value)) {
        throw lineError(
          line,
          `the value of ${name} ${secret ? `(hidden, ${value.length} characters) ` : ''}holds a NUL, line break or other control character; expected printable text.`,
        )
      }
      if (value.length > 4096)
        throw lineError(line, `the value of ${name} is ${value.length} characters long; at most 4096.`)
      const short = name.slice('COMMENTO_'.length)
      const managed = MANAGED[short]
      if (managed) throw lineError(line, `${name} cannot be set here: ${managed}.`)
      if (seen.has(name)) throw lineError(line, `${name} is set twice; keep one line for it.`)
      seen.add(name)
      if (!KNOWN.has(short) && !KNOWN_PREFIXES.some((p) => short.startsWith(p))) {
        warnings.push(
          `commento-env line ${line}: ${name} is not a setting Commento or Commento++ is known to read (a typo?).`,
        )
      }
      settings.push(Object.freeze({ name, value, secret }))
    })
  return { settings, warnings }
}
