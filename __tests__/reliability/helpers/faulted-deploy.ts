// What the server fault tests share: a deploy of a new release with a fault injected, the checks that the
// old release survived with its lock released, the next deploy succeeding, and a row for the fault table.
import { expectExit } from './bundle.js'
import type { FaultHost } from './fault-host.js'
import { reported } from './fault-host.js'
import { describeServer, type FaultRow } from './fault-table.js'

/** Stand-in calls made since `from` calls had been recorded. */
function commandsSince(f: FaultHost, from: number): string[] {
  return f.host
    .calls()
    .slice(from)
    .map((c) => c.command)
}

export const RESTARTS = /^systemctl (start|restart|reload|stop)|^docker compose (up|down|stop|restart)/

export interface Faulted {
  readonly fault: string
  readonly injection: string
  /** Sets the fault up before the deploy; returns an undo for after it (e.g. free the disk again). */
  readonly inject: () => Promise<(() => Promise<void>) | undefined>
  readonly big?: boolean
  readonly overrides?: Record<string, string>
  /** What the failing deploy must have said. */
  readonly message: RegExp
  readonly resultInLog: string
  /** More assertions on the faulted run. */
  readonly check?: (run: Awaited<ReturnType<FaultHost['run']>>, commands: string[]) => void
}

/** Injects a fault into a deploy of a new release, checks that the old release survives, then deploys again. */
export async function faultedDeploy(f: FaultHost, serial: number, spec: Faulted): Promise<FaultRow> {
  const old = await f.settled()
  expect(old).toMatch(/^r[0-9a-f]{12}$/)
  const inputs = f.inputs(serial, spec.overrides, spec.big)
  const undo = await spec.inject()
  const from = f.host.calls().length
  const run = await f.run(inputs)
  await undo?.()
  expectExit(run, 1)
  expect(run.stdout).toMatch(spec.message)
  spec.check?.(run, commandsSince(f, from))
  expect(f.host.forbiddenCalls()).toEqual([])
  expect(f.host.unknownCalls()).toEqual([])

  const after = await f.snapshot()
  expect(await f.settled()).toBe(old)
  expect(after).toMatchObject({ lockHeld: false, incoming: [] })
  expect(after.logLines.at(-1)).toMatch(new RegExp(` result=${spec.resultInLog}$`))

  const next = await f.run({ ...inputs, 'wait-timeout': '15' })
  expectExit(next, 0)
  expect(await f.settled()).toBe(next.outputs.release)
  return {
    fault: spec.fault,
    injection: spec.injection,
    reported: `${reported(run)}${run.outputs['rolled-back'] === 'true' ? ' (output rolled-back=true)' : ''}`,
    server: `${describeServer(after, { old }, old)}; log: result=${spec.resultInLog}`,
    lock: after.lockHeld ? 'held' : 'released',
    nextDeploy: `succeeded (${next.outputs.release})`,
  }
}
