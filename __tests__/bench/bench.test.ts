// The benchmark's pure parts (scripts/bench.mjs, bench/): statistics, round-trip arithmetic, counting
// sshd's log, the targets, the baseline's commands and the rendered tables. No timings.
import { baselineScript, parseOutputFile, type Sample } from '../../bench/measure.mjs'
import {
  fastestWall,
  formatBytes,
  medianWall,
  README_END,
  README_START,
  type Results,
  renderReadmeSection,
  renderResultsFile,
  renderTables,
  replaceReadmeSection,
  scenarioNetworkRoundTrips,
  targetsOf,
} from '../../bench/render-results.mjs'
import {
  connectionRoundTrips,
  countSshLog,
  type Flight,
  floorRoundTrips,
  judgeTargets,
  networkRoundTrips,
  runRoundTrips,
  wallRoundTrips,
} from '../../bench/round-trips.mjs'
import { median, summarize } from '../../bench/stats.mjs'

describe('statistics', () => {
  it('takes the median of odd and even counts, and the spread', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(summarize([5, 1, 9, 3])).toEqual({ n: 4, median: 4, min: 1, max: 9 })
    expect(() => median([])).toThrow('median of no values')
  })
})

describe('round trips', () => {
  it('has a floor for each scenario: the SSH session, the upload, the check and the verdict', () => {
    expect(floorRoundTrips('check')).toBe(3) // TCP, TLS 1.3, one parallel round of requests
    expect(floorRoundTrips('plan')).toBe(7) // TCP 1, key exchange 2, authentication 2, channel 2
    expect(floorRoundTrips('unchanged')).toBe(11) // 7 + check 3 + verdict 1
    expect(floorRoundTrips('changed')).toBe(12) // + the upload
    expect(floorRoundTrips('first')).toBe(12)
    expect(floorRoundTrips('baseline')).toBeUndefined()
  })

  it('turns wall times into round trips at a one-way delay', () => {
    expect(wallRoundTrips(1000, 50)).toBe(10)
    expect(wallRoundTrips(1000, 0)).toBeUndefined()
    // 2.6 s at 50 ms, 1.5 s without delay: the network added 11 round trips of 100 ms.
    expect(networkRoundTrips(2600, 1500, 50)).toBeCloseTo(11)
    expect(networkRoundTrips(1300, 800, 25)).toBeCloseTo(10)
    expect(networkRoundTrips(1000, 900, 0)).toBeUndefined()
  })

  /** Flights as the relay writes them down: each side answering the other after half a round trip. */
  const trace = (sides: string, rttMs = 100): Flight[] =>
    [...sides].map((side, i) => ({ side: side as 'c' | 's', atMs: (i * rttMs) / 2, bytes: 100 }))

  it('counts the round trips of a connection from when its sides spoke', () => {
    expect(connectionRoundTrips(trace('cs'), 100)).toBe(2) // TCP handshake, one request and its answer
    expect(connectionRoundTrips(trace('cscs'), 100)).toBe(3) // TLS 1.3 handshake, then one request
    expect(connectionRoundTrips(trace('cscsc'), 100)).toBe(3) // a last close nobody answers is not waited for
    expect(connectionRoundTrips(trace('scscs'), 100)).toBe(4) // the server spoke first (a greeting)
    expect(connectionRoundTrips(trace('c'), 100)).toBe(1)
    expect(connectionRoundTrips([], 100)).toBe(1)
    // An SSH deploy: KEXINIT both ways, then ECDH, NEWKEYS + service request, key query, signed key, channel
    // open, exec (the script asks for the release), the release (it awaits the verdict), the verdict; a close.
    expect(connectionRoundTrips(trace(`${'cs'.repeat(9)}c`), 100)).toBe(10)
    // Without delay every answer counts: the trace's times do not matter.
    expect(connectionRoundTrips(trace('cscs', 0), 0)).toBe(3)
  })

  it('does not count a flight the client sent without waiting for the answer in between', () => {
    // The client writes a packet in two pieces while the server's own announcement passes in between.
    const split: Flight[] = [
      { side: 'c', atMs: 0, bytes: 22 },
      { side: 's', atMs: 100, bytes: 1129 },
      { side: 'c', atMs: 101, bytes: 4 },
      { side: 's', atMs: 101.1, bytes: 412 },
      { side: 'c', atMs: 101.2, bytes: 48 },
      { side: 's', atMs: 201, bytes: 52 },
      { side: 'c', atMs: 202, bytes: 22_904 },
      { side: 's', atMs: 302, bytes: 1136 },
    ]
    expect(connectionRoundTrips(split, 100)).toBe(4)
    // Without delay the same order would look like one more round trip.
    expect(connectionRoundTrips(split, 0)).toBe(5)
  })

  it('adds SSH connections up, and counts HTTP(S) connections open at the same time once', () => {
    const ssh = { port: 22, startMs: 0, endMs: 1000, flights: trace('cscscs') } // 4
    const https = { port: 443, startMs: 400, endMs: 600, flights: trace('cscscs') } // 4
    const http = { port: 80, startMs: 410, endMs: 500, flights: trace('cscs') } // 3, in parallel with https
    const retry = { port: 443, startMs: 700, endMs: 800, flights: trace('cscs') } // 3, after both
    expect(runRoundTrips([ssh, https, http], 100)).toBe(8)
    expect(runRoundTrips([http, retry, ssh, https], 100)).toBe(11)
    expect(runRoundTrips([ssh, { ...ssh, startMs: 2000, endMs: 3000 }], 100)).toBe(8)
    expect(runRoundTrips([], 100)).toBe(0)
  })

  it("counts connections, authentication requests, channels and requests in sshd's log", () => {
    const log = [
      'Connection from 127.0.0.1 port 34130 on 127.0.0.1 port 10022 rdomain ""',
      'debug1: userauth-request for user root service ssh-connection method none [preauth]',
      'debug1: userauth-request for user root service ssh-connection method publickey [preauth]',
      'debug1: server_input_channel_open: ctype session rchan 0 win 2097152 max 32768',
      'debug1: server_input_channel_open: confirm session',
      'debug1: server_input_global_request: rtype no-more-sessions@openssh.com want_reply 0',
      'debug1: server_input_channel_req: channel 0 request env reply 0',
      'debug1: server_input_channel_req: channel 0 request exec reply 1',
      'Connection from 127.0.0.1 port 34132 on 127.0.0.1 port 10022 rdomain ""',
    ].join('\n')
    expect(countSshLog(log)).toEqual({ connections: 2, authRequests: 2, channels: 1, channelRequests: 2 })
    expect(countSshLog('')).toEqual({ connections: 0, authRequests: 0, channels: 0, channelRequests: 0 })
  })

  it('judges the targets: ratios to the baseline, the check against its floor, the start-up', () => {
    const walls: Record<string, number> = { baseline: 10_000, changed: 2_500, unchanged: 2_100, check: 700 }
    const roundTrips: Record<string, number> = { baseline: 90, changed: 18, check: 5.4 }
    const targets = judgeTargets({
      oneWayMs: 50,
      wallMs: (id) => walls[id],
      roundTrips: (id) => roundTrips[id],
      startupMs: 199,
    })
    expect(targets.map((t) => [t.measured, t.pass, t.note])).toEqual([
      ['0.25 × baseline', true, 'network alone: 0.20 × baseline (18 vs 90 round trips)'],
      ['0.21 × baseline', false, ''],
      ['5.4 round trips', false, "wall ÷ RTT, Node's start-up included: 7.0"],
      ['199 ms', true, ''],
    ])
    const unmeasured = judgeTargets({
      oneWayMs: 50,
      wallMs: () => undefined,
      roundTrips: () => undefined,
      startupMs: undefined,
    })
    expect(unmeasured.every((t) => t.pass === undefined)).toBe(true)
  })
})

describe('the baseline', () => {
  const sshArgs = [
    '-F',
    '/dev/null',
    '-o',
    'UserKnownHostsFile=/h/known_hosts',
    '-i',
    '/h/keys/root',
    '-p',
    '22',
    'root@comments.test',
  ]
  const script = baselineScript({
    sshArgs,
    localDir: '/tmp/x/release',
    remoteDir: '/opt/commento',
    unit: 'commento.service',
    volumes: ['commento_postgres_volume', 'certbot_etc_volume'],
    domain: 'comments.test',
    caPath: '/tmp/x/pki/root.pem',
  })
  const lines = script.trim().split('\n')

  it('copies the release with scp -r (port as -P), then one ssh runs the setup, then curl', () => {
    expect(lines[0]).toBe('set -euo pipefail')
    expect(lines[1]).toBe(
      "scp -q -r '-F' '/dev/null' '-o' 'UserKnownHostsFile=/h/known_hosts' '-i' '/h/keys/root' '-P' '22' '/tmp/x/release/commento' 'root@comments.test:/opt/'",
    )
    expect(lines[2]).toBe(
      `ssh ${sshArgs.map((a) => `'${a}'`).join(' ')} 'docker volume create commento_postgres_volume && docker volume create certbot_etc_volume && cp /opt/commento/current/systemd/commento.service /etc/systemd/system/commento.service && systemctl daemon-reload && systemctl restart commento.service'`,
    )
    expect(lines[3]).toBe(
      "curl -fsS --cacert '/tmp/x/pki/root.pem' -o /dev/null https://comments.test/js/commento.js",
    )
    expect(lines).toHaveLength(4)
  })
})

describe('reading the action', () => {
  it("reads the runner's output file", () => {
    expect(parseOutputFile('status<<ghadelimiter_1\nhealthy\nghadelimiter_1\nx<<D\na\nb\nD\n')).toEqual({
      status: 'healthy',
      x: 'a\nb',
    })
  })
})

describe('the results tables', () => {
  const sample = (wallMs: number, extra: Partial<Sample> = {}): Sample => ({
    wallMs,
    sshConnections: 1,
    sshAuthRequests: 2,
    sshChannels: 1,
    sshChannelRequests: 1,
    tcpConnections: { 22: 1, 443: 1, 80: 1 },
    bytesUp: 67_319,
    bytesDown: 9_500,
    httpRequests: 4,
    serverCommands: 9,
    ...extra,
  })
  const runs = (...walls: number[]) => ({ samples: walls.map((w) => sample(w)), failures: 0 })
  const results: Results = {
    meta: {
      date: '2026-12-04',
      machine: '2 × CPU, Linux 6',
      node: 'Node v24.0.0',
      reps: 3,
      delays: [0, 50],
      command: 'npm run bench',
    },
    scenarios: [
      {
        id: 'baseline',
        label: 'baseline',
        byDelay: { 0: runs(1300, 1400, 1350), 50: runs(10_000, 10_400, 10_600) },
        wire: {
          roundTrips: 88,
          connections: [
            { port: 22, roundTrips: 80 },
            { port: 22, roundTrips: 5 },
            { port: 443, roundTrips: 3 },
          ],
        },
      },
      {
        id: 'unchanged',
        label: 'unchanged redeploy',
        byDelay: { 0: runs(1500, 1600, 1400), 50: runs(2600, 2500, 2700) },
        wire: {
          roundTrips: 13,
          connections: [
            { port: 22, roundTrips: 9 },
            { port: 443, roundTrips: 4 },
            { port: 80, roundTrips: 3 },
          ],
        },
      },
      { id: 'check', label: 'check', byDelay: { 0: runs(200), 50: { samples: [], failures: 2 } } },
    ],
    startup: {
      bundleBytes: 2_340_000,
      distBytes: 4_700_000,
      loadMs: { n: 15, median: 167.4, min: 128, max: 184 },
      bareNodeMs: { n: 15, median: 36, min: 28, max: 43 },
    },
  }

  it('computes medians, network round trips and ratios from the samples', () => {
    expect(medianWall(results, 'baseline', 50)).toBe(10_400)
    expect(medianWall(results, 'check', 50)).toBeUndefined()
    // From the fastest runs: (2.5 s − 1.4 s) ÷ 100 ms.
    expect(fastestWall(results, 'unchanged', 0)).toBe(1400)
    expect(scenarioNetworkRoundTrips(results, 'unchanged', 50)).toBeCloseTo(11)
    expect(formatBytes(67_319)).toBe('67.3 kB')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(2_340_000)).toBe('2.34 MB')
  })

  it('renders wall times with spread and ratio, the exchange table, targets and start-up', () => {
    const text = renderTables(results)
    expect(text).toContain('| scenario | 0 ms one-way | 50 ms one-way |')
    expect(text).toContain('| baseline | 1.35 s (1.30–1.40) | 10.40 s (10.00–10.60) |')
    expect(text).toContain('| unchanged redeploy | 1.50 s (1.40–1.60) · 1.11× | 2.60 s (2.50–2.70) · 0.25× |')
    expect(text).toContain('| check | 0.20 s (0.20–0.20) · 0.15× | failed (2 runs) |')
    // median 2.6 s ÷ 100 ms = 26; 13 counted on the wire (floor 11); fastest (2.5 − 1.4) ÷ 0.1 = 11 from walls.
    expect(text).toContain(
      '| unchanged redeploy | 1 | 2 | 1 | 1 | 1/1/1 | 4 | 9 | 67.3 kB | 9.5 kB | 26.0 | 13 (22: 9, 443: 4, 80: 3) | 11 | 11.0 |',
    )
    // The network ratio uses the counts on the wire.
    expect(text).toContain(
      '| unchanged redeploy at 50 ms one-way | ≤ 0.2 × baseline | 0.25 × baseline | ❌ miss | network alone: 0.15 × baseline (13 vs 88 round trips) |',
    )
    expect(text).toContain(
      '| changed deploy at 50 ms one-way | ≤ 0.25 × baseline | not measured | not measured |  |',
    )
    expect(text).toContain(
      '| Node 24 loads dist/index.cjs and stops at input validation | 167 ms (128–184, 15 runs) |',
    )
    expect(text).toContain('reproduce with `npm run bench`')
    expect(targetsOf(results).find((t) => t.target.startsWith('start-up'))?.pass).toBe(true)
    expect(renderResultsFile(results)).toMatch(/^# Benchmark results\n[\s\S]*\| baseline \| 1\.35 s/)
    // The README quotes the same tables, after how to run the benchmark.
    const section = renderReadmeSection(results)
    expect(section).toContain('`npm run bench -- --quick`')
    expect(section.endsWith(text)).toBe(true)
  })

  it("replaces only the README's performance section, keeping its markers", () => {
    const readme = `# x\n## Performance\n\n${README_START}\nold\n${README_END}\n\n## Next\n`
    expect(replaceReadmeSection(readme, 'new table\n')).toBe(
      `# x\n## Performance\n\n${README_START}\nnew table\n${README_END}\n\n## Next\n`,
    )
    expect(() => replaceReadmeSection('# no markers\n', 'x')).toThrow('bench:start')
  })
})
