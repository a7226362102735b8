// Round-trip arithmetic of the benchmark: the floor each scenario cannot go below, the round trips a
// measured wall time stands for, what sshd's log says was exchanged, and the targets of issue 8.
// Pure functions, tested in __tests__/bench/bench.test.ts.

/**
 * The steps a scenario needs at the very least, each in round trips (RTT = 2 × the one-way delay).
 * Messages that may travel together (NEWKEYS with the service request, the exec request with the
 * channel's first data) are counted once.
 */
export const FLOOR_STEPS = Object.freeze({
  tcp: { roundTrips: 1, what: 'TCP handshake' },
  sshKex: { roundTrips: 2, what: 'SSH version and KEXINIT exchange, then the ECDH key exchange' },
  sshAuth: { roundTrips: 2, what: 'SSH service request, then one signed publickey request' },
  sshChannel: { roundTrips: 2, what: 'one session channel: open, then exec until the script answers' },
  upload: { roundTrips: 1, what: 'the server says it lacks the release, the runner sends it' },
  verdict: {
    roundTrips: 1,
    what: "the runner's HTTPS verdict goes to the server, its exit status comes back",
  },
  tls: { roundTrips: 1, what: 'TLS 1.3 handshake' },
  request: { roundTrips: 1, what: 'one HTTP request per probe, all probes in parallel' },
})

/** @typedef {keyof typeof FLOOR_STEPS} FloorStep */

/** The check from the runner: a TCP and a TLS handshake, then every probe's request at once. */
const CHECK = /** @type {FloorStep[]} */ (['tcp', 'tls', 'request'])
/** One SSH session doing one exchange. */
const SESSION = /** @type {FloorStep[]} */ (['tcp', 'sshKex', 'sshAuth', 'sshChannel'])

/** The floor of each scenario, as the steps it is made of. */
export const SCENARIO_FLOORS = Object.freeze({
  first: [...SESSION, 'upload', ...CHECK, 'verdict'],
  changed: [...SESSION, 'upload', ...CHECK, 'verdict'],
  unchanged: [...SESSION, ...CHECK, 'verdict'],
  check: [...CHECK],
  // plan: one exec whose answer is the plan; the last exchange of the channel is the exit status.
  plan: ['tcp', 'sshKex', 'sshAuth', 'sshChannel'],
})

/**
 * The floor of a scenario in round trips, or undefined when it has none (the baseline).
 * @param {string} scenario
 * @returns {number | undefined}
 */
export function floorRoundTrips(scenario) {
  const steps = /** @type {Record<string, FloorStep[]>} */ (SCENARIO_FLOORS)[scenario]
  return steps?.reduce((sum, step) => sum + FLOOR_STEPS[step].roundTrips, 0)
}

/**
 * Round trips a wall time stands for: wall ÷ RTT (everything, local work included).
 * @param {number} wallMs
 * @param {number} oneWayMs
 * @returns {number | undefined} undefined without delay
 */
export function wallRoundTrips(wallMs, oneWayMs) {
  return oneWayMs > 0 ? wallMs / (2 * oneWayMs) : undefined
}

/**
 * Round trips the network added: (wall at this delay − wall without delay) ÷ RTT. The stand-ins' work,
 * Node's start-up and the local computing are in both walls and cancel out.
 * @param {number} wallMs
 * @param {number} wallAtZeroMs
 * @param {number} oneWayMs
 * @returns {number | undefined}
 */
export function networkRoundTrips(wallMs, wallAtZeroMs, oneWayMs) {
  return oneWayMs > 0 ? (wallMs - wallAtZeroMs) / (2 * oneWayMs) : undefined
}

/**
 * What one stretch of sshd's DEBUG1 log says the clients did.
 * @param {string} log
 * @returns {{ connections: number, authRequests: number, channels: number, channelRequests: number }}
 */
export function countSshLog(log) {
  const count = (/** @type {RegExp} */ pattern) => (log.match(pattern) ?? []).length
  return {
    connections: count(/^Connection from \S+ port \d+ on /gm),
    authRequests: count(/userauth-request for user \S+ service \S+ method /g),
    channels: count(/server_input_channel_open: ctype /g),
    channelRequests: count(/server_input_channel_req: channel \d+ request /g),
  }
}

/**
 * The targets of issue 8, at the largest delay measured (50 ms one-way in a full run): wall times are
 * medians, round trips come from the fastest runs (see render-results.mjs).
 * The deploy ratios are judged on wall time, as the issue states them; the note gives the ratio of the
 * round trips the network added, which leaves out the stand-ins' work (real processes on the test host,
 * not free). The check is judged on the round trips the network added, which is what its floor counts;
 * the note gives wall ÷ RTT, start-up included.
 * @param {{
 *   wallMs: (scenario: string) => number | undefined,
 *   networkRoundTrips: (scenario: string) => number | undefined,
 *   startupMs: number | undefined,
 *   oneWayMs: number,
 * }} measured
 * @returns {{ target: string, limit: string, measured: string, pass: boolean | undefined, note: string }[]}
 */
export function judgeTargets(measured) {
  const base = measured.wallMs('baseline')
  const baseRoundTrips = measured.networkRoundTrips('baseline')
  /** @param {string} scenario @param {string} label @param {number} limit */
  const ratioTarget = (scenario, label, limit) => {
    const wall = measured.wallMs(scenario)
    const ratio = wall !== undefined && base ? wall / base : undefined
    const roundTrips = measured.networkRoundTrips(scenario)
    const networkRatio = roundTrips !== undefined && baseRoundTrips ? roundTrips / baseRoundTrips : undefined
    return {
      target: `${label} at ${measured.oneWayMs} ms one-way`,
      limit: `≤ ${limit} × baseline`,
      measured: ratio === undefined ? 'not measured' : `${ratio.toFixed(2)} × baseline`,
      pass: ratio === undefined ? undefined : ratio <= limit,
      note:
        networkRatio === undefined || roundTrips === undefined || baseRoundTrips === undefined
          ? ''
          : `network alone: ${networkRatio.toFixed(2)} × baseline (${roundTrips.toFixed(1)} vs ${baseRoundTrips.toFixed(1)} round trips)`,
    }
  }
  const checkFloor = /** @type {number} */ (floorRoundTrips('check'))
  const checkRoundTrips = measured.networkRoundTrips('check')
  const checkWall = measured.wallMs('check')
  const checkWallRoundTrips =
    checkWall === undefined ? undefined : wallRoundTrips(checkWall, measured.oneWayMs)
  return [
    ratioTarget('changed', 'changed deploy', 0.25),
    ratioTarget('unchanged', 'unchanged redeploy', 0.2),
    {
      target: `healthy check at ${measured.oneWayMs} ms one-way`,
      limit: `≤ floor + 2 = ${checkFloor + 2} round trips`,
      measured:
        checkRoundTrips === undefined
          ? 'not measured (needs the 0 ms runs)'
          : `${checkRoundTrips.toFixed(1)} round trips`,
      pass: checkRoundTrips === undefined ? undefined : checkRoundTrips <= checkFloor + 2,
      note:
        checkWallRoundTrips === undefined
          ? ''
          : `wall ÷ RTT, Node's start-up included: ${checkWallRoundTrips.toFixed(1)}`,
    },
    {
      target: 'start-up: load dist/index.cjs and reach input validation',
      limit: '< 200 ms',
      measured: measured.startupMs === undefined ? 'not measured' : `${Math.round(measured.startupMs)} ms`,
      pass: measured.startupMs === undefined ? undefined : measured.startupMs < 200,
      note: '',
    },
  ]
}
