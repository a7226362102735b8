import type { SiteReport } from './site-report.js'

/**
 * The action's outputs about the site. The certificate outputs are empty when no certificate was seen
 * (no connection), so a workflow can always read them.
 */
export function siteOutputs(report: SiteReport): Record<string, string> {
  const certificate = report.certificate
  return {
    url: report.url,
    status: report.status,
    'cert-expires': certificate ? certificate.notAfter.toISOString() : '',
    'cert-days-left': certificate ? String(certificate.daysLeft) : '',
    'cert-issuer': certificate ? certificate.issuer : '',
  }
}
