// A small reader of `.env` files with Compose v2's rules (compose-go 2, dotenv/parser.go and the
// variable expansion it applies), to prove that Compose reads back what the renderer wrote.
// Deliberately written from those rules, not from the renderer: it must be able to disagree.

/** compose-go's escapes in double-quoted values: `\\`, `\"`, `\$`, the C ones, and `\0` octal. */
const ESCAPE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g
const C_ESCAPES: Record<string, string> = {
  a: '\u0007',
  b: '\b',
  c: '\\c',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '"': '"',
  '\\': '\\',
}

function expandEscapes(text: string): string {
  return text.replace(ESCAPE, (match) => {
    if (match === '\\$') return '$$'
    if (match.startsWith('\\0')) return String.fromCharCode(Number.parseInt(match.slice(2) || '0', 8))
    return C_ESCAPES[match.slice(1)] ?? match
  })
}

/** `$$` → `$`; `$NAME` and `${NAME}` → the value read so far (or ''). */
function expandVariables(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, dollar, braced, bare) => (dollar ? '$' : (vars.get(braced ?? bare) ?? '')),
  )
}

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === '\u0085' || c === '\u00a0'

/** Parses a `.env` text as Compose v2 does; throws on what Compose would reject. */
export function readDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>()
  let rest = text
  for (;;) {
    // Skip blank space and comment lines.
    rest = rest.replace(/^\s+/, '')
    if (rest === '') break
    if (rest.startsWith('#')) {
      const end = rest.indexOf('\n')
      if (end < 0) break
      rest = rest.slice(end)
      continue
    }
    rest = rest.replace(/^export\s+/, '')
    const keyMatch = /^([A-Za-z0-9_.\-[\]]+)[ \t]*[=:]/.exec(rest)
    if (!keyMatch)
      throw new Error(`unexpected text in a variable name near ${JSON.stringify(rest.slice(0, 20))}`)
    const key = keyMatch[1] as string
    rest = rest.slice(keyMatch[0].length)
    while (isSpace(rest[0])) rest = rest.slice(1)
    const quote = rest[0]
    if (quote === "'" || quote === '"') {
      let end = -1
      for (let i = 1; i < rest.length; i++) {
        if (rest[i] === quote && rest[i - 1] !== '\\') {
          end = i
          break
        }
      }
      if (end < 0) throw new Error(`unterminated quoted value for ${key}`)
      const raw = rest.slice(1, end)
      vars.set(key, quote === '"' ? expandVariables(expandEscapes(raw), vars) : raw)
      rest = rest.slice(end + 1)
    } else {
      const newline = rest.indexOf('\n')
      let value = newline < 0 ? rest : rest.slice(0, newline)
      rest = newline < 0 ? '' : rest.slice(newline)
      const comment = value.indexOf(' #')
      if (comment >= 0) value = value.slice(0, comment)
      vars.set(key, expandVariables(value.replace(/\s+$/, ''), vars))
    }
  }
  return vars
}
