// What a deploy would change in the release directory: files added, changed, removed, with a unified diff
// for text files. Files that hold secrets are compared by setting name only; their values never appear.
import { createPatch } from 'diff'
import type { Release } from './release.js'

export interface FileChange {
  readonly path: string
  readonly change: 'added' | 'changed' | 'removed'
  /** Unified diff for text files; for secret files, the names of the settings that differ. */
  readonly detail: string
}

/** Files the deploy writes itself (bookkeeping), not worth showing. */
const IGNORED = new Set(['manifest.json', '.complete'])

function isText(content: Buffer): boolean {
  return !content.includes(0)
}

/** KEY → value of each `KEY=value` line (dotenv), for comparing secret files by name. */
function envEntries(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line)
    if (m) entries.set(m[1] as string, m[2] as string)
  }
  return entries
}

function secretDetail(before: string, after: string, ignoredKeys: ReadonlySet<string>): string {
  const old = envEntries(before)
  const now = envEntries(after)
  const lines: string[] = []
  for (const key of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    if (ignoredKeys.has(key)) continue
    if (!old.has(key)) lines.push(`+ ${key} (value hidden)`)
    else if (!now.has(key)) lines.push(`- ${key}`)
    else if (old.get(key) !== now.get(key)) lines.push(`~ ${key} (value hidden)`)
  }
  return lines.join('\n')
}

/**
 * Compares the files on the server (`current`) with the release a deploy would upload.
 * `serverOnlyKeys` are settings the server adds to secret files itself (a generated password).
 */
export function diffRelease(
  current: ReadonlyMap<string, Buffer>,
  next: Release,
  serverOnlyKeys: ReadonlySet<string> = new Set(),
): FileChange[] {
  const secretPaths = new Set(next.files.filter((f) => f.secret).map((f) => f.path))
  const changes: FileChange[] = []
  const nextFiles = new Map(next.files.map((f) => [f.path, f.content]))
  const paths = [...new Set([...current.keys(), ...nextFiles.keys()])].filter((p) => !IGNORED.has(p)).sort()
  for (const path of paths) {
    const before = current.get(path)
    const after = nextFiles.get(path)
    if (before && after && before.equals(after)) continue
    const secret = secretPaths.has(path) || path === '.env' || path.endsWith('.env')
    if (secret) {
      const detail = secretDetail(
        before?.toString('utf8') ?? '',
        after?.toString('utf8') ?? '',
        serverOnlyKeys,
      )
      if (before && after && detail === '') continue
      changes.push({ path, change: !before ? 'added' : !after ? 'removed' : 'changed', detail })
      continue
    }
    const change = !before ? 'added' : !after ? 'removed' : 'changed'
    const text = (before === undefined || isText(before)) && (after === undefined || isText(after))
    const detail = text
      ? createPatch(
          path,
          before?.toString('utf8') ?? '',
          after?.toString('utf8') ?? '',
          'server',
          'new release',
        )
          .split('\n')
          .slice(2)
          .join('\n')
      : `binary file, ${before?.length ?? 0} → ${after?.length ?? 0} bytes`
    changes.push({ path, change, detail })
  }
  return changes
}
