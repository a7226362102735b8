// A private machine for one test file: new PID, mount and network namespaces (unshare), with its own
// loopback and its own /etc/hosts. Everything started in it dies with it: when the sandbox stops, or
// when the test runner dies (the first process waits on a pipe from this process and exits at its
// end, and the kernel then kills every process of the PID namespace).
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type RunResult, run } from './tools.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `condition` until it returns a value other than undefined, or fails naming `what`. */
export async function waitUntil<T>(
  what: string,
  condition: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await condition()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(200)
  }
}

/** A long-running program in the sandbox, with its output (stdout and stderr, interleaved) kept. */
export class SandboxProcess {
  output = ''
  exitCode: number | null | undefined = undefined
  private readonly exited: Promise<number | null>

  constructor(
    readonly name: string,
    child: ChildProcess,
    private readonly sandbox: Sandbox,
  ) {
    const append = (chunk: Buffer) => {
      this.output += chunk.toString()
    }
    child.stdout?.on('data', append)
    child.stderr?.on('data', append)
    this.exited = new Promise((resolve) =>
      child.on('close', (code) => {
        this.exitCode = code
        resolve(code)
      }),
    )
  }

  /** The process id inside the sandbox, as the wrapper printed it first. */
  private async pid(): Promise<number> {
    return waitUntil(`${this.name} to start`, async () => {
      const m = /^sandbox-pid (\d+)$/m.exec(this.output)
      return m ? Number(m[1]) : undefined
    })
  }

  /** Waits until the output matches, counting only output after `from` characters. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    try {
      return await waitUntil(
        `${this.name} to print ${pattern}`,
        async () => {
          const match = pattern.exec(this.output.slice(from))
          if (match) return match[0]
          if (this.exitCode !== undefined)
            throw new Error(`${this.name} exited (${this.exitCode}) before printing ${pattern}`)
          return undefined
        },
        timeoutMs,
      )
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- ${this.name} output ---\n${this.output.slice(-4000)}`)
    }
  }

  /** Sends a signal inside the sandbox and waits for the program to exit; returns its status. */
  async stop(signal: 'TERM' | 'QUIT' | 'INT' = 'TERM', timeoutMs = 20_000): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode
    await this.sandbox.exec('kill', [`-${signal}`, String(await this.pid())])
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(
          new Error(
            `${this.name} did not exit within ${timeoutMs} ms of SIG${signal}\n${this.output.slice(-4000)}`,
          ),
        )
      }, timeoutMs)
    })
    try {
      return await Promise.race([this.exited, late])
    } finally {
      clearTimeout(timer)
    }
  }
}

export class Sandbox {
  private constructor(
    private readonly holder: ChildProcess,
    readonly pid: number,
  ) {}

  /** Starts the sandbox: lo up, and /etc/hosts replaced by `hosts` (written to `dir`). */
  static async start(dir: string, hosts: string): Promise<Sandbox> {
    const hostsFile = join(dir, 'hosts')
    writeFileSync(hostsFile, hosts)
    const script = [
      'set -e',
      'ip link set lo up',
      'mount --bind "$1" /etc/hosts',
      'echo ready',
      // Lives as long as the pipe from the test runner is open.
      'read -r _ || true',
    ].join('\n')
    const holder = spawn(
      'unshare',
      [
        '--pid',
        '--mount',
        '--net',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--',
        'sh',
        '-c',
        script,
        'sandbox',
        hostsFile,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    )
    let output = ''
    holder.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    holder.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    let exited = false
    holder.on('close', () => {
      exited = true
    })
    try {
      await waitUntil('the sandbox to start', async () => {
        if (exited) throw new Error(`the sandbox could not start (unshare needs root): ${output}`)
        return output.includes('ready') ? true : undefined
      })
      const pid = await waitUntil('the sandbox process', async () => {
        const children = await run('pgrep', ['-P', String(holder.pid)])
        const first = children.stdout.trim().split('\n')[0]
        return first ? Number(first) : undefined
      })
      return new Sandbox(holder, pid)
    } catch (error) {
      holder.kill('SIGKILL')
      throw error
    }
  }

  private enter(): string[] {
    return ['--target', String(this.pid), '--pid', '--mount', '--net', '--']
  }

  /** Runs a program to completion inside the sandbox. */
  exec(
    command: string,
    args: readonly string[],
    options: { env?: NodeJS.ProcessEnv; input?: string } = {},
  ): Promise<RunResult> {
    return run('nsenter', [...this.enter(), command, ...args], options)
  }

  /** Starts a long-running program inside the sandbox. */
  spawn(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): SandboxProcess {
    const wrapper = 'echo "sandbox-pid $$"; exec "$0" "$@"'
    const child = spawn('nsenter', [...this.enter(), 'sh', '-c', wrapper, command, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return new SandboxProcess(name, child, this)
  }

  /** Ends the sandbox and, with its first process, every process in it. */
  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.holder.on('close', resolve))
    this.holder.stdin?.end()
    const timer = setTimeout(() => this.holder.kill('SIGKILL'), 5_000)
    await closed
    clearTimeout(timer)
  }
}
