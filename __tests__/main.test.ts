import { jest } from '@jest/globals'

// @actions/core is ESM-only: mock it before the module under test is imported.
const inputs: Record<string, string> = {}
const core = {
  getInput: jest.fn((name: string) => inputs[name] ?? ''),
  setSecret: jest.fn(),
  setOutput: jest.fn(),
  setFailed: jest.fn(),
  info: jest.fn(),
  warning: jest.fn(),
  error: jest.fn(),
  debug: jest.fn(),
  group: jest.fn(async (_title: string, work: () => Promise<unknown>) => work()),
  summary: { addRaw: jest.fn(), write: jest.fn() },
}
jest.unstable_mockModule('@actions/core', () => core)
// The modes have tests of their own; here a stand-in shows how run() handles what a mode returns.
const modeRunner = jest.fn(async () => ({
  outputs: { status: 'unhealthy' },
  failure: 'https://comments.example.com is unhealthy: tls-chain: expired',
}))
jest.unstable_mockModule('../src/modes/index.js', () => ({
  MODE_RUNNERS: { deploy: modeRunner, check: modeRunner, plan: modeRunner, rollback: modeRunner },
}))
const { run } = await import('../src/main.js')

// run() sets the exit code of the process it runs in: jest's own, here. Leave it as it was found.
afterAll(() => {
  process.exitCode = undefined
})

beforeEach(() => {
  for (const key of Object.keys(inputs)) delete inputs[key]
  jest.clearAllMocks()
  process.exitCode = undefined
})

describe('run()', () => {
  it('fails the step with the input error, before anything else happens', async () => {
    Object.assign(inputs, {
      mode: 'plan',
      host: 'vps.example.com',
      domain: 'comments.example.com',
      email: 'x',
    })
    await run()
    expect(core.setFailed).toHaveBeenCalledWith(
      'Input \'email\' is "x": expected an e-mail address such as admin@example.com.',
    )
    expect(core.setOutput).not.toHaveBeenCalled()
  })

  it('masks raw secret inputs even when parsing them fails', async () => {
    Object.assign(inputs, {
      mode: 'deploy',
      host: 'vps.example.com',
      domain: 'comments.example.com',
      email: 'admin@example.com',
      password: 'pw\u0000with-nul',
      'postgres-password': 'db-password-1234',
    })
    await run()
    expect(core.setSecret).toHaveBeenCalledWith('pw\u0000with-nul')
    expect(core.setSecret).toHaveBeenCalledWith('db-password-1234')
    expect(core.setFailed).toHaveBeenCalledWith(
      "Input 'password' is (hidden, 11 characters): expected text without line breaks, NUL or other control characters.",
    )
  })

  it("sets the mode's outputs and fails the step with its failure", async () => {
    Object.assign(inputs, { mode: 'check', domain: 'comments.example.com' })
    await run()
    expect(modeRunner).toHaveBeenCalledWith(
      expect.objectContaining({ mode: 'check', domain: 'comments.example.com' }),
      expect.anything(),
    )
    expect(core.setOutput).toHaveBeenCalledWith('status', 'unhealthy')
    expect(core.setFailed).toHaveBeenCalledWith(
      'https://comments.example.com is unhealthy: tls-chain: expired',
    )
    expect(process.exitCode).toBe(1)
  })
})
