// One test host per fault test file, with what each fault test needs around it: a PKI the runner trusts,
// gates, inputs that make a new release on demand, and a check that the server settled on one release.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHost, type TestHost, type TestHostOptions } from '../../../test-host/test-host.mjs'
import type { Pki } from '../../../test-host/test-pki.mjs'
import {
  type BundleOptions,
  type BundleRun,
  expectExit,
  type RunningBundle,
  runBundle,
  startBundle,
} from './bundle.js'
import { type Gates, installGates } from './gates.js'
import { pkiFor, type ServerSnapshot, serverSnapshot, settledRelease } from './server.js'

export const DOMAIN = 'comments.test'
/** Given, so that every file of a release is exactly what its manifest names (no server-side .env lines). */
export const POSTGRES_PASSWORD = 'pg-password-of-the-fault-tests'

export interface FaultHost {
  readonly host: TestHost
  readonly pki: Pki
  readonly gates: Gates
  /** Inputs for release number `serial` (each serial is another release); `big` pads it to about 150 KB. */
  inputs(serial: number, overrides?: Record<string, string>, big?: boolean): Record<string, string>
  run(inputs: Record<string, string>, options?: BundleOptions): Promise<BundleRun>
  start(inputs: Record<string, string>, options?: BundleOptions): RunningBundle
  /** A deploy that must succeed; returns its release. */
  deployOk(inputs: Record<string, string>): Promise<string>
  snapshot(): Promise<ServerSnapshot>
  settled(): Promise<string>
  stop(): Promise<void>
}

// Hashes, so that the tar cannot shrink (a cut upload must really be cut short) and the release ids stay
// the same from run to run. About 112 KB: more than a pipe holds, less than the 128 KiB one environment
// variable (INPUT_COMMENTO-ENV) may have.
const PADDING = Array.from({ length: 28 }, (_, line) => {
  const hex = Array.from({ length: 63 }, (_, i) =>
    createHash('sha256').update(`padding ${line} ${i}`).digest('hex'),
  ).join('')
  return `COMMENTO_PERSPECTIVE_PAD${String(line).padStart(2, '0')}=${hex.slice(0, 4000)}`
}).join('\n')

export async function startFaultHost(options: TestHostOptions = {}): Promise<FaultHost> {
  const pkiDir = mkdtempSync(join(tmpdir(), 'cd-rel-pki-'))
  let host: TestHost | undefined
  try {
    const { pki, tls } = await pkiFor(pkiDir, DOMAIN)
    host = await startTestHost({ domain: DOMAIN, tls, ...options })
    const gates = await installGates(host)
    const h = host
    const env = { NODE_EXTRA_CA_CERTS: pki.rootCertPath }
    const fault: FaultHost = {
      host: h,
      pki,
      gates,
      inputs(serial, overrides = {}, big = false) {
        return {
          host: DOMAIN,
          'host-key': h.hostKeyLine,
          'private-key': h.keys.root.privateKey,
          domain: DOMAIN,
          email: 'admin@example.com',
          'wait-timeout': '15',
          'lock-wait': '120',
          'postgres-password': POSTGRES_PASSWORD,
          'commento-env': `COMMENTO_FORBID_NEW_OWNERS=true\nCOMMENTO_PERSPECTIVE_SERIAL=${serial}${big ? `\n${PADDING}` : ''}`,
          ...overrides,
        }
      },
      run: (inputs, runOptions = {}) =>
        runBundle(h, inputs, { ...runOptions, env: { ...env, ...runOptions.env } }),
      start: (inputs, runOptions = {}) =>
        startBundle(h, inputs, { ...runOptions, env: { ...env, ...runOptions.env } }),
      async deployOk(inputs) {
        const run = await fault.run(inputs)
        expectExit(run, 0)
        return run.outputs.release as string
      },
      snapshot: () => serverSnapshot(h, pki),
      settled: async () => settledRelease(await serverSnapshot(h, pki)),
      async stop() {
        gates.openAll()
        await h.stop()
        rmSync(pkiDir, { recursive: true, force: true })
      },
    }
    return fault
  } catch (error) {
    await host?.stop()
    rmSync(pkiDir, { recursive: true, force: true })
    throw error
  }
}

/** The first line of the run's ::error:: message, for the fault table. */
export function reported(run: BundleRun): string {
  const error = /^::error::(.*)$/m.exec(run.stdout)?.[1] ?? ''
  const first = error.split('%0A')[0] ?? ''
  return `exit ${run.code}${first ? `: ${first.length > 160 ? `${first.slice(0, 157)}…` : first}` : ''}`
}
