// Types of test-pki.mjs: a test PKI made with the real `openssl` command.

export interface PkiOptions {
  /**
   * Put in front of the root's and the intermediate's names (CN and O). `'(STAGING) '` makes a chain
   * that looks like Let's Encrypt's staging environment. A second PKI (with any prefix) is a CA that
   * a client trusting only the first one's root sees as an unknown issuer.
   */
  readonly namePrefix?: string
  /** The openssl command to run (default: `openssl` on the PATH). */
  readonly openssl?: string
}

export interface IssueOptions {
  /** DNS names (or IP addresses) for the subjectAltName; the first is also the CN unless subjectCn is given. */
  readonly names: readonly string[]
  /** Default: an hour ago. */
  readonly notBefore?: Date
  /** Default: 90 days from now. */
  readonly notAfter?: Date
  /** Who signs: the intermediate (default, like Let's Encrypt), the root directly, or the leaf itself. */
  readonly issuer?: 'intermediate' | 'root' | 'self'
  /** The subject CN (default: the first name). */
  readonly subjectCn?: string
  /**
   * The subject O. The stack's placeholder is `{ issuer: 'self', organization: PLACEHOLDER_ISSUER }`
   * (src/release/placeholder.ts), as stack/nginx/entrypoint.sh makes it.
   */
  readonly organization?: string
}

export interface IssuedCertificate {
  /** The leaf alone (certbot's cert.pem). */
  readonly certPath: string
  /** The same file as certPath: what a server that "forgot the intermediate" serves. */
  readonly leafOnlyPath: string
  /** Leaf + intermediate when the intermediate issued it, else the leaf alone (certbot's fullchain.pem). */
  readonly chainPath: string
  /** The leaf's private key, PEM (certbot's privkey.pem). */
  readonly keyPath: string
  readonly certPem: string
  readonly chainPem: string
  readonly keyPem: string
}

export interface Pki {
  readonly dir: string
  /** Trust this (e.g. NODE_EXTRA_CA_CERTS, or `ca` in a TLS client) to make the PKI's chains valid. */
  readonly rootCertPath: string
  readonly rootCertPem: string
  readonly intermediateCertPath: string
  readonly intermediateCertPem: string
  readonly rootCn: string
  readonly intermediateCn: string
  /** Issues a leaf; calls are serialised (openssl ca keeps its state in files). */
  issue(options: IssueOptions): Promise<IssuedCertificate>
}

/** Creates a root and an intermediate in `dir` (created when missing) with the real `openssl` command. */
export function createTestPki(dir: string, options?: PkiOptions): Promise<Pki>
