// The HTTPS check's vocabulary, shared by `mode: check` and by the deploy that checks after a restart.

export type Verdict = 'pass' | 'warn' | 'fail'

export interface CheckResult {
  /** Short and stable, e.g. "dns", "tls-chain", "commento-api". */
  readonly name: string
  readonly verdict: Verdict
  /** One line, says what was found and, on failure, what to do. */
  readonly reason: string
  readonly durationMs: number
}

export interface CertificateInfo {
  readonly subject: string
  readonly issuer: string
  readonly sans: readonly string[]
  readonly notBefore: Date
  readonly notAfter: Date
  readonly daysLeft: number
}

export interface SiteReport {
  readonly url: string
  readonly status: 'healthy' | 'unhealthy'
  readonly checks: readonly CheckResult[]
  readonly certificate?: CertificateInfo
  /** How many times the checks ran (retries while waiting count). */
  readonly attempts?: number
  /** From the first probe to the verdict. */
  readonly elapsedMs?: number
  /** Connections opened and HTTP requests sent, over all attempts: the check's footprint on the server. */
  readonly traffic?: { readonly connections: number; readonly requests: number }
}

export interface SiteCheckOptions {
  readonly domain: string
  readonly staging: boolean
  readonly certMinDays: number
  /** Keep retrying the checks that can become true by waiting, until this many seconds have passed. */
  readonly waitTimeoutSeconds: number
  /** 443 unless a test says otherwise. */
  readonly httpsPort?: number
  /** 80 unless a test says otherwise. */
  readonly httpPort?: number
}
