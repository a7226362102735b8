// Runs the bundle in dist/ as the runner runs it against a test host, like __tests__/helpers/action-run.ts,
// but as a live child process: a test can watch its output (to inject a fault at the right phase), start
// several at once, and look at every file the run left in its HOME and temp dirs before they are removed.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestHost } from '../../../test-host/test-host.mjs'
import { type ActionRun, parseOutputFile } from '../../helpers/action-run.js'
import { node24, repoRoot } from '../../helpers/paths.js'

export interface BundleRun extends ActionRun {
  /** The GITHUB_OUTPUT file as the action wrote it. */
  readonly outputFile: string
}

export interface RunningBundle {
  /** Everything written to stdout so far. */
  stdout(): string
  /** Resolves once stdout matches `pattern`; rejects when the run ends first or after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** The finished run (the run's dirs are removed once `inspect` returned). */
  readonly done: Promise<BundleRun>
}

export interface BundleOptions {
  /** More environment (ACTIONS_STEP_DEBUG, NODE_EXTRA_CA_CERTS, ...). */
  readonly env?: Readonly<Record<string, string>>
  /** Looks at the run's dir (HOME=dir/home, TMPDIR=dir/tmp, RUNNER_TEMP=dir/runner-temp) before it is removed. */
  readonly inspect?: (dir: string) => void
  /** Kills the run after this long. Default 120 s. */
  readonly timeoutMs?: number
}

/** Starts the bundle with inputs as INPUT_<NAME> and only the environment a runner sets. */
export function startBundle(
  host: TestHost,
  inputs: Readonly<Record<string, string>>,
  options: BundleOptions = {},
): RunningBundle {
  const dir = mkdtempSync(join(tmpdir(), 'cd-rel-run-'))
  const paths = {
    home: join(dir, 'home'),
    tmp: join(dir, 'tmp'),
    runnerTemp: join(dir, 'runner-temp'),
    output: join(dir, 'output'),
    summary: join(dir, 'summary'),
  }
  for (const folder of [paths.home, paths.tmp, paths.runnerTemp]) mkdirSync(folder)
  writeFileSync(paths.output, '')
  writeFileSync(paths.summary, '')
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]))
  const child = host.spawnAsRunner(node24, [join(repoRoot, 'dist', 'index.cjs')], {
    cwd: repoRoot,
    env: {
      ...Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined])),
      PATH: process.env.PATH,
      HOME: paths.home,
      TMPDIR: paths.tmp,
      RUNNER_TEMP: paths.runnerTemp,
      GITHUB_OUTPUT: paths.output,
      GITHUB_STEP_SUMMARY: paths.summary,
      GITHUB_ACTOR: 'octocat',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'owner/blog',
      GITHUB_RUN_ID: '4242',
      ...inputEnv,
      ...options.env,
    },
  })
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  let ended = false
  const watchers = new Set<() => void>()
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    for (const watcher of watchers) watcher()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const timer = setTimeout(() => {
    if (child.pid) process.kill(-child.pid, 'SIGKILL')
  }, options.timeoutMs ?? 120_000)

  const done = new Promise<BundleRun>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      ended = true
      for (const watcher of watchers) watcher()
      try {
        options.inspect?.(dir)
        const outputFile = readFileSync(paths.output, 'utf8')
        resolve({
          code,
          stdout,
          shown: stdout
            .split('\n')
            .filter((line) => !line.startsWith('::add-mask::'))
            .join('\n'),
          stderr,
          outputFile,
          outputs: parseOutputFile(outputFile),
          summary: readFileSync(paths.summary, 'utf8'),
        })
      } catch (error) {
        reject(error)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
  done.catch(() => {})

  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stdout)) finish()
        else if (ended) finish(new Error(`the run ended before its output matched ${pattern}:\n${stdout}`))
      }
      const finish = (error?: Error) => {
        watchers.delete(check)
        clearTimeout(waitTimer)
        if (error) reject(error)
        else resolve()
      }
      const waitTimer = setTimeout(
        () => finish(new Error(`no output matched ${pattern} within ${timeoutMs} ms:\n${stdout}`)),
        timeoutMs,
      )
      watchers.add(check)
      check()
    })

  return { stdout: () => stdout, waitForOutput, done }
}

/** Runs the bundle to its end. */
export function runBundle(
  host: TestHost,
  inputs: Readonly<Record<string, string>>,
  options: BundleOptions = {},
): Promise<BundleRun> {
  return startBundle(host, inputs, options).done
}

/** Fails with everything the run printed unless it exited with `code`. */
export function expectExit(run: ActionRun, code: number): void {
  if (run.code !== code)
    throw new Error(
      `expected exit ${code}, got ${run.code}\n--- stdout\n${run.shown}\n--- stderr\n${run.stderr}`,
    )
}
