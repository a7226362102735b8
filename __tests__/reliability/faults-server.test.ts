// Faults on the server before anything restarts, injected for real against the test host: the disk full
// during the upload (a size-limited tmpfs over releases/), `docker compose pull` and `build` failing. Each
// ends with the old release still running, nothing restarted, the lock released, and the next deploy
// succeeding.
import { type FaultHost, startFaultHost } from './helpers/fault-host.js'
import { type FaultRow, recordFaultTable } from './helpers/fault-table.js'
import { faultedDeploy, RESTARTS } from './helpers/faulted-deploy.js'

let f: FaultHost
const rows: FaultRow[] = []
let serial = 100

beforeAll(async () => {
  f = await startFaultHost()
  await f.deployOk(f.inputs(serial))
}, 60_000)

afterAll(async () => {
  recordFaultTable('Server faults: disk, images', rows)
  await f?.stop()
})

it('the disk fills up during the upload: the partial release is removed, the old one keeps running', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: 'disk full during the upload',
      injection: 'a 4 MiB tmpfs over releases/ with 32 KiB left; the release tar is 150 KB',
      big: true,
      inject: async () => {
        await f.host.exec(`set -e
        cd /opt/commento
        mountpoint -q releases || {
          cp -a releases /tmp/releases-before
          mount -t tmpfs -o size=4m,mode=0755 reliability-disk-full releases
          cp -a /tmp/releases-before/. releases/
          rm -rf /tmp/releases-before
        }
        dd if=/dev/zero of=releases/.filler bs=64k 2>/dev/null || true
        truncate -s -32K releases/.filler`)
        // The user frees space before the next deploy.
        return async () => {
          await f.host.exec('rm -f /opt/commento/releases/.filler')
        }
      },
      message:
        /::error::The upload phase failed on the server: receiving the release failed \(is the disk full\?\)/,
      resultInLog: 'failed:upload',
      check: (_run, commands) => expect(commands.filter((c) => RESTARTS.test(c))).toEqual([]),
    }),
  )
})

it('`docker compose pull` fails: nothing is stopped or restarted', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: '`docker compose pull` fails',
      injection: "failNext('docker compose pull')",
      inject: async () => {
        f.host.failNext('docker compose pull', { stderr: 'Error response from daemon: manifest unknown' })
        return undefined
      },
      message: /::error::The images phase failed on the server: pulling images failed\..*manifest unknown/,
      resultInLog: 'failed:images',
      check: (_run, commands) => {
        expect(commands).toContain('docker compose pull --quiet --ignore-buildable')
        expect(commands.filter((c) => RESTARTS.test(c))).toEqual([])
      },
    }),
  )
})

it('`docker compose build` fails: nothing is stopped or restarted', async () => {
  rows.push(
    await faultedDeploy(f, ++serial, {
      fault: '`docker compose build` fails',
      injection: "failNext('docker compose build')",
      inject: async () => {
        f.host.failNext('docker compose build', {
          stderr: 'failed to solve: process "/bin/sh -c apk add" did not complete',
        })
        return undefined
      },
      message: /::error::The images phase failed on the server: building images failed\./,
      resultInLog: 'failed:images',
      check: (_run, commands) => {
        expect(commands).toContain('docker compose build --pull --quiet')
        expect(commands.filter((c) => RESTARTS.test(c))).toEqual([])
      },
    }),
  )
})
