// report-issue against a GitHub API played by nock: every call is asserted (method, path, query, body).
// @actions/github sends through undici; nock 15 intercepts it at the socket level.

import type { SiteReport } from '../../src/check/site-report.js'
import { parseInputs } from '../../src/inputs/input-helper.js'
import { memoryReporter } from './memory-reporter.js'

// nock 15's interceptors use Promise.withResolvers (Node 22+); the tests also run on Node 20.
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void
      let reject!: (reason: unknown) => void
      const promise = new Promise<T>((a, b) => {
        resolve = a
        reject = b
      })
      return { promise, resolve, reject }
    },
  })
}
delete process.env.GITHUB_API_URL
const { default: nock } = await import('nock')
const { HEALTH_ISSUE_LABEL, reportSiteToIssue } = await import('../../src/report/issue-report.js')
const { createCheckMode } = await import('../../src/modes/check-mode.js')

const API = 'https://api.github.com'
const TOKEN = 'ghs_test-token-0123456789'
const RUN = 'https://github.com/octo/site/actions/runs/42'
const MARKER = '<!-- commento-deploy-health: comments.example.com -->'

const certificate = {
  subject: 'CN=comments.example.com',
  issuer: "C=US, O=Let's Encrypt, CN=E7",
  sans: ['DNS:comments.example.com'],
  notBefore: new Date('2026-11-01T10:00:00Z'),
  notAfter: new Date('2027-01-30T10:00:00Z'),
  daysLeft: 56,
}
const failing: SiteReport = {
  url: 'https://comments.example.com/',
  status: 'unhealthy',
  checks: [
    { name: 'dns', verdict: 'pass', reason: 'resolves to 203.0.113.7', durationMs: 3 },
    { name: 'commento-api', verdict: 'fail', reason: 'answered 502', durationMs: 40 },
  ],
  certificate,
}
const healthy: SiteReport = {
  ...failing,
  status: 'healthy',
  checks: [
    { name: 'dns', verdict: 'pass', reason: 'resolves to 203.0.113.7', durationMs: 3 },
    { name: 'commento-api', verdict: 'pass', reason: 'success', durationMs: 40 },
  ],
}
const CHECKS_FAILING = [
  '| Check | Verdict | Reason | Time |',
  '|---|---|---|---:|',
  '| dns | ✅ pass | resolves to 203.0.113.7 | 3 ms |',
  '| commento-api | ❌ fail | answered 502 | 40 ms |',
].join('\n')
const CERTIFICATE = [
  '| Certificate | |',
  '|---|---|',
  '| Subject | CN=comments.example.com |',
  "| Issuer | C=US, O=Let's Encrypt, CN=E7 |",
  '| Names (SANs) | DNS:comments.example.com |',
  '| Not before | 2026-11-01T10:00:00.000Z |',
  '| Not after | 2027-01-30T10:00:00.000Z |',
  '| Days left | 56 |',
].join('\n')

const LIST_QUERY = { labels: HEALTH_ISSUE_LABEL, state: 'open', per_page: '100' }
const openIssue = { number: 7, html_url: 'https://github.com/octo/site/issues/7', body: `${MARKER}\n\nold` }

/** The GitHub API, answering only what a test set up, with the token checked on every call. */
function github() {
  return nock(API).matchHeader('authorization', `token ${TOKEN}`)
}

/** Records the JSON body a call sent, so that a mismatch shows as a diff, not as "no match". */
function recordBody(into: unknown[]) {
  return (body: unknown) => {
    into.push(body)
    return true
  }
}

const options = (report: SiteReport) => ({
  token: TOKEN,
  repository: 'octo/site',
  domain: 'comments.example.com',
  report,
  runUrl: RUN,
})

beforeAll(() => nock.disableNetConnect())
afterEach(() => {
  const pending = nock.pendingMocks()
  nock.cleanAll()
  expect(pending).toEqual([])
})
afterAll(() => {
  nock.enableNetConnect()
  nock.restore()
})

describe('reportSiteToIssue', () => {
  it('opens one labelled issue with the verdict table and a link to the run when the check fails', async () => {
    const bodies: unknown[] = []
    github()
      .get('/repos/octo/site/issues')
      .query(LIST_QUERY)
      // An issue for another domain and a pull request with the label are not ours.
      .reply(200, [
        { number: 3, html_url: 'x', body: '<!-- commento-deploy-health: other.example.com -->' },
        { number: 4, html_url: 'y', body: MARKER, pull_request: {} },
      ])
    github()
      .post('/repos/octo/site/issues', recordBody(bodies))
      .reply(201, { number: 12, html_url: 'https://github.com/octo/site/issues/12' })

    await expect(reportSiteToIssue(options(failing))).resolves.toEqual({
      action: 'opened',
      issueNumber: 12,
      issueUrl: 'https://github.com/octo/site/issues/12',
    })
    expect(bodies).toEqual([
      {
        title: 'commento-deploy: comments.example.com is unhealthy',
        labels: ['commento-deploy-health'],
        body: [
          MARKER,
          `The check of https://comments.example.com/ failed: \`commento-api\` (found by [the workflow run](${RUN})).`,
          `${CHECKS_FAILING}\n\n${CERTIFICATE}`,
          'commento-deploy comments here on every check that still fails, and closes this issue when comments.example.com is healthy again.',
        ].join('\n\n'),
      },
    ])
  })

  it('comments on the open issue instead of opening another while the check keeps failing', async () => {
    const bodies: unknown[] = []
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [openIssue])
    github().post('/repos/octo/site/issues/7/comments', recordBody(bodies)).reply(201, { id: 1 })

    await expect(reportSiteToIssue(options(failing))).resolves.toEqual({
      action: 'commented',
      issueNumber: 7,
      issueUrl: openIssue.html_url,
    })
    expect(bodies).toEqual([
      {
        body: `Still unhealthy: \`commento-api\` ([the workflow run](${RUN})).\n\n${CHECKS_FAILING}\n\n${CERTIFICATE}`,
      },
    ])
  })

  it('comments and closes the issue when the site is healthy again', async () => {
    const comments: unknown[] = []
    const updates: unknown[] = []
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [openIssue])
    github().post('/repos/octo/site/issues/7/comments', recordBody(comments)).reply(201, { id: 2 })
    github().patch('/repos/octo/site/issues/7', recordBody(updates)).reply(200, { number: 7 })

    await expect(reportSiteToIssue(options(healthy))).resolves.toEqual({
      action: 'closed',
      issueNumber: 7,
      issueUrl: openIssue.html_url,
    })
    expect(comments).toEqual([
      {
        body: [
          `✅ https://comments.example.com/ is healthy again ([the workflow run](${RUN})): closing.`,
          [
            '| Check | Verdict | Reason | Time |',
            '|---|---|---|---:|',
            '| dns | ✅ pass | resolves to 203.0.113.7 | 3 ms |',
            '| commento-api | ✅ pass | success | 40 ms |',
          ].join('\n'),
          CERTIFICATE,
        ].join('\n\n'),
      },
    ])
    expect(updates).toEqual([{ state: 'closed', state_reason: 'completed' }])
  })

  it('does nothing but look when the site is healthy and no issue is open', async () => {
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [])
    await expect(reportSiteToIssue(options(healthy))).resolves.toEqual({ action: 'none' })
  })

  it('names the missing permission when the token may not write issues (403)', async () => {
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [])
    github().post('/repos/octo/site/issues').reply(403, {
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
    })
    const error = await reportSiteToIssue(options(failing)).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'IssueReportError' })
    expect((error as Error).message).toMatch(
      /^report-issue: GitHub refused to open an issue in octo\/site \(403: Resource not accessible by integration.*\): the token needs the `issues: write` permission — add `permissions: issues: write` to the job, or pass a github-token that has it\.$/,
    )
    expect((error as Error).message).not.toContain(TOKEN)
  })
})

describe('mode: check with report-issue', () => {
  const settings = (extra: Record<string, string> = {}) =>
    parseInputs(
      (name) =>
        ({
          mode: 'check',
          domain: 'comments.example.com',
          'report-issue': 'true',
          'github-token': TOKEN,
          ...extra,
        })[name] ?? '',
      { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/site', GITHUB_RUN_ID: '42' },
    ).settings

  it("still reports the check's own verdict when the token lacks issues: write", async () => {
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [])
    github().post('/repos/octo/site/issues').reply(403, { message: 'Resource not accessible by integration' })
    const reporter = memoryReporter()
    const mode = createCheckMode({ checkSite: async () => failing, env: { GITHUB_REPOSITORY: 'octo/site' } })

    const result = await mode(settings(), reporter)

    expect(result.outputs.status).toBe('unhealthy')
    expect(result.failure).toBe(
      [
        'https://comments.example.com/ is unhealthy: commento-api: answered 502',
        'report-issue: GitHub refused to open an issue in octo/site (403: Resource not accessible by integration): the token needs the `issues: write` permission — add `permissions: issues: write` to the job, or pass a github-token that has it.',
      ].join('\n'),
    )
    expect(reporter.summaries).toHaveLength(1)
    expect(reporter.summaries[0]).toContain('| commento-api | ❌ fail | answered 502 | 40 ms |')
    expect(reporter.summaries[0]).toContain('Health issue: not updated — report-issue: GitHub refused')
  })

  it('fails a healthy check whose issue could not be closed, so that the broken reporting is seen', async () => {
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [openIssue])
    github()
      .post('/repos/octo/site/issues/7/comments')
      .reply(403, { message: 'Resource not accessible by integration' })
    const mode = createCheckMode({ checkSite: async () => healthy, env: { GITHUB_REPOSITORY: 'octo/site' } })
    const result = await mode(settings(), memoryReporter())
    expect(result.outputs.status).toBe('healthy')
    expect(result.failure).toMatch(
      /^report-issue: GitHub refused to comment on issue #7 in octo\/site \(403: /,
    )
  })

  it('links the issue it opened in the summary, with the run from the settings', async () => {
    const bodies: { body: string }[] = []
    github().get('/repos/octo/site/issues').query(LIST_QUERY).reply(200, [])
    github()
      .post('/repos/octo/site/issues', recordBody(bodies))
      .reply(201, { number: 13, html_url: 'https://github.com/octo/site/issues/13' })
    const reporter = memoryReporter()
    const mode = createCheckMode({ checkSite: async () => failing, env: { GITHUB_REPOSITORY: 'octo/site' } })
    await mode(settings(), reporter)
    expect(bodies[0]?.body).toContain(`[the workflow run](${RUN})`)
    expect(reporter.summaries[0]).toContain(
      'Health issue: opened #13 (https://github.com/octo/site/issues/13).',
    )
  })
})
