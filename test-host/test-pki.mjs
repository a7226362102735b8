// A test PKI made with the real `openssl` command: a root, an intermediate, and leaf certificates with
// the faults a site can really have (expired, not yet valid, wrong name, self-signed, no intermediate,
// the stack's placeholder, a staging-like chain). Plain ESM JavaScript so that the tests, the demo and
// the benchmark scripts can all import it; the types are in test-pki.d.mts.
//
// Leaves are signed with `openssl ca`, because only it takes any start and end date (past or future);
// `openssl x509 -req` in OpenSSL 3.0 only counts days from now.

import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const DAY_MS = 86_400_000

/**
 * @typedef {import('./test-pki.d.mts').Pki} Pki
 * @typedef {import('./test-pki.d.mts').PkiOptions} PkiOptions
 * @typedef {import('./test-pki.d.mts').IssueOptions} IssueOptions
 * @typedef {import('./test-pki.d.mts').IssuedCertificate} IssuedCertificate
 */

/**
 * Runs openssl; a missing binary fails with a message that names it.
 * @param {string} command
 * @param {string[]} args
 * @param {string} cwd
 */
async function runOpenssl(command, args, cwd) {
  try {
    return await run(command, args, { cwd })
  } catch (error) {
    const e = /** @type {NodeJS.ErrnoException & { stderr?: string }} */ (error)
    if (e.code === 'ENOENT') throw new Error('test-pki needs the `openssl` command: apt-get install openssl')
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`)
  }
}

/**
 * `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes.
 * @param {Date} date
 */
function asn1Time(date) {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`
}

/**
 * A distinguished name for `-subj`, escaping the characters openssl treats specially.
 * @param {Record<string, string>} parts
 */
function dn(parts) {
  const escapeValue = (/** @type {string} */ value) => value.replace(/[\\/,+=]/g, (c) => `\\${c}`)
  return Object.entries(parts)
    .map(([key, value]) => `/${key}=${escapeValue(value)}`)
    .join('')
}

/**
 * The `openssl ca` configuration of one issuing CA (or of a self-signed leaf), with the leaf profile.
 * @param {string} caDir
 * @param {readonly string[]} names
 */
function caConfig(caDir, names) {
  const alt = names.map((name, i) =>
    /^[0-9.]+$/.test(name) || name.includes(':') ? `IP.${i + 1} = ${name}` : `DNS.${i + 1} = ${name}`,
  )
  return [
    '[ ca ]',
    'default_ca = test_ca',
    '[ test_ca ]',
    `dir = ${caDir}`,
    'database = $dir/index.txt',
    'new_certs_dir = $dir/issued',
    'serial = $dir/serial',
    'certificate = $dir/ca.pem',
    'private_key = $dir/ca.key',
    'default_md = sha256',
    'policy = policy_any',
    'unique_subject = no',
    'email_in_dn = no',
    'copy_extensions = none',
    '[ policy_any ]',
    'commonName = supplied',
    'organizationName = optional',
    'countryName = optional',
    '[ leaf ]',
    'basicConstraints = critical, CA:false',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    ...(alt.length > 0 ? ['subjectAltName = @alt_names', '[ alt_names ]', ...alt] : []),
    '[ intermediate ]',
    'basicConstraints = critical, CA:true, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n')
}

/**
 * Makes the directory layout `openssl ca` keeps its state in.
 * @param {string} caDir
 */
async function initCaDir(caDir) {
  await mkdir(join(caDir, 'issued'), { recursive: true })
  await writeFile(join(caDir, 'index.txt'), '')
  await writeFile(join(caDir, 'index.txt.attr'), 'unique_subject = no\n')
  // A random first serial, so two test PKIs never issue the same issuer/serial pair.
  await writeFile(join(caDir, 'serial'), `${randomHex(16)}\n`)
}

/** @param {number} bytes */
function randomHex(bytes) {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b, i) => (i === 0 ? (b & 0x7f) | 0x10 : b).toString(16).padStart(2, '0'))
    .join('')
}

/**
 * Creates a root and an intermediate under `dir` (which must be writable; it is created if missing).
 * @param {string} dir
 * @param {PkiOptions} [options]
 * @returns {Promise<Pki>}
 */
export async function createTestPki(dir, options = {}) {
  const command = options.openssl ?? 'openssl'
  /** @type {(args: string[], cwd: string) => Promise<unknown>} */
  const openssl = (args, cwd) => runOpenssl(command, args, cwd)
  // An EC P-256 key: fast to make, and what certbot makes by default since 2.0.
  /** @type {(path: string, cwd: string) => Promise<unknown>} */
  const makeKey = (path, cwd) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], cwd)
  const prefix = options.namePrefix ?? ''
  const organization = `${prefix}commento-deploy test`
  const rootCn = `${prefix}Test Root X1`
  const intermediateCn = `${prefix}Test Intermediate R1`
  const rootDir = join(dir, 'root')
  const intermediateDir = join(dir, 'intermediate')
  await initCaDir(rootDir)
  await initCaDir(intermediateDir)

  await makeKey(join(rootDir, 'ca.key'), dir)
  await openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      join(rootDir, 'ca.key'),
      '-subj',
      dn({ C: 'US', O: organization, CN: rootCn }),
      '-days',
      '3650',
      '-sha256',
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      join(rootDir, 'ca.pem'),
    ],
    dir,
  )

  await makeKey(join(intermediateDir, 'ca.key'), dir)
  await openssl(
    [
      'req',
      '-new',
      '-key',
      join(intermediateDir, 'ca.key'),
      '-subj',
      dn({ C: 'US', O: organization, CN: intermediateCn }),
      '-out',
      join(intermediateDir, 'ca.csr'),
    ],
    dir,
  )
  await writeFile(join(rootDir, 'openssl.cnf'), caConfig(rootDir, []))
  await openssl(
    [
      'ca',
      '-batch',
      '-notext',
      '-config',
      join(rootDir, 'openssl.cnf'),
      '-extensions',
      'intermediate',
      '-days',
      '1825',
      '-in',
      join(intermediateDir, 'ca.csr'),
      '-out',
      join(intermediateDir, 'ca.pem'),
    ],
    dir,
  )

  const rootCertPath = join(rootDir, 'ca.pem')
  const intermediateCertPath = join(intermediateDir, 'ca.pem')
  const rootCertPem = await readFile(rootCertPath, 'utf8')
  const intermediateCertPem = await readFile(intermediateCertPath, 'utf8')
  let leafCount = 0
  // `openssl ca` keeps its state in files: issue one certificate at a time.
  let queue = Promise.resolve()

  /** @param {IssueOptions} request */
  async function issueNow(request) {
    const names = request.names
    if (names.length === 0 && !request.subjectCn) throw new Error('issue() needs names or a subjectCn')
    const issuer = request.issuer ?? 'intermediate'
    const notBefore = request.notBefore ?? new Date(Date.now() - 3_600_000)
    const notAfter = request.notAfter ?? new Date(Date.now() + 90 * DAY_MS)
    leafCount += 1
    const leafDir = join(
      dir,
      'leaves',
      `${leafCount}-${(names[0] ?? 'leaf').replace(/[^A-Za-z0-9.-]/g, '_')}`,
    )
    await mkdir(leafDir, { recursive: true })
    const keyPath = join(leafDir, 'privkey.pem')
    const csrPath = join(leafDir, 'request.csr')
    const certPath = join(leafDir, 'cert.pem')
    const chainPath = join(leafDir, 'fullchain.pem')
    await makeKey(keyPath, leafDir)
    const subject = dn({
      ...(request.organization ? { O: request.organization } : {}),
      CN: request.subjectCn ?? names[0] ?? 'leaf',
    })
    await openssl(['req', '-new', '-key', keyPath, '-subj', subject, '-out', csrPath], leafDir)

    const signerDir = issuer === 'root' ? rootDir : issuer === 'intermediate' ? intermediateDir : leafDir
    if (issuer === 'self') await initCaDir(leafDir)
    const configPath = join(leafDir, 'openssl.cnf')
    await writeFile(configPath, caConfig(signerDir, names))
    await openssl(
      [
        'ca',
        '-batch',
        '-notext',
        '-config',
        configPath,
        '-extensions',
        'leaf',
        '-startdate',
        asn1Time(notBefore),
        '-enddate',
        asn1Time(notAfter),
        ...(issuer === 'self' ? ['-selfsign', '-keyfile', keyPath] : []),
        '-in',
        csrPath,
        '-out',
        certPath,
      ],
      leafDir,
    )
    const certPem = await readFile(certPath, 'utf8')
    const chainPem = issuer === 'intermediate' ? certPem + intermediateCertPem : certPem
    await writeFile(chainPath, chainPem)
    return {
      certPath,
      leafOnlyPath: certPath,
      chainPath,
      keyPath,
      certPem,
      chainPem,
      keyPem: await readFile(keyPath, 'utf8'),
    }
  }

  return {
    dir,
    rootCertPath,
    rootCertPem,
    intermediateCertPath,
    intermediateCertPem,
    rootCn,
    intermediateCn,
    issue(request) {
      const result = queue.then(() => issueNow(request))
      queue = result.then(
        () => undefined,
        () => undefined,
      )
      return result
    },
  }
}
