// Renders the benchmark's results as Markdown: bench/results.md and the README's performance section
// (between <!-- bench:start --> and <!-- bench:end -->) show the same tables. Pure.

import {
  FLOOR_STEPS,
  floorRoundTrips,
  judgeTargets,
  networkRoundTrips,
  SCENARIO_FLOORS,
  wallRoundTrips,
} from './round-trips.mjs'
import { median, summarize } from './stats.mjs'

/**
 * @typedef {import('./measure.mjs').Sample} Sample
 * @typedef {import('./stats.mjs').Summary} Summary
 * @typedef {{ samples: Sample[], failures: number }} Runs
 * @typedef {{ roundTrips: number, connections: { port: number, roundTrips: number }[] }} WireCount
 *   Round trips counted on the wire by bench/flight-relay.mjs, in all and per connection.
 * @typedef {{ id: string, label: string, byDelay: Record<number, Runs>, wire?: WireCount }} ScenarioResults
 * @typedef {{ bundleBytes: number, distBytes: number, loadMs: Summary, bareNodeMs: Summary }} Startup
 * @typedef {{
 *   meta: { date: string, machine: string, node: string, reps: number, delays: number[], command: string },
 *   scenarios: ScenarioResults[],
 *   startup?: Startup,
 * }} Results
 */

export const README_START = '<!-- bench:start -->'
export const README_END = '<!-- bench:end -->'

/** @param {number} ms */
export function formatSeconds(ms) {
  return `${(ms / 1000).toFixed(2)} s`
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${Math.round(bytes)} B`
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`
  return `${(bytes / 1_000_000).toFixed(2)} MB`
}

/** A count's median: whole when the runs agree on it (as they should), else with one decimal. @param {number} n */
function formatCount(n) {
  return Number.isInteger(n) ? String(n) : n.toFixed(1)
}

/** @param {number | undefined} n */
function formatRoundTrips(n) {
  return n === undefined ? '—' : n.toFixed(1)
}

/**
 * The median wall time of a scenario at a delay, or undefined when no run of it succeeded.
 * @param {Results} results
 * @param {string} id
 * @param {number} delay
 */
export function medianWall(results, id, delay) {
  const runs = results.scenarios.find((s) => s.id === id)?.byDelay[delay]
  return runs && runs.samples.length > 0 ? median(runs.samples.map((s) => s.wallMs)) : undefined
}

/**
 * The fastest run's wall time: other work on the machine only ever adds time, so the fastest run is the
 * least disturbed one.
 * @param {Results} results
 * @param {string} id
 * @param {number} delay
 */
export function fastestWall(results, id, delay) {
  const runs = results.scenarios.find((s) => s.id === id)?.byDelay[delay]
  return runs && runs.samples.length > 0 ? Math.min(...runs.samples.map((s) => s.wallMs)) : undefined
}

/**
 * Round trips the network added to a scenario at a delay, from the fastest runs at this delay and at 0 ms
 * (needs the 0 ms runs).
 * @param {Results} results
 * @param {string} id
 * @param {number} delay
 */
export function scenarioNetworkRoundTrips(results, id, delay) {
  const wall = fastestWall(results, id, delay)
  const wallAtZero = fastestWall(results, id, 0)
  return wall === undefined || wallAtZero === undefined
    ? undefined
    : networkRoundTrips(wall, wallAtZero, delay)
}

/**
 * The network round trips of a scenario: counted on the wire when they were, else estimated from wall times.
 * @param {Results} results
 * @param {string} id
 * @param {number} delay
 */
export function scenarioRoundTrips(results, id, delay) {
  return (
    results.scenarios.find((s) => s.id === id)?.wire?.roundTrips ??
    scenarioNetworkRoundTrips(results, id, delay)
  )
}

/** @param {WireCount | undefined} wire */
function wireCell(wire) {
  if (!wire) return '—'
  const parts = wire.connections.map((c) => `${c.port}: ${c.roundTrips}`)
  return `${wire.roundTrips}${parts.length > 1 ? ` (${parts.join(', ')})` : ''}`
}

/** The delay the round trips and targets are judged at: the largest one measured. @param {Results} results */
export function judgedDelay(results) {
  return Math.max(...results.meta.delays)
}

/**
 * @param {Results} results
 * @param {ScenarioResults} scenario
 * @param {number} delay
 */
function wallCell(results, scenario, delay) {
  const runs = scenario.byDelay[delay]
  if (!runs || runs.samples.length === 0) return runs?.failures ? `failed (${runs.failures} runs)` : '—'
  const wall = summarize(runs.samples.map((s) => s.wallMs))
  const base = medianWall(results, 'baseline', delay)
  const ratio = base && scenario.id !== 'baseline' ? ` · ${(wall.median / base).toFixed(2)}×` : ''
  const failed = runs.failures ? ` (${runs.failures} failed)` : ''
  return `${formatSeconds(wall.median)} (${(wall.min / 1000).toFixed(2)}–${(wall.max / 1000).toFixed(2)})${ratio}${failed}`
}

/** @param {readonly string[]} cells */
function row(cells) {
  return `| ${cells.join(' | ')} |`
}

/** @param {Results} results */
function wallTable(results) {
  const delays = results.meta.delays
  return [
    row(['scenario', ...delays.map((d) => `${d} ms one-way`)]),
    row(['---', ...delays.map(() => '---:')]),
    ...results.scenarios.map((s) => row([s.label, ...delays.map((d) => wallCell(results, s, d))])),
  ]
}

/** @param {Results} results */
function exchangeTable(results) {
  const delay = judgedDelay(results)
  const rtt = 2 * delay
  /** @param {Sample[]} samples @param {(s: Sample) => number} pick */
  const med = (samples, pick) => formatCount(median(samples.map(pick)))
  const lines = [
    row([
      'scenario',
      'SSH conn.',
      'SSH auth req.',
      'SSH channels',
      'SSH channel req.',
      'TCP conn. 22/443/80',
      'HTTP req.',
      'docker/systemctl commands',
      'bytes sent',
      'bytes received',
      'wall ÷ RTT',
      'round trips on the wire (per connection)',
      'floor',
      'from wall times',
    ]),
    row(['---', ...Array(13).fill('---:')]),
  ]
  for (const s of results.scenarios) {
    const samples = s.byDelay[delay]?.samples ?? []
    if (samples.length === 0) {
      lines.push(row([s.label, ...Array(11).fill('—'), wireCell(s.wire), ...Array(2).fill('—')]))
      continue
    }
    const wall = median(samples.map((x) => x.wallMs))
    const floor = floorRoundTrips(s.id)
    lines.push(
      row([
        s.label,
        med(samples, (x) => x.sshConnections),
        med(samples, (x) => x.sshAuthRequests),
        med(samples, (x) => x.sshChannels),
        med(samples, (x) => x.sshChannelRequests),
        [22, 443, 80].map((port) => med(samples, (x) => x.tcpConnections[port] ?? 0)).join('/'),
        med(samples, (x) => x.httpRequests),
        med(samples, (x) => x.serverCommands),
        formatBytes(median(samples.map((x) => x.bytesUp))),
        formatBytes(median(samples.map((x) => x.bytesDown))),
        formatRoundTrips(wallRoundTrips(wall, delay)),
        wireCell(s.wire),
        floor === undefined ? '—' : String(floor),
        formatRoundTrips(scenarioNetworkRoundTrips(results, s.id, delay)),
      ]),
    )
  }
  return { rtt, lines }
}

/** @param {Results} results */
export function targetsOf(results) {
  const delay = judgedDelay(results)
  return judgeTargets({
    oneWayMs: delay,
    wallMs: (id) => medianWall(results, id, delay),
    roundTrips: (id) => scenarioRoundTrips(results, id, delay),
    startupMs: results.startup?.loadMs.median,
  })
}

/** @param {Results} results */
function targetTable(results) {
  const verdict = (/** @type {boolean | undefined} */ pass) =>
    pass === undefined ? 'not measured' : pass ? '✅ pass' : '❌ miss'
  return [
    row(['target', 'limit', 'measured', 'result', 'note']),
    row(['---', '---', '---:', '---', '---']),
    ...targetsOf(results).map((t) => row([t.target, t.limit, t.measured, verdict(t.pass), t.note])),
  ]
}

/** @param {Startup} startup */
function startupTable(startup) {
  const cell = (/** @type {Summary} */ s) =>
    `${Math.round(s.median)} ms (${Math.round(s.min)}–${Math.round(s.max)}, ${s.n} runs)`
  return [
    row(['', '']),
    row(['---', '---:']),
    row(['size of dist/index.cjs (what the action loads)', formatBytes(startup.bundleBytes)]),
    row(['size of dist/ (with the CLI bundle)', formatBytes(startup.distBytes)]),
    row(['Node 24 loads dist/index.cjs and stops at input validation', cell(startup.loadMs)]),
    row(['Node 24 running nothing, for comparison', cell(startup.bareNodeMs)]),
  ]
}

/** The floor's steps, as a legend under the exchange table. */
function floorLegend() {
  const steps = Object.entries(FLOOR_STEPS)
    .map(([name, step]) => `${name} ${step.roundTrips} (${step.what})`)
    .join('; ')
  const scenarios = Object.entries(SCENARIO_FLOORS)
    .map(([id, parts]) => `${id} = ${parts.join(' + ')}`)
    .join('; ')
  return `Floor, in round trips: ${steps}. ${scenarios}.`
}

/**
 * The tables, shared by bench/results.md and the README.
 * @param {Results} results
 */
export function renderTables(results) {
  const { meta } = results
  const delay = judgedDelay(results)
  const exchange = exchangeTable(results)
  const parts = [
    `Measured ${meta.date} on ${meta.machine}, ${meta.node}; ${meta.reps} runs of each scenario at each one-way delay; reproduce with \`${meta.command}\`.`,
    '',
    `**Wall time**, median (min–max) in seconds, and the ratio to the hand-written baseline at the same delay:`,
    '',
    ...wallTable(results),
    '',
    `**What each run exchanged** at ${delay} ms one-way (RTT ${exchange.rtt} ms), medians. SSH counts are read from sshd's log, TCP connections and bytes from the delaying proxy, HTTP requests from the site's nginx log, docker and systemctl commands from the test host's stand-ins (each is a process start on the server, its time is in the 0 ms column). "Round trips on the wire" are counted by a relay in front of the test host's ports (bench/flight-relay.mjs) in one more run of each scenario, behind the delay: a connection costs 2 (the TCP handshake and the first answer), plus 1 each time the client speaks again after an answer it had to wait for; SSH connections add up, HTTP(S) connections open at the same time count once (the slowest). Neither load nor the servers' work changes this count. "From wall times" is (wall at ${delay} ms − wall at 0 ms) ÷ RTT of the fastest runs: close to the count where little work is done (baseline, check), noisy where the server works for seconds.`,
    '',
    ...exchange.lines,
    '',
    floorLegend(),
    '',
    '**Targets** (issue 8):',
    '',
    ...targetTable(results),
  ]
  if (results.startup) parts.push('', '**Start-up cost:**', '', ...startupTable(results.startup))
  return `${parts.join('\n')}\n`
}

/**
 * bench/results.md.
 * @param {Results} results
 */
export function renderResultsFile(results) {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (scripts/bench.mjs): deploys and checks of commento-deploy against the test',
    'host behind a delaying TCP proxy, side by side with the hand-written baseline (OpenSSH `scp -r` of the',
    "release, one `ssh` running the article's setup commands, `curl` of /js/commento.js).",
    '',
    renderTables(results),
  ].join('\n')
}

/**
 * The README's performance section: how to run the benchmark, then the tables of the last full run.
 * @param {Results} results
 */
export function renderReadmeSection(results) {
  return [
    '`npm run bench` (as root, with the test dependencies of `scripts/install-test-deps.sh`; about 6 minutes)',
    'starts the test host behind a delaying TCP proxy (0, 25 and 50 ms one-way; 50 ms is about a transatlantic',
    'runner) and measures deploys, a check and a plan against the way the article deploys by hand: `scp -r` of',
    'the stack, one `ssh` running its setup commands, one `curl`. `npm run bench -- --quick` measures 50 ms only',
    'and writes nothing. The full run writes [bench/results.md](bench/results.md) and this section:',
    '',
    renderTables(results),
  ].join('\n')
}

/**
 * Replaces what stands between the markers (the markers stay).
 * @param {string} text
 * @param {string} body
 */
export function replaceReadmeSection(text, body) {
  const start = text.indexOf(README_START)
  const end = text.indexOf(README_END)
  if (start < 0 || end < start) {
    throw new Error(`README.md has no ${README_START} … ${README_END} section to put the results in`)
  }
  return `${text.slice(0, start + README_START.length)}\n${body.trimEnd()}\n${text.slice(end)}`
}
