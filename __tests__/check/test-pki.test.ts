// test-host/test-pki.mjs, checked with the real openssl: what the test host, the demo and the benchmark get.

import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestPki, type Pki } from '../../test-host/test-pki.mjs'

let dir: string
let pki: Pki
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cd-test-pki-'))
  pki = await createTestPki(join(dir, 'pki'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What `openssl verify` says (it reports failures on stderr). */
function verify(args: string[]): string {
  try {
    return execFileSync('openssl', ['verify', ...args], { stdio: 'pipe' })
      .toString()
      .trim()
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer }
    return `${stdout ?? ''}${stderr ?? ''}`.trim()
  }
}

it('issues a leaf from the intermediate with the names and dates asked for, that openssl verifies', async () => {
  const notBefore = new Date('2026-01-02T03:04:05Z')
  const notAfter = new Date('2036-01-02T03:04:05Z')
  const leaf = await pki.issue({
    names: ['a.test.example', 'b.test.example', '127.0.0.1'],
    notBefore,
    notAfter,
  })
  const x509 = new X509Certificate(leaf.certPem)
  expect(x509.subject).toBe('CN=a.test.example')
  expect(x509.issuer).toBe('CN=Test Intermediate R1\nO=commento-deploy test\nC=US')
  expect(x509.subjectAltName).toBe('DNS:a.test.example, DNS:b.test.example, IP Address:127.0.0.1')
  expect(new Date(x509.validFrom)).toEqual(notBefore)
  expect(new Date(x509.validTo)).toEqual(notAfter)
  expect(x509.ca).toBe(false)
  expect(readFileSync(leaf.chainPath, 'utf8')).toBe(leaf.certPem + pki.intermediateCertPem)
  expect(leaf.leafOnlyPath).toBe(leaf.certPath)
  expect(x509.checkPrivateKey((await import('node:crypto')).createPrivateKey(leaf.keyPem))).toBe(true)
  expect(verify(['-CAfile', pki.rootCertPath, '-untrusted', pki.intermediateCertPath, leaf.certPath])).toBe(
    `${leaf.certPath}: OK`,
  )
  // Without the intermediate the leaf does not verify: what "incomplete chain" tests rely on.
  expect(verify(['-CAfile', pki.rootCertPath, leaf.certPath])).toMatch(
    /unable to get local issuer certificate/,
  )
})

it('issues expired, self-signed and root-issued leaves', async () => {
  const expired = await pki.issue({
    names: ['old.test.example'],
    notBefore: new Date(Date.now() - 90 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  })
  expect(
    verify(['-CAfile', pki.rootCertPath, '-untrusted', pki.intermediateCertPath, expired.certPath]),
  ).toMatch(/certificate has expired/)
  const self = await pki.issue({ names: ['self.test.example'], issuer: 'self', organization: 'Some Org' })
  const selfX509 = new X509Certificate(self.certPem)
  expect(selfX509.issuer).toBe(selfX509.subject)
  expect(selfX509.subject).toBe('CN=self.test.example\nO=Some Org')
  expect(selfX509.verify(selfX509.publicKey)).toBe(true)
  expect(self.chainPem).toBe(self.certPem)
  const byRoot = await pki.issue({ names: ['root.test.example'], issuer: 'root' })
  expect(verify(['-CAfile', pki.rootCertPath, byRoot.certPath])).toBe(`${byRoot.certPath}: OK`)
})

it('makes staging-like chains whose issuer names begin with (STAGING)', async () => {
  const staging = await createTestPki(join(dir, 'staging'), { namePrefix: '(STAGING) ' })
  const leaf = await staging.issue({ names: ['s.test.example'] })
  expect(new X509Certificate(leaf.certPem).issuer).toBe(
    'CN=(STAGING) Test Intermediate R1\nO=(STAGING) commento-deploy test\nC=US',
  )
  expect(new X509Certificate(staging.rootCertPem).subject).toBe(
    'C=US\nO=(STAGING) commento-deploy test\nCN=(STAGING) Test Root X1',
  )
})

it('names the openssl command when it is missing', async () => {
  await expect(
    createTestPki(join(dir, 'nothing'), { openssl: join(dir, 'no-openssl-here') }),
  ).rejects.toThrow('test-pki needs the `openssl` command: apt-get install openssl')
})
