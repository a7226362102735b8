// Faults on the way between the runner and the server, injected for real against the test host: the SSH
// connection cut during the upload, during the remote script and during the restart (the server side of the
// connection killed, as when the network drops: the remote script runs on by itself), and a deploy killed
// outright (SIGKILL) so that its lock is left behind. Each ends with the server on the old release or the
// new one, the lock released or recoverable, and the next deploy succeeding.

import { expectExit } from './helpers/bundle.js'
import { type FaultHost, reported, startFaultHost } from './helpers/fault-host.js'
import { describeServer, type FaultRow, recordFaultTable } from './helpers/fault-table.js'
import { remoteScriptsGone } from './helpers/server.js'

let f: FaultHost
let baseline: string
const rows: FaultRow[] = []

beforeAll(async () => {
  f = await startFaultHost()
  baseline = await f.deployOk(f.inputs(0))
}, 60_000)

// A test that failed before opening its gate must not hold the next one's deploy.
afterEach(() => f?.gates.openAll())

afterAll(async () => {
  recordFaultTable('SSH connection cut, deploy killed', rows)
  await f?.stop()
})

describe('the SSH connection cut', () => {
  it('during the upload: the release never lands, the old one keeps running', async () => {
    const old = await f.settled()
    expect(old).toBe(baseline)
    f.gates.arm('head', '-c')
    const run = f.start(f.inputs(1, {}, true))
    await f.gates.reached('head')
    const killed = f.host.killSshSessions()
    f.gates.open('head')
    const result = await run.done
    await remoteScriptsGone(f.host)
    expect(killed).toBeGreaterThan(0)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      /::error::The SSH connection was lost in the upload phase of the remote deploy/,
    )

    const after = await f.snapshot()
    expect(await f.settled()).toBe(old)
    expect(after).toMatchObject({ lockHeld: false, incoming: [] })
    expect(after.logLines.at(-1)).toMatch(/result=failed:upload$/)
    const next = await f.deployOk(f.inputs(1, {}, true))
    expect(await f.settled()).toBe(next)
    rows.push({
      fault: 'SSH connection cut during the upload',
      injection: 'sshd session killed while `head -c` receives the 150 KB tar (held by a gate)',
      reported: reported(result),
      server: describeServer(after, { old }, old),
      lock: after.lockHeld ? 'held' : 'released',
      nextDeploy: `succeeded (${next})`,
    })
  })

  it('during the remote script (images): the script finishes alone and never keeps an unverified release', async () => {
    const old = await f.settled()
    f.gates.arm('docker', 'compose pull')
    const run = f.start(f.inputs(2))
    await f.gates.reached('docker')
    f.host.killSshSessions()
    f.gates.open('docker')
    const result = await run.done
    await remoteScriptsGone(f.host)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      /::error::The SSH connection was lost in the images phase of the remote deploy/,
    )

    const after = await f.snapshot()
    const settled = await f.settled()
    expect(settled).toBe(old)
    expect(after).toMatchObject({ lockHeld: false, incoming: [] })
    expect(after.logLines.at(-1)).toMatch(/changed=1 result=unverified-rolled-back$/)
    const next = await f.deployOk(f.inputs(2))
    expect(await f.settled()).toBe(next)
    rows.push({
      fault: 'SSH connection cut during the remote script',
      injection: 'sshd session killed while `docker compose pull` runs (held by a gate)',
      reported: reported(result),
      server: `${describeServer(after, { old }, settled)}; log: ${after.logLines.at(-1)?.replace(/^.* result=/, 'result=')}`,
      lock: after.lockHeld ? 'held' : 'released',
      nextDeploy: `succeeded (${next})`,
    })
  })

  it('during the restart: the restart completes alone, then the unverified release is rolled back', async () => {
    const old = await f.settled()
    f.gates.arm('systemctl', 'reload')
    const run = f.start(f.inputs(3))
    await f.gates.reached('systemctl')
    f.host.killSshSessions()
    f.gates.open('systemctl')
    const result = await run.done
    await remoteScriptsGone(f.host)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(
      /::error::The SSH connection was lost in the restart phase of the remote deploy/,
    )

    const after = await f.snapshot()
    const settled = await f.settled()
    expect(settled).toBe(old)
    expect(after).toMatchObject({ lockHeld: false, incoming: [] })
    expect(after.logLines.at(-1)).toMatch(/changed=1 result=unverified-rolled-back$/)
    // The new release did come up before it was taken back.
    const reloads = f.host.calls().filter((c) => c.command === 'systemctl reload commento.service')
    expect(reloads.slice(-2).map((c) => c.exitCode)).toEqual([0, 0])
    const next = await f.deployOk(f.inputs(3))
    expect(await f.settled()).toBe(next)
    rows.push({
      fault: 'SSH connection cut during the restart',
      injection: 'sshd session killed while `systemctl reload` runs (held by a gate)',
      reported: reported(result),
      server: `${describeServer(after, { old }, settled)}; log: ${after.logLines.at(-1)?.replace(/^.* result=/, 'result=')}`,
      lock: after.lockHeld ? 'held' : 'released',
      nextDeploy: `succeeded (${next})`,
    })
  })
})

describe('a deploy that died', () => {
  it('leaves its lock; the next deploy shows it is stale, recovers it with a warning, and succeeds', async () => {
    const old = await f.settled()
    f.gates.arm('docker', 'compose pull')
    const run = f.start(f.inputs(4))
    await f.gates.reached('docker')
    f.host.killSshSessions({ withCommands: true })
    f.gates.open('docker')
    const result = await run.done
    await remoteScriptsGone(f.host)
    expect(result.code).toBe(1)

    const after = await f.snapshot()
    expect(await f.settled()).toBe(old)
    expect(after.lockHeld).toBe(true)
    const nextRun = await f.run(f.inputs(4))
    expectExit(nextRun, 0)
    expect(nextRun.stdout).toMatch(
      /::warning::recovered a stale deploy lock left by octocat .*its process \d+ is gone/,
    )
    const final = await f.snapshot()
    expect(final.lockHeld).toBe(false)
    expect(await f.settled()).toBe(nextRun.outputs.release)
    rows.push({
      fault: 'deploy killed (SIGKILL) mid-run, its lock left behind',
      injection: 'the remote script and its commands killed while `docker compose pull` runs',
      reported: reported(result),
      server: describeServer(after, { old }, old),
      lock: 'left behind; the next deploy found its process gone and recovered it with a warning',
      nextDeploy: `succeeded (${nextRun.outputs.release})`,
    })
  })
})
