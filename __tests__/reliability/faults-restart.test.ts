// Faults at and after the restart, injected for real against the test host: `systemctl reload` failing,
// `systemctl start` of a stopped stack failing, and the HTTPS check failing after a restart. Each ends
// rolled back to the previous release, which runs again, the lock released, and the next deploy succeeding.
import { type FaultHost, startFaultHost } from './helpers/fault-host.js'
import { type FaultRow, recordFaultTable } from './helpers/fault-table.js'
import { faultedDeploy } from './helpers/faulted-deploy.js'

let f: FaultHost
const rows: FaultRow[] = []
let serial = 200

beforeAll(async () => {
  f = await startFaultHost()
  await f.deployOk(f.inputs(serial))
}, 60_000)

afterAll(async () => {
  recordFaultTable('Server faults: restart, HTTPS check', rows)
  await f?.stop()
})

it('`systemctl reload` fails: rolled back to the previous release, which runs again', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: 'the restart fails (`systemctl reload`)',
      injection: "failNext('systemctl reload')",
      inject: async () => {
        f.host.failNext('systemctl reload', { stderr: 'Job for commento.service failed.' })
        return undefined
      },
      message:
        /::error::The restart phase failed on the server: systemctl reload commento\.service failed; rolled back to r/,
      resultInLog: 'failed:restart,rolled-back',
      check: (run, commands) => {
        expect(run.outputs['rolled-back']).toBe('true')
        // The failed reload, then the reload of the previous release.
        expect(commands.filter((c) => c === 'systemctl reload commento.service')).toHaveLength(2)
      },
    }),
  )
})

it('`systemctl start` of a stopped stack fails: rolled back, and the previous release is started again', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: 'the restart fails (`systemctl start` of a stopped stack)',
      injection: "the unit stopped, then failNext('systemctl start')",
      inject: async () => {
        await f.host.exec('systemctl stop commento.service')
        f.host.failNext('systemctl start', { stderr: 'Job for commento.service failed.' })
        return undefined
      },
      message:
        /::error::The restart phase failed on the server: systemctl start commento\.service failed; rolled back to r/,
      resultInLog: 'failed:restart,rolled-back',
      check: (run, commands) => {
        expect(run.outputs['rolled-back']).toBe('true')
        // The failed start of the new release, then a start (not a reload) of the previous one.
        expect(commands.filter((c) => /^systemctl (start|reload|restart) /.test(c))).toEqual([
          'systemctl start commento.service',
          'systemctl start commento.service',
        ])
      },
    }),
  )
})

it('the HTTPS check fails after the restart: rolled back to the previous release, which runs again', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: 'the HTTPS check fails after the restart',
      injection: 'breakSiteOnNextUp(): the new release answers 502 on everything',
      overrides: { 'wait-timeout': '3' },
      inject: async () => {
        f.host.breakSiteOnNextUp()
        return undefined
      },
      message:
        /::error::https:\/\/comments\.test\/? is unhealthy after the deploy: .*Rolled back to the previous release/,
      resultInLog: 'rolled-back',
      check: (run) => {
        expect(run.outputs).toMatchObject({ 'rolled-back': 'true', status: 'unhealthy' })
        expect(f.host.state().site.broken).toBe(false)
      },
    }),
  )
})
