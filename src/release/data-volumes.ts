// The data (comments, certificates) lives in two Docker volumes that must be `external: true`: Compose
// then never creates or removes them, not even with `down -v`. A compose file in the release (the
// stack's own, or a user's compose.override.yaml) that declares one of them otherwise is refused.
import { parse } from 'yaml'
import type { Release } from './release.js'

export const DATA_VOLUMES = ['commento_postgres_volume', 'certbot_etc_volume'] as const

/** Compose reads these names from the project directory. */
const COMPOSE_FILE = /^(docker-)?compose(\.[\w-]+)?\.ya?ml$/

export class DataVolumeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataVolumeError'
  }
}

function isExternal(declaration: unknown): boolean {
  if (typeof declaration !== 'object' || declaration === null) return false
  const external = (declaration as Record<string, unknown>).external
  return external === true || (typeof external === 'object' && external !== null)
}

/** Throws a DataVolumeError naming the file and the volume when a data volume is not external. */
export function assertDataVolumesExternal(release: Release): void {
  for (const file of release.files) {
    if (file.path.includes('/') || !COMPOSE_FILE.test(file.path)) continue
    let document: unknown
    try {
      document = parse(file.content.toString('utf8'))
    } catch (error) {
      throw new DataVolumeError(`${file.path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`)
    }
    const volumes = (document as { volumes?: Record<string, unknown> } | null)?.volumes ?? {}
    for (const name of DATA_VOLUMES) {
      if (!(name in volumes)) continue
      if (!isExternal(volumes[name])) {
        throw new DataVolumeError(
          `${file.path} declares the data volume ${name} without \`external: true\`: Compose could then create it empty or remove it with \`down -v\`, losing data. Declare it as \`${name}: { external: true }\`.`,
        )
      }
    }
  }
}
