import { siteOutputs } from '../../src/check/site-outputs.js'
import type { SiteReport } from '../../src/check/site-report.js'
import { siteSummaryMarkdown } from '../../src/report/site-summary.js'

const certificate = {
  subject: 'CN=comments.example.com',
  issuer: "C=US, O=Let's Encrypt, CN=E7",
  sans: ['DNS:comments.example.com'],
  notBefore: new Date('2026-11-01T10:00:00Z'),
  notAfter: new Date('2027-01-30T10:00:00Z'),
  daysLeft: 56,
}

const unhealthy: SiteReport = {
  url: 'https://comments.example.com/',
  status: 'unhealthy',
  checks: [
    { name: 'dns', verdict: 'pass', reason: 'comments.example.com resolves to 203.0.113.7', durationMs: 3 },
    {
      name: 'acme-challenge',
      verdict: 'warn',
      reason: 'GET http://…/.well-known/acme-challenge/<random> | odd',
      durationMs: 12,
    },
    {
      name: 'commento-api',
      verdict: 'fail',
      reason: 'answered "success": false ("<script>x</script>\nline two")',
      durationMs: 40,
    },
  ],
  certificate,
  attempts: 3,
  elapsedMs: 4210,
  traffic: { connections: 6, requests: 12 },
}

describe('siteSummaryMarkdown', () => {
  it('tables the checks (verdict, reason, time) and the certificate, with server text escaped', () => {
    expect(siteSummaryMarkdown(unhealthy)).toBe(
      [
        '### ❌ https://comments.example.com/ is unhealthy: commento-api',
        '',
        '| Check | Verdict | Reason | Time |',
        '|---|---|---|---:|',
        '| dns | ✅ pass | comments.example.com resolves to 203.0.113.7 | 3 ms |',
        '| acme-challenge | ⚠️ warn | GET http://…/.well-known/acme-challenge/&lt;random&gt; \\| odd | 12 ms |',
        '| commento-api | ❌ fail | answered "success": false ("&lt;script&gt;x&lt;/script&gt; line two") | 40 ms |',
        '',
        '| Certificate | |',
        '|---|---|',
        '| Subject | CN=comments.example.com |',
        "| Issuer | C=US, O=Let's Encrypt, CN=E7 |",
        '| Names (SANs) | DNS:comments.example.com |',
        '| Not before | 2026-11-01T10:00:00.000Z |',
        '| Not after | 2027-01-30T10:00:00.000Z |',
        '| Days left | 56 |',
        '',
        'Checked from the runner: 3 attempts in 4.2 s; 6 connections, 12 requests.',
        '',
      ].join('\n'),
    )
  })

  it('says when no certificate was seen', () => {
    const markdown = siteSummaryMarkdown({
      url: 'https://comments.example.com/',
      status: 'unhealthy',
      checks: [{ name: 'tcp-443', verdict: 'fail', reason: 'connection refused', durationMs: 1 }],
    })
    expect(markdown).toContain('\n\nNo certificate was seen.\n')
    expect(markdown).not.toContain('Checked from the runner')
  })
})

describe('siteOutputs', () => {
  it('gives url, status and the certificate outputs', () => {
    expect(siteOutputs(unhealthy)).toEqual({
      url: 'https://comments.example.com/',
      status: 'unhealthy',
      'cert-expires': '2027-01-30T10:00:00.000Z',
      'cert-days-left': '56',
      'cert-issuer': "C=US, O=Let's Encrypt, CN=E7",
    })
  })

  it('leaves the certificate outputs empty when no certificate was seen', () => {
    expect(siteOutputs({ url: 'https://comments.example.com/', status: 'unhealthy', checks: [] })).toEqual({
      url: 'https://comments.example.com/',
      status: 'unhealthy',
      'cert-expires': '',
      'cert-days-left': '',
      'cert-issuer': '',
    })
  })
})
