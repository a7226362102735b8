// The release side of the deploy, wired to the stack/ folder next to the bundle: what the modes'
// ReleaseBuilder (src/modes/dependencies.ts) expects.
import type { Settings } from '../inputs/settings.js'
import { packRelease } from './pack-release.js'
import { postgresEnvTemplate } from './postgres.js'
import { defaultStackDir, readStack } from './read-stack.js'
import type { Release, StackFiles } from './release.js'
import { renderRelease } from './render-release.js'

export interface StackReleaseBuilder {
  render(settings: Settings): Release
  pack(release: Release): Promise<Buffer>
  postgresEnvTemplate(): string
}

/** Reads stack/ (once, on first use) from `stackDir`, by default the folder next to the bundle. */
export function stackReleaseBuilder(stackDir?: string): StackReleaseBuilder {
  let stack: StackFiles | undefined
  return {
    render: (settings) => {
      stack ??= readStack(stackDir ?? defaultStackDir())
      return renderRelease(settings, stack)
    },
    pack: packRelease,
    postgresEnvTemplate,
  }
}
