// Runs the bundle in dist/ the way the GitHub runner does, as a client of a test host: inputs as
// INPUT_<NAME> (hyphens kept), outputs read back from GITHUB_OUTPUT, the summary from GITHUB_STEP_SUMMARY.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestHost } from '../../test-host/test-host.mjs'
import { node24, repoRoot } from './paths.js'

export interface ActionRun {
  readonly code: number | null
  /** Everything the action printed, `::add-mask::` commands included. */
  readonly stdout: string
  /** What a person sees in the runner's log: stdout without the `::add-mask::` commands the runner consumes. */
  readonly shown: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  readonly summary: string
}

/** Reads the runner's output file format: `name<<DELIMITER\nvalue\nDELIMITER\n`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(lines[i] as string)
    if (!m) continue
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i] as string)
    outputs[m[1] as string] = value.join('\n')
  }
  return outputs
}

export async function runAction(
  host: TestHost,
  inputs: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string>> = {},
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cd-run-'))
  try {
    const outputFile = join(dir, 'output')
    const summaryFile = join(dir, 'summary')
    writeFileSync(outputFile, '')
    writeFileSync(summaryFile, '')
    const inputEnv = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
    )
    const result = await host.runAsRunner(node24, [join(repoRoot, 'dist', 'index.cjs')], {
      env: {
        // The runner's environment is not the test's: only what a runner sets.
        ...Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined])),
        PATH: process.env.PATH,
        HOME: dir,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        GITHUB_ACTOR: 'octocat',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'owner/blog',
        GITHUB_RUN_ID: '4242',
        ...inputEnv,
        ...env,
      },
      timeoutMs: 120_000,
    })
    return {
      code: result.code,
      stdout: result.stdout,
      shown: result.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n'),
      stderr: result.stderr,
      outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
      summary: readFileSync(summaryFile, 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Fails with everything the run printed when it did not exit 0. */
export function expectSuccess(run: ActionRun): void {
  if (run.code !== 0) throw new Error(`the action exited ${run.code}:\n${run.shown}\n${run.stderr}`)
}
