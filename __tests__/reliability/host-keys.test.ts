// Host keys: the test host's sshd gets a new host key for real (a reinstalled server, or someone in the
// middle), and every mode that connects (deploy, plan, rollback, check collecting diagnostics) refuses it
// before any credential is sent, saying what changed (the pinned and the presented fingerprints) and what to
// do. And the private key (encrypted, or decrypted in memory) is never written to a disk on the runner:
// every run's HOME and temp dirs, and the machine's temp dirs, are scanned after the runs.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestHost, type TestHost } from '../../test-host/test-host.mjs'
import type { Pki } from '../../test-host/test-pki.mjs'
import { type BundleRun, expectExit, runBundle } from './helpers/bundle.js'
import { encryptedKey } from './helpers/keys.js'
import { filesUnder, findSecrets, secretNeedles } from './helpers/secret-scan.js'
import { eventually, pkiFor } from './helpers/server.js'

const DOMAIN = 'comments.test'
const PASSPHRASE = `pp-${randomBytes(8).toString('hex')}`
const KEY = encryptedKey(PASSPHRASE)
const KEY_NEEDLES = secretNeedles(
  [
    { name: 'private key (encrypted)', value: KEY.encrypted },
    { name: 'private key (decrypted)', value: KEY.decrypted },
  ],
  KEY.boilerplate,
)

let host: TestHost
let pki: Pki
let workDir: string
/** A file older than every run: what the runs wrote is -newer than it. */
let startMark: string
let oldLine: string
let oldFingerprint: string
let newLine: string
let newFingerprint: string
const onDisk: string[] = []

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'cd-rel-hostkeys-'))
  startMark = join(workDir, 'start')
  writeFileSync(startMark, '')
  const made = await pkiFor(join(workDir, 'pki'), DOMAIN)
  pki = made.pki
  host = await startTestHost({ domain: DOMAIN, tls: made.tls })
  await host.exec('cat >> /root/.ssh/authorized_keys', { input: KEY.publicKey })
  oldLine = host.hostKeyLine
  oldFingerprint = host.hostKeyFingerprint
}, 60_000)

afterAll(async () => {
  await host?.stop()
  rmSync(workDir, { recursive: true, force: true })
})

function inputs(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    host: DOMAIN,
    'host-key': oldLine,
    'private-key': KEY.encrypted,
    passphrase: PASSPHRASE,
    domain: DOMAIN,
    email: 'admin@example.com',
    'wait-timeout': '1',
    ...overrides,
  }
}

/** Runs the bundle; every file it left in its HOME and temp dirs is scanned for the key. */
async function run(values: Record<string, string>): Promise<BundleRun> {
  return runBundle(host, values, {
    env: { NODE_EXTRA_CA_CERTS: pki.rootCertPath },
    inspect: (dir) => {
      for (const f of findSecrets(filesUnder(dir), KEY_NEEDLES)) onDisk.push(`${f.secret} in ${f.where}`)
    },
  })
}

/** Authentication requests sshd received (a client that refused the host key sends none). */
const authRequests = () => (host.sshLog().match(/userauth-request/g) ?? []).length

it('with the pinned key, the key is accepted and used (the baseline)', async () => {
  const before = authRequests()
  expectExit(await run(inputs({ mode: 'plan' })), 0)
  expect(authRequests()).toBeGreaterThan(before)
})

describe('after the server got a new host key', () => {
  beforeAll(async () => {
    // A new key in sshd's HostKey file, then SIGHUP: sshd re-executes itself and serves the new one.
    const keyFile = join(host.dir, 'sshd', 'ssh_host_ed25519_key')
    rmSync(keyFile)
    rmSync(`${keyFile}.pub`)
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'reinstalled', '-f', keyFile])
    const listening = (host.sshLog().match(/Server listening on/g) ?? []).length
    const sshdPid = Number(readFileSync(join(host.dir, 'state', 'sshd.pid'), 'utf8'))
    process.kill(sshdPid, 'SIGHUP')
    await eventually(
      'sshd to listen again with its new key',
      async () => (host.sshLog().match(/Server listening on/g) ?? []).length > listening,
    )
    const [type, base64] = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(/\s+/)
    newLine = `${DOMAIN} ${type} ${base64}`
    newFingerprint = execFileSync('ssh-keygen', ['-lf', `${keyFile}.pub`])
      .toString()
      .split(' ')[1] as string
    expect(newFingerprint).not.toBe(oldFingerprint)
  })

  /** What every refusal must say: the pinned and the presented fingerprints, and what to do. */
  function expectRefusal(text: string): void {
    expect(text).toContain(`Host key mismatch for ${DOMAIN}:22`)
    expect(text).toContain(oldFingerprint)
    expect(text).toContain(newFingerprint)
    expect(text).toContain('no credential was sent')
    expect(text).toContain(`update the 'host-key' secret with the output of \`ssh-keyscan -p 22 ${DOMAIN}\``)
  }

  it.each([
    ['deploy', {}],
    ['plan', { mode: 'plan' }],
    ['rollback', { mode: 'rollback' }],
    [
      'deploy with insecure-ignore-host-key: true (the pin still wins)',
      { 'insecure-ignore-host-key': 'true' },
    ],
  ])(
    '%s: refused before authenticating, naming both fingerprints and what to do',
    async (_name, overrides) => {
      const before = authRequests()
      const r = await run(inputs(overrides))
      expectExit(r, 1)
      expectRefusal(/^::error::(.*)$/m.exec(r.shown)?.[1] ?? r.shown)
      expect(authRequests()).toBe(before)
    },
  )

  it('check: the site fails, and collecting diagnostics over SSH is refused the same way', async () => {
    const before = authRequests()
    const r = await run(inputs({ mode: 'check' }))
    expectExit(r, 1)
    expectRefusal(/^::warning::Diagnostics from .*$/m.exec(r.shown)?.[0] ?? r.shown)
    expect(r.summary).toContain(newFingerprint)
    expect(authRequests()).toBe(before)
  })

  it('with the new key pinned, it connects again', async () => {
    expectExit(await run(inputs({ mode: 'plan', 'host-key': newLine })), 0)
  })
})

it('the private key was never written to a disk on the runner', () => {
  // Every run's HOME, TMPDIR and RUNNER_TEMP (scanned before removal) ...
  expect(onDisk).toEqual([])
  // ... and every file written anywhere in the machine's temp dirs and root's home since the runs began.
  const written = execFileSync(
    'find',
    // (jest's transform cache is jest's, not the action's)
    [
      '/tmp',
      '/var/tmp',
      '/dev/shm',
      '/root',
      '-xdev',
      '-type',
      'f',
      '-newer',
      startMark,
      '-size',
      '-4M',
      '-not',
      '-path',
      '/tmp/jest_*',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  )
    .split('\n')
    .filter(Boolean)
  const sources = written.flatMap((where) => {
    try {
      return [{ where, text: readFileSync(where, 'latin1') }]
    } catch {
      return []
    }
  })
  expect(sources.length).toBeGreaterThan(0)
  expect(findSecrets(sources, KEY_NEEDLES)).toEqual([])
  // The scan does find a key where there is one: as it is, and inside base64 (as in a tar over a channel).
  const control = [
    { where: 'plain', text: `x\n${KEY.decrypted.split('\n')[3]}\ny` },
    { where: 'base64', text: Buffer.from(`...${KEY.encrypted}...`).toString('base64') },
  ]
  expect(new Set(findSecrets(control, KEY_NEEDLES).map((f) => f.where))).toEqual(new Set(['plain', 'base64']))
})
