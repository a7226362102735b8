// The edge that reads stack/ from disk into StackFiles for the pure renderer.
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { StackFile, StackFiles } from './release.js'

/**
 * The stack/ folder the action ships next to its bundle: the bundle runs as dist/index.cjs (or
 * dist/cli.cjs), so stack/ is one level up from the script's real folder.
 */
export function defaultStackDir(): string {
  const script = process.argv[1]
  if (!script) throw new Error('Cannot find stack/: no script path in process.argv[1].')
  return resolve(dirname(realpathSync(script)), '..', 'stack')
}

/** Reads every file under `dir`, sorted by path. Only regular files and folders are allowed. */
export function readStack(dir: string): StackFiles {
  let root: string
  try {
    root = realpathSync(dir)
  } catch {
    throw new Error(
      `The stack folder ${dir} does not exist: commento-deploy ships stack/ next to dist/; reinstall it.`,
    )
  }
  const files: StackFile[] = []
  const walk = (relative: string): void => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      const path = relative === '' ? name : `${relative}/${name}`
      const stat = lstatSync(join(root, path))
      if (stat.isDirectory()) walk(path)
      else if (stat.isFile()) {
        files.push(
          Object.freeze({
            path,
            mode: stat.mode & 0o111 ? 0o755 : 0o644,
            content: readFileSync(join(root, path)),
          }),
        )
      } else {
        throw new Error(
          `stack/${path} is not a regular file (a link or a device): the stack holds plain files only.`,
        )
      }
    }
  }
  walk('')
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return Object.freeze(files)
}
