// Deploys started at once (two, then five), each of its own release, against the test host: they take
// turns through the lock, the final state is the last one's, and no release dir mixes files of two uploads.
import type { BundleRun } from './helpers/bundle.js'
import { expectExit } from './helpers/bundle.js'
import { type FaultHost, startFaultHost } from './helpers/fault-host.js'
import { type FaultRow, recordFaultTable } from './helpers/fault-table.js'
import { releasesAgainstManifests } from './helpers/server.js'

let f: FaultHost
const rows: FaultRow[] = []

beforeAll(async () => {
  f = await startFaultHost()
  await f.deployOk(f.inputs(300))
}, 60_000)

afterAll(async () => {
  recordFaultTable('Concurrent deploys', rows)
  await f?.stop()
})

/**
 * The stand-in calls of each deploy that changed something, in order: `pull … reload` per deploy. They
 * alternate without overlap when the deploys took turns.
 */
function applySequence(from: number): string[] {
  return f.host
    .calls()
    .slice(from)
    .map((c) => c.command)
    .filter((c) => /^docker compose (pull|build) |^systemctl (start|reload|restart) /.test(c))
}

async function together(count: number, firstSerial: number): Promise<void> {
  const logBefore = (await f.snapshot()).logLines.length
  const from = f.host.calls().length
  const runs: BundleRun[] = await Promise.all(
    Array.from({ length: count }, (_, i) => f.run(f.inputs(firstSerial + i, { 'keep-releases': '10' }))),
  )
  for (const run of runs) expectExit(run, 0)
  const releases = runs.map((run) => run.outputs.release as string)
  expect(new Set(releases).size).toBe(count)
  // All but the first waited for the lock.
  const waited = runs.filter((run) => /another deploy holds the lock .*: waiting/.test(run.shown))
  expect(waited.length).toBeGreaterThanOrEqual(count - 1)

  // One log line per deploy, in the order they held the lock; each applied the one before it as previous.
  const after = await f.snapshot()
  const lines = after.logLines.slice(logBefore)
  expect(lines).toHaveLength(count)
  const order = lines.map((line) => /release=(\S+)/.exec(line)?.[1] ?? '')
  expect([...order].sort()).toEqual([...releases].sort())
  for (const line of lines) expect(line).toMatch(/changed=1 result=healthy$/)
  for (let i = 1; i < count; i++) expect(lines[i]).toContain(`previous=${order[i - 1]}`)

  // Turns: pull and build (side by side, in either order), then reload, of one deploy, then the next's,
  // never interleaved.
  const sequence = applySequence(from)
  const turns = Array.from({ length: Math.ceil(sequence.length / 3) }, (_, i) => {
    const [first, second, ...rest] = sequence.slice(3 * i, 3 * i + 3)
    return [new Set([first, second]), ...rest]
  })
  expect(turns).toEqual(
    order.map(() => [
      new Set(['docker compose pull --quiet --ignore-buildable', 'docker compose build --pull --quiet']),
      'systemctl reload commento.service',
    ]),
  )

  // The final state is the last one's, and every release dir is exactly what its manifest names.
  const last = order.at(-1) as string
  expect(await f.settled()).toBe(last)
  expect(after).toMatchObject({ lockHeld: false, incoming: [] })
  const { releases: onServer, mismatches } = await releasesAgainstManifests(f.host)
  expect(mismatches).toEqual([])
  for (const release of releases) expect(onServer).toContain(release)

  rows.push({
    fault: `${count} deploys started at once`,
    injection: `${count} runs of the bundle spawned together, each with its own release`,
    reported: `all exit 0; ${waited.length} waited for the lock`,
    server: `the last one's release (${last}); ${onServer.length} release dirs, each matching its manifest.json`,
    lock: 'taken in turns, released',
    nextDeploy: 'each one applied after the one before (log: previous= the preceding release)',
  })
}

it('two deploys at once take turns; the last one wins; no files are mixed', async () => {
  await together(2, 310)
})

it('five deploys at once take turns; the last one wins; no files are mixed', async () => {
  await together(5, 320)
}, 90_000)
