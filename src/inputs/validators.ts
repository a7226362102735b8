import { isIPv4, isIPv6 } from 'node:net'
import { domainToASCII, domainToUnicode } from 'node:url'
import { invalid } from './input-error.js'

// Bytes that must never reach a shell, a file or a log line through a value that is not free text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/

export function parseBoolean(input: string, value: string): boolean {
  // The same words core.getBooleanInput accepts (YAML 1.2 core schema booleans).
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw invalid(input, value, 'true or false')
}

export function parseInteger(input: string, value: string, min: number, max: number, unit = ''): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalid(input, value, `a whole number${unit} from ${min} to ${max}`)
  }
  return n
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** The reason a DNS name (already in ASCII form) is not valid, or undefined when it is. */
function dnsNameProblem(ascii: string): string | undefined {
  if (ascii.length > 253) return `it is ${ascii.length} characters long (at most 253)`
  const labels = ascii.split('.')
  for (const label of labels) {
    if (label.length === 0) return 'it has an empty label (two dots in a row, or a dot at an end)'
    if (label.length > 63)
      return `the label "${label.slice(0, 20)}…" is ${label.length} characters (at most 63)`
    if (!DNS_LABEL.test(label)) {
      return `the label "${label}" has characters other than letters, digits and inner hyphens`
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 'its last label is all digits'
  return undefined
}

const SCRIPTS = ['Latin', 'Cyrillic', 'Greek', 'Armenian', 'Cherokee'] as const

/** Labels that mix look-alike scripts (Latin "a" next to Cyrillic "а") are refused: a classic spoof. */
function mixedScripts(label: string): string[] {
  return SCRIPTS.filter((script) => new RegExp(`\\p{Script=${script}}`, 'u').test(label))
}

/** A DNS name as users type it (may be internationalised) → its ASCII form, or a clear error. */
export function parseDnsName(
  input: string,
  raw: string,
  what = 'a DNS name such as comments.example.com',
): string {
  const value = raw.trim()
  if (value === '') throw invalid(input, raw, what)
  if (CONTROL.test(value) || /\s/.test(value))
    throw invalid(input, raw, `${what}, without spaces or control characters`)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw invalid(input, raw, `${what}, without a scheme such as https://`)
  if (value.includes('/')) throw invalid(input, raw, `${what}, without a path`)
  if (value.includes('@')) throw invalid(input, raw, `${what}, without a user name`)
  if (value.includes(':')) throw invalid(input, raw, `${what}, without a port`)
  if (value.includes('*')) throw invalid(input, raw, `${what}, not a wildcard`)
  if (value.startsWith('-')) throw invalid(input, raw, `${what}; it must not start with '-'`)
  const trimmed = value.endsWith('.') ? value.slice(0, -1) : value
  for (const label of domainToUnicode(trimmed).split('.')) {
    const scripts = mixedScripts(label)
    if (scripts.length > 1) {
      throw invalid(
        input,
        raw,
        `${what}; the label "${label}" mixes ${scripts.join(' and ')} letters, which look alike`,
      )
    }
  }
  const ascii = domainToASCII(trimmed)
  if (ascii === '') throw invalid(input, raw, `${what}; it is not a valid internationalised name`)
  const problem = dnsNameProblem(ascii)
  if (problem) throw invalid(input, raw, `${what}; ${problem}`)
  return ascii
}

export function parseDomain(input: string, raw: string): string {
  const ascii = parseDnsName(input, raw)
  if (!ascii.includes('.')) {
    throw invalid(input, raw, 'a fully qualified DNS name such as comments.example.com (at least two labels)')
  }
  return ascii
}

export function parseHost(input: string, raw: string): string {
  const value = raw.trim()
  const unbracketed = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value
  if (isIPv4(unbracketed) || isIPv6(unbracketed)) return unbracketed
  return parseDnsName(
    input,
    raw,
    'a DNS name, an IPv4 or an IPv6 address (the port and user have inputs of their own)',
  )
}

export function parseUsername(input: string, raw: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(raw)) {
    throw invalid(
      input,
      raw,
      "a POSIX user name: lower-case letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters",
    )
  }
  return raw
}

// Directories whose contents belong to the system: deploying into them would mix our releases with it.
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
])

export function parseRemoteDir(input: string, raw: string): string {
  const expected =
    "an absolute path made of letters, digits, '.', '_', '-' and '/', such as /opt/commento (no '..', no spaces or shell characters)"
  if (!raw.startsWith('/') || !/^[A-Za-z0-9._/-]+$/.test(raw) || raw.length > 200)
    throw invalid(input, raw, expected)
  const segments = raw.split('/').filter((s) => s !== '')
  if (segments.some((s) => s === '..' || s === '.'))
    throw invalid(input, raw, `${expected}; '.' and '..' segments are not allowed`)
  if (segments.some((s) => s.startsWith('-')))
    throw invalid(input, raw, `${expected}; no segment may start with '-'`)
  const normal = `/${segments.join('/')}`
  if (SYSTEM_DIRS.has(normal))
    throw invalid(input, raw, `${expected}; ${normal} is a system directory, use a folder of its own`)
  return normal
}

export function parseEmail(input: string, raw: string): string {
  const value = raw.trim()
  const expected = 'an e-mail address such as admin@example.com'
  const at = value.lastIndexOf('@')
  if (at <= 0 || value.length > 254 || CONTROL.test(value)) throw invalid(input, raw, expected)
  const local = value.slice(0, at)
  if (
    !/^[A-Za-z0-9.!#%&*+=?^_{|}~-]{1,64}$/.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..')
  ) {
    throw invalid(input, raw, `${expected}; the part before '@' has characters an address cannot have`)
  }
  // certbot gets it as `--email VALUE`: a value that starts like an option would be read as one.
  if (local.startsWith('-')) throw invalid(input, raw, `${expected}; it must not start with '-'`)
  const domain = parseDnsName(input, value.slice(at + 1), expected)
  if (!domain.includes('.'))
    throw invalid(input, raw, `${expected}; the domain after '@' needs at least two labels`)
  return `${local}@${domain}`
}

// A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest], lower-case path components.
const IMAGE =
  /^(?:(?<registry>[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::\d{1,5})?)\/)?(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/

export interface ImageReference {
  readonly reference: string
  readonly tag?: string
  readonly digest?: string
}

export function parseImage(input: string, raw: string): ImageReference {
  const value = raw.trim()
  const match = IMAGE.exec(value)
  if (!match || value.length > 255) {
    throw invalid(input, raw, 'an image reference such as postgres:17-alpine or ghcr.io/owner/name:v1.2.3')
  }
  const { tag, digest } = match.groups ?? {}
  if (!tag && !digest) {
    throw invalid(
      input,
      raw,
      'an image reference pinned by a tag or digest, such as postgres:17-alpine (an untagged image changes under you)',
    )
  }
  if (tag === 'latest' && !digest) {
    throw invalid(input, raw, "an image pinned to a version; 'latest' changes under you, name a version tag")
  }
  return { reference: value, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) }
}

/** Free text that ends up in a file or a protocol field: anything printable, but no NUL or line breaks. */
export function parseFreeText(input: string, raw: string, maxLength: number, secret: boolean): string {
  if (raw.length > maxLength) throw invalid(input, raw, `at most ${maxLength} characters`, secret)
  if (CONTROL.test(raw))
    throw invalid(input, raw, 'text without line breaks, NUL or other control characters', secret)
  return raw
}

export { CONTROL }
