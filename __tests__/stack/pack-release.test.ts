import { createHash } from 'node:crypto'
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packRelease } from '../../src/release/pack-release.js'
import { readStack } from '../../src/release/read-stack.js'
import { renderRelease } from '../../src/release/render-release.js'
import { commentoSetting, settingsFor } from './helpers/settings.js'
import { requireTool, run, stackDir } from './helpers/tools.js'

const release = renderRelease(
  settingsFor({
    commentoEnv: [commentoSetting('COMMENTO_SMTP_PASSWORD', "s3cr'et")],
    postgresPassword: 'pw-given-123',
  }),
  readStack(stackDir),
)

describe('packRelease', () => {
  let dir: string
  beforeAll(() => {
    requireTool('tar', 'tar')
    dir = mkdtempSync(join(tmpdir(), 'cd-pack-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('is byte for byte the same for the same release', async () => {
    const a = await packRelease(release)
    const b = await packRelease(renderRelease(settingsFor(), readStack(stackDir)))
    const c = await packRelease(release)
    expect(createHash('sha256').update(c).digest('hex')).toBe(createHash('sha256').update(a).digest('hex'))
    expect(b.equals(a)).toBe(false) // another release, another archive
  })

  it('lists folders before their files, owned by root, with one fixed time and the files modes (GNU tar)', async () => {
    const archive = join(dir, 'release.tar')
    writeFileSync(archive, await packRelease(release))
    const listing = await run('tar', ['--list', '--verbose', '--numeric-owner', '--file', archive], {
      env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
    })
    expect(listing.stderr).toBe('')
    expect(listing.code).toBe(0)
    const lines = listing.stdout.trim().split('\n')
    const names = lines.map((line) => line.split(/\s+/).slice(5).join(' ').replace(/\/$/, ''))
    expect(names).toEqual([...names].sort())
    for (const line of lines) {
      expect(line).toMatch(/^[d-]r[w-][x-]\S+ 0\/0 +\d+ 2020-01-01 00:00 \S/)
    }
    const modeOf = (name: string) => lines[names.indexOf(name)]?.slice(0, 10)
    expect(modeOf('.env')).toBe('-rw-------')
    expect(modeOf('nginx/entrypoint.sh')).toBe('-rwxr-xr-x')
    expect(modeOf('compose.yaml')).toBe('-rw-r--r--')
    expect(modeOf('nginx')).toBe('drwxr-xr-x')
    expect(names.filter((n) => !lines[names.indexOf(n)]?.startsWith('d'))).toEqual(
      release.files.map((f) => f.path),
    )
  })

  it('unpacks with GNU tar, as the remote script does, into exactly the release files and modes', async () => {
    const target = mkdtempSync(join(dir, 'unpacked-'))
    const archive = join(dir, 'release2.tar')
    writeFileSync(archive, await packRelease(release))
    const unpacked = await run('tar', ['-xf', archive, '-C', target, '--no-same-owner'])
    expect(unpacked.stderr).toBe('')
    expect(unpacked.code).toBe(0)
    for (const file of release.files) {
      const path = join(target, file.path)
      expect(readFileSync(path).equals(file.content)).toBe(true)
      expect(lstatSync(path).mode & 0o777).toBe(file.mode)
    }
  })
})
