// The release as one tar stream, byte for byte the same for the same release: entries sorted by path,
// owned by root (uid and gid 0), one fixed modification time, modes from the files. GNU tar on the
// server unpacks it into releases/<id>/.
import tar from 'tar-stream'
import type { Release } from './release.js'

/** Every entry's modification time. Fixed, so that the archive depends on the content only. */
export const RELEASE_MTIME = new Date('2020-01-01T00:00:00Z')

interface Entry {
  readonly path: string
  readonly mode: number
  readonly content?: Buffer
}

/** The folders the files need, each before what it holds (a prefix sorts first). */
function entries(release: Release): Entry[] {
  const folders = new Set<string>()
  for (const file of release.files) {
    const segments = file.path.split('/')
    for (let i = 1; i < segments.length; i++) folders.add(segments.slice(0, i).join('/'))
  }
  const all: Entry[] = [
    ...[...folders].map((path) => ({ path, mode: 0o755 })),
    ...release.files.map((file) => ({ path: file.path, mode: file.mode, content: file.content })),
  ]
  return all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

export async function packRelease(release: Release): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (chunk: Buffer) => chunks.push(chunk))
    pack.on('end', () => resolve(Buffer.concat(chunks)))
    pack.on('error', reject)
  })
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: RELEASE_MTIME }
  for (const entry of entries(release)) {
    if (entry.content === undefined) {
      pack.entry({ ...owner, name: entry.path, mode: entry.mode, type: 'directory' })
    } else {
      pack.entry(
        { ...owner, name: entry.path, mode: entry.mode, type: 'file', size: entry.content.length },
        entry.content,
      )
    }
  }
  pack.finalize()
  return done
}
