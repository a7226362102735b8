// The setting of every end-to-end deploy test: a test PKI, a test host serving the test domain with a
// certificate from it, and the action's inputs that reach that host with its key pinned.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHost, type TestHost, type TestHostOptions } from '../../test-host/test-host.mjs'
import { createTestPki, type Pki } from '../../test-host/test-pki.mjs'
import { type ActionRun, runAction } from './action-run.js'

export const domain = 'comments.test'

export interface DeploySetting {
  readonly pki: Pki
  /** A new test host for the domain, with a certificate from the PKI; the caller stops it. */
  startHost(options?: TestHostOptions): Promise<TestHost>
  /** The bundle, run as the runner runs it against `host`, with its key pinned and the test root trusted. */
  deploy(host: TestHost, overrides?: Record<string, string>): Promise<ActionRun>
}

/**
 * Makes the PKI and starts one test host for the whole file in beforeAll (`setting.host`), and removes
 * both in afterAll. More hosts, of other kinds, come from `startHost`.
 */
export function useDeploySetting(
  name: string,
  defaults: Record<string, string> = {},
): DeploySetting & { readonly host: TestHost } {
  let pkiDir = ''
  let pki: Pki | undefined
  let host: TestHost | undefined
  const setting = {
    get pki(): Pki {
      if (!pki) throw new Error('the test PKI is made in beforeAll')
      return pki
    },
    get host(): TestHost {
      if (!host) throw new Error('the test host is started in beforeAll')
      return host
    },
    async startHost(options: TestHostOptions = {}): Promise<TestHost> {
      const leaf = await setting.pki.issue({ names: [domain] })
      return startTestHost({
        domain,
        tls: { certPath: leaf.certPath, keyPath: leaf.keyPath, chainPath: leaf.chainPath },
        ...options,
      })
    },
    deploy(target: TestHost, overrides: Record<string, string> = {}): Promise<ActionRun> {
      return runAction(
        target,
        {
          host: domain,
          'host-key': target.hostKeyLine,
          'private-key': target.keys.root.privateKey,
          domain,
          email: 'admin@example.com',
          'wait-timeout': '20',
          ...defaults,
          ...overrides,
        },
        { NODE_EXTRA_CA_CERTS: setting.pki.rootCertPath },
      )
    },
  }
  beforeAll(async () => {
    pkiDir = mkdtempSync(join(tmpdir(), `cd-${name}-pki-`))
    pki = await createTestPki(pkiDir)
    host = await setting.startHost()
  }, 60_000)
  afterAll(async () => {
    await host?.stop()
    rmSync(pkiDir, { recursive: true, force: true })
  })
  return setting
}
