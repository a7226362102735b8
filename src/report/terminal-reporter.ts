import type { Reporter } from './reporter.js'

/** Where the terminal reporter writes: process.stdout / process.stderr, or a test's collector. */
export interface TextSink {
  write(text: string): unknown
  readonly isTTY?: boolean
}

export interface TerminalReporterOptions {
  /** Progress, group headings, warnings, errors: what a person watches (the CLI gives stderr). */
  readonly log: TextSink
  /** The summary and the `name=value` outputs at the end: what a script reads (the CLI gives stdout). */
  readonly result: TextSink
  /** 'auto' colours a sink only when it is a terminal. */
  readonly color?: 'auto' | 'always' | 'never'
  /** Print debug messages too. */
  readonly debug?: boolean
  /** Milliseconds clock, for the time a group took; tests fix it. */
  readonly now?: () => number
}

export interface TerminalReporter extends Reporter {
  /** Prints the job summary as text, then the outputs as `name=value`. Call once, when the run is over. */
  finish(): void
  /** True once setFailed was called. */
  readonly failed: boolean
}

const MASK = '***'
const MASK_PLACEHOLDER = '\ue000\ue001\ue002'

// ANSI styles; `style` is the identity when colour is off.
const ANSI = {
  bold: ['\u001b[1m', '\u001b[22m'],
  dim: ['\u001b[2m', '\u001b[22m'],
  red: ['\u001b[31m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
  green: ['\u001b[32m', '\u001b[39m'],
  cyan: ['\u001b[36m', '\u001b[39m'],
} as const
export type Style = keyof typeof ANSI
type Styler = (style: Style, text: string) => string
const plain: Styler = (_style, text) => text
const ansi: Styler = (style, text) => (text === '' ? text : `${ANSI[style][0]}${text}${ANSI[style][1]}`)

/** The Reporter of the command-line tool: readable text as the run goes, the summary and outputs at the end. */
export function terminalReporter(options: TerminalReporterOptions): TerminalReporter {
  const { log, result, debug = false, now = Date.now } = options
  const stylerFor = (sink: TextSink): Styler =>
    options.color === 'always' || (options.color !== 'never' && sink.isTTY === true) ? ansi : plain
  const logStyle = stylerFor(log)
  const resultStyle = stylerFor(result)

  // Longest first, so that a secret containing another one is replaced whole.
  let secrets: string[] = []
  const redact = (text: string, mask = MASK): string =>
    secrets.reduce((out, secret) => out.split(secret).join(mask), text)

  let depth = 0
  const summaries: string[] = []
  const outputs = new Map<string, string>()
  let failed = false

  /** One message: every line indented to the current group depth, continuation lines under the text. */
  const line = (text: string, prefix = '', styled: (s: string) => string = (s) => s) => {
    const indent = '  '.repeat(depth)
    const hang = ' '.repeat(visibleWidth(stripAnsi(prefix)))
    const lines = redact(text).split('\n')
    const body = lines.map((l, i) => `${indent}${i === 0 ? prefix : hang}${styled(l)}`).join('\n')
    log.write(`${body}\n`)
  }

  return {
    get failed() {
      return failed
    },
    info: (message) => line(message),
    debug: (message) => {
      if (debug) line(message, logStyle('dim', 'debug: '), (s) => logStyle('dim', s))
    },
    warning: (message) => line(message, logStyle('yellow', logStyle('bold', 'warning: '))),
    error: (message) => line(message, logStyle('red', logStyle('bold', 'error: '))),
    setSecret: (value) => {
      if (value === '' || secrets.includes(value)) return
      secrets = [...secrets, value].sort((a, b) => b.length - a.length)
    },
    setOutput: (name, value) => {
      outputs.set(name, value)
    },
    group: async (title, work) => {
      line(logStyle('bold', title), logStyle('cyan', '▸ '))
      const started = now()
      depth++
      try {
        const value = await work()
        depth--
        line(`${title} ${logStyle('dim', `(${seconds(now() - started)})`)}`, logStyle('dim', '└ '))
        return value
      } catch (error) {
        depth--
        line(`${title} failed ${logStyle('dim', `(${seconds(now() - started)})`)}`, logStyle('red', '✗ '))
        throw error
      }
    },
    summary: async (markdown) => {
      summaries.push(markdown)
    },
    setFailed: (message) => {
      failed = true
      line(message, logStyle('red', logStyle('bold', 'error: ')))
    },
    finish: () => {
      if (summaries.length > 0) {
        // Masked before rendering with a placeholder Markdown leaves alone ('***' would be emphasis),
        // of the same width, so that tables stay aligned.
        const text = markdownToText(redact(summaries.join('\n\n'), MASK_PLACEHOLDER), resultStyle)
        result.write(`\n${redact(text.split(MASK_PLACEHOLDER).join(MASK)).trimEnd()}\n\n`)
      }
      for (const [name, value] of outputs) {
        // One line per output, as a script splits them: line breaks inside a value are escaped.
        result.write(`${name}=${redact(value).replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n')}\n`)
      }
    },
  }
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`
}

// ---------------------------------------------------------------------------------------------------
// Markdown (as the modes write it for the job summary) → text for a terminal.

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what it removes
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g

export function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, '')
}

/** Columns a string takes in a terminal: wide East Asian and emoji characters take two, marks none. */
export function visibleWidth(text: string): number {
  let width = 0
  for (const char of stripAnsi(text)) {
    if (/^(?:\p{Mn}|\p{Me}|[\u200b-\u200f]|[\ufe00-\ufe0f])$/u.test(char)) continue
    const code = char.codePointAt(0) ?? 0
    const wide =
      /\p{Emoji_Presentation}/u.test(char) ||
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6)
    width += wide ? 2 : 1
  }
  return width
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X'))
      return String.fromCodePoint(Number.parseInt(name.slice(2), 16))
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)))
    return ENTITIES[name.toLowerCase()] ?? whole
  })
}

/** Inline Markdown → text: code spans, emphasis, links, HTML tags and entities, backslash escapes. */
function renderInline(text: string, style: Styler): string {
  // Code spans are taken literally; everything between them gets the other rules.
  return text
    .split(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/)
    .map((part, index) => {
      if (index % 3 === 1) return ''
      // A code span drops one space on each side when it has both (CommonMark).
      if (index % 3 === 2)
        return style('cyan', /^ .* $/s.test(part) && part.trim() !== '' ? part.slice(1, -1) : part)
      let out = part
        .replace(/<br\s*\/?>/gi, '\n')
        .replace(/<!--[\s\S]*?-->/g, '')
        .replace(/<\/?[a-z][^>]*>/gi, '')
        .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
        .replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g, (_all, label: string, url: string) =>
          label === url ? url : `${label} (${url})`,
        )
        .replace(/\*\*(.+?)\*\*|__(.+?)__/g, (_all, a?: string, b?: string) => style('bold', a ?? b ?? ''))
        .replace(/(^|[^*\w])\*(?!\s)(.+?)(?<!\s)\*(?!\*)/g, '$1$2')
      out = out.replace(/\\([\\`*_{}[\]()#+\-.!|<>~])/g, '$1')
      return decodeEntities(out)
    })
    .join('')
}

const TABLE_SEPARATOR = /^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/

/** Cells of a `| a | b |` row; `\|` is a pipe inside a cell. */
function tableCells(row: string): string[] {
  let body = row.trim()
  if (body.startsWith('|')) body = body.slice(1)
  if (body.endsWith('|') && !body.endsWith('\\|')) body = body.slice(0, -1)
  const cells: string[] = []
  let current = ''
  for (let i = 0; i < body.length; i++) {
    const char = body[i]
    if (char === '\\' && body[i + 1] === '|') {
      // GFM: an escaped pipe is a pipe in the cell, also inside code spans.
      current += '|'
      i++
    } else if (char === '|') {
      cells.push(current.trim())
      current = ''
    } else current += char
  }
  cells.push(current.trim())
  return cells
}

/** A table as aligned columns, with the header underlined. */
function renderTable(rows: readonly string[], style: Styler): string[] {
  const [headerRow, separatorRow, ...bodyRows] = rows
  const aligns = tableCells(separatorRow ?? '').map((cell) => (/^-+:$/.test(cell.trim()) ? 'right' : 'left'))
  const header = tableCells(headerRow ?? '').map((cell) => renderInline(cell, plain).replace(/\n/g, ' '))
  const body = bodyRows.map((row) =>
    tableCells(row).map((cell) => renderInline(cell, style).replace(/\n/g, ' ')),
  )
  const columns = Math.max(header.length, ...body.map((row) => row.length))
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(visibleWidth(header[c] ?? ''), ...body.map((row) => visibleWidth(row[c] ?? ''))),
  )
  const format = (cells: readonly string[], styleCell: (s: string) => string = (s) => s) =>
    widths
      .map((width, c) => {
        const cell = cells[c] ?? ''
        const pad = ' '.repeat(width - visibleWidth(cell))
        return aligns[c] === 'right' ? pad + styleCell(cell) : styleCell(cell) + pad
      })
      .join('  ')
      .trimEnd()
  // A key/value table (`| | |` header) has no header worth showing.
  const headed = header.some((cell) => cell.trim() !== '')
  return [
    ...(headed ? [format(header, (s) => style('bold', s)), widths.map((w) => '-'.repeat(w)).join('  ')] : []),
    ...body.map((row) => format(row)),
  ]
}

/**
 * Markdown as a terminal shows it: headings underlined, tables as aligned columns, code indented,
 * links as "text (url)", HTML tags dropped. Meant for the job summaries the modes write.
 */
export function markdownToText(markdown: string, style: Styler = plain): string {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? ''
    const trimmed = raw.trim()
    const fence = /^(```|~~~)/.exec(trimmed)
    if (fence) {
      for (i++; i < lines.length && !(lines[i] ?? '').trim().startsWith(fence[1] ?? '```'); i++) {
        out.push(`    ${lines[i]}`)
      }
      continue
    }
    if (trimmed.startsWith('|') && TABLE_SEPARATOR.test((lines[i + 1] ?? '').trim())) {
      const rows: string[] = []
      while (i < lines.length && (lines[i] ?? '').trim().startsWith('|')) rows.push(lines[i++] ?? '')
      i--
      out.push(...renderTable(rows, style))
      continue
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*$/.exec(trimmed)
    if (heading) {
      const level = heading[1]?.length ?? 1
      const text = renderInline(heading[2] ?? '', plain)
      if (out.length > 0 && out[out.length - 1] !== '') out.push('')
      out.push(style('bold', text))
      if (level <= 2) out.push((level === 1 ? '=' : '-').repeat(visibleWidth(text)))
      continue
    }
    if (/^(\*\s*\*\s*\*|-\s*-\s*-|_\s*_\s*_)[\s*_-]*$/.test(trimmed)) {
      out.push('-'.repeat(40))
      continue
    }
    const summaryTag = /^<summary>(.*)<\/summary>$/i.exec(trimmed)
    if (summaryTag) {
      out.push(style('bold', renderInline(summaryTag[1] ?? '', plain)))
      continue
    }
    const rendered = renderInline(raw.replace(/^(\s*)[*+]\s/, '$1- ').replace(/^>\s?/, '│ '), style)
    // Lines that were only HTML (<details>, </details>) leave nothing behind.
    if (rendered.trim() === '' && trimmed !== '') continue
    if (rendered === '' && out[out.length - 1] === '') continue
    out.push(...rendered.split('\n'))
  }
  while (out[0] === '') out.shift()
  return out.join('\n')
}
