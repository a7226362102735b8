// Finds secrets in what a run wrote: as they are, each line of a multi-line one (a private key), and inside
// the encodings a value may travel in by accident (base64 runs, as in a tar sent over the channel; URL
// percent-encoding, as in COMMENTO_POSTGRES; the %0A of workflow commands).
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface NamedSecret {
  readonly name: string
  readonly value: string
}

/**
 * The forms of each secret worth looking for, named for the report. Lines in `publicLines` (PEM armour,
 * the base64 header every key of a kind shares) are no secret and are left out.
 */
export function secretNeedles(
  secrets: readonly NamedSecret[],
  publicLines: ReadonlySet<string> = new Set(),
): NamedSecret[] {
  const needles: NamedSecret[] = []
  for (const { name, value } of secrets) {
    needles.push({ name, value })
    if (value.includes('\n')) {
      needles.push({ name: `${name} (as a workflow command)`, value: value.trimEnd().replace(/\n/g, '%0A') })
      value.split('\n').forEach((line, i) => {
        if (line.trim().length >= 16 && !/^-----(BEGIN|END) /.test(line) && !publicLines.has(line))
          needles.push({ name: `${name} line ${i + 1}`, value: line.trim() })
      })
    }
    const encoded = encodeURIComponent(value)
    if (encoded !== value) needles.push({ name: `${name} (percent-encoded)`, value: encoded })
  }
  return needles
}

/** The text plus whatever its base64 runs decode to (each run of 4n base64 characters, as sent in lines). */
function withDecodedBase64(text: string): string {
  const decoded: string[] = []
  for (const match of text.matchAll(/[A-Za-z0-9+/]{40,}={0,2}/g)) {
    const run = match[0]
    const usable = run.slice(0, run.length - (run.length % 4))
    decoded.push(Buffer.from(usable, 'base64').toString('latin1'))
  }
  return decoded.length ? `${text}\n${decoded.join('\n')}` : text
}

export interface Finding {
  readonly where: string
  readonly secret: string
}

/** Every (where, secret) pair where a needle shows up; `where` names the stream or file. */
export function findSecrets(
  sources: ReadonlyArray<{ where: string; text: string }>,
  needles: readonly NamedSecret[],
): Finding[] {
  const findings: Finding[] = []
  for (const { where, text } of sources) {
    const haystack = withDecodedBase64(text)
    for (const needle of needles)
      if (haystack.includes(needle.value)) findings.push({ where, secret: needle.name })
  }
  return findings
}

/** The text of every regular file under `dir` (at most `maxBytes` each), for scanning. */
export function filesUnder(dir: string, maxBytes = 4 * 1024 * 1024): Array<{ where: string; text: string }> {
  const found: Array<{ where: string; text: string }> = []
  const walk = (path: string) => {
    let entries: string[]
    try {
      entries = readdirSync(path)
    } catch {
      return
    }
    for (const entry of entries) {
      const full = join(path, entry)
      // lstat: a symlink is not followed (no loops, nothing outside `dir`).
      const stat = lstatSync(full, { throwIfNoEntry: false })
      if (!stat) continue
      if (stat.isDirectory()) walk(full)
      else if (stat.isFile() && stat.size <= maxBytes) {
        try {
          found.push({ where: full, text: readFileSync(full, 'latin1') })
        } catch {
          // gone or unreadable: nothing to scan
        }
      }
    }
  }
  walk(dir)
  return found
}
