import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { assertDataVolumesExternal, DATA_VOLUMES } from '../../src/release/data-volumes.js'
import { readStack } from '../../src/release/read-stack.js'
import type { Release } from '../../src/release/release.js'
import { renderRelease } from '../../src/release/render-release.js'
import { repoRoot } from '../helpers/paths.js'

const settings = parseInputs(
  (name) => ({ mode: 'check', domain: 'comments.example.com', email: 'admin@example.com' })[name] ?? '',
  {},
).settings

function releaseWith(extra: Record<string, string>): Release {
  const release = renderRelease(settings, readStack(join(repoRoot, 'stack')))
  const files = [
    ...release.files,
    ...Object.entries(extra).map(([path, text]) => ({
      path,
      mode: 0o644,
      content: Buffer.from(text),
      secret: false,
    })),
  ]
  return { ...release, files }
}

describe('data volumes are external in every compose file of a release', () => {
  it('accepts the stack as shipped, which declares both data volumes external', () => {
    const release = releaseWith({})
    expect(() => assertDataVolumesExternal(release)).not.toThrow()
    const compose = release.files.find((f) => f.path === 'compose.yaml')?.content.toString('utf8') ?? ''
    for (const name of DATA_VOLUMES) expect(compose).toContain(`${name}:\n    external: true`)
  })

  it.each([
    ['compose.override.yaml', 'volumes:\n  commento_postgres_volume: {}\n', 'commento_postgres_volume'],
    ['compose.override.yml', 'volumes:\n  certbot_etc_volume:\n    external: false\n', 'certbot_etc_volume'],
    [
      'docker-compose.override.yaml',
      'volumes:\n  commento_postgres_volume:\n    driver: local\n',
      'commento_postgres_volume',
    ],
  ])('refuses %s that makes a data volume local, naming it', (file, text, volume) => {
    expect(() => assertDataVolumesExternal(releaseWith({ [file]: text }))).toThrow(
      `${file} declares the data volume ${volume} without \`external: true\``,
    )
  })

  it('accepts an override that adds volumes of its own or keeps the data volumes external', () => {
    const override = 'volumes:\n  extra: {}\n  commento_postgres_volume:\n    external: true\n'
    expect(() => assertDataVolumesExternal(releaseWith({ 'compose.override.yaml': override }))).not.toThrow()
  })
})

describe('no code path removes a Docker volume', () => {
  const removal = /volume\s+(rm|remove|prune)|system\s+prune|down\s+[^\n]*(-v\b|--volumes)|rm\s+-v\b/
  function files(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? files(path) : [path]
    })
  }

  it('the shipped code and stack never run volume rm/prune, system prune or down -v', () => {
    const shipped = [
      ...files(join(repoRoot, 'src')),
      ...files(join(repoRoot, 'stack')),
      ...files(join(repoRoot, 'dist')),
    ]
    const offenders = shipped.filter((path) =>
      readFileSync(path, 'utf8')
        .split('\n')
        // Comments and messages may name the commands they avoid; code may not run them.
        .filter((line) => !/^\s*(#|\/\/|\*)/.test(line) && !/(never|not|without|refus|no -v)/i.test(line))
        .some((line) => removal.test(line)),
    )
    expect(offenders).toEqual([])
  })
})
