import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from '../../helpers/paths.js'

/** The stack folder of this repository. */
export const stackDir = join(repoRoot, 'stack')

/** Fails with a message naming the missing program (and where it comes from) when it is not installed. */
export function requireTool(name: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v "$0"`, name], { encoding: 'utf8' })
  const path = found.stdout.trim()
  if (found.status !== 0 || path === '') {
    throw new Error(
      `This test needs ${name}, which is not installed: run \`bash scripts/install-test-deps.sh\` (Debian package ${debianPackage}).`,
    )
  }
  return path
}

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to completion, without a shell; never rejects on a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    if (child.stdin) {
      // A program that exits without reading its input is not an error here.
      child.stdin.on('error', () => {})
      child.stdin.end(options.input)
    }
  })
}
