// The example workflows in examples/ are what users copy: each must be a valid workflow that uses only
// inputs action.yml has, runs valid modes with what they need, and asks for exactly the permissions needed.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { MODES } from '../../src/inputs/input-definitions.js'
import { repoRoot } from '../helpers/paths.js'
import { type ActionYml, checkWorkflow, neededPermissions } from './workflow-check.js'

const action = parse(readFileSync(join(repoRoot, 'action.yml'), 'utf8')) as ActionYml
const examples = join(repoRoot, 'examples')
const read = (name: string) => readFileSync(join(examples, name), 'utf8')

describe('examples/', () => {
  it('holds the three workflows the README promises', () => {
    expect(readdirSync(examples).sort()).toEqual(['deploy-on-push.yml', 'manual.yml', 'scheduled-check.yml'])
  })

  describe.each(['deploy-on-push.yml', 'manual.yml', 'scheduled-check.yml'])('%s', (name) => {
    const check = checkWorkflow(read(name), action)

    it('is a workflow whose every use of the action is valid', () => {
      expect(check.problems).toEqual([])
      expect(check.ourSteps.length).toBeGreaterThan(0)
    })

    it('asks for exactly the permissions its jobs need, and queues overlapping runs', () => {
      for (const [job, permissions] of Object.entries(check.permissions)) {
        const steps = check.ourSteps.filter((s) => s.job === job)
        expect({ job, permissions }).toEqual({ job, permissions: neededPermissions(steps) })
      }
      const concurrency = (check.workflow.concurrency ?? {}) as Record<string, unknown>
      expect(concurrency['cancel-in-progress']).toBe(false)
      expect(String(concurrency.group)).toMatch(/^commento-/)
    })
  })

  it('deploys on push to main', () => {
    const { workflow, ourSteps } = checkWorkflow(read('deploy-on-push.yml'), action)
    expect(workflow.on).toEqual({ push: { branches: ['main'] } })
    expect(ourSteps.map((s) => s.modes)).toEqual([['deploy']])
  })

  it('offers every mode by hand, sharing the deploy concurrency group', () => {
    const { workflow, ourSteps } = checkWorkflow(read('manual.yml'), action)
    const { inputs } = (
      workflow.on as { workflow_dispatch: { inputs: Record<string, { options?: string[] }> } }
    ).workflow_dispatch
    expect([...(inputs.mode?.options ?? [])].sort()).toEqual([...MODES].sort())
    expect(ourSteps.map((s) => [...s.modes].sort())).toEqual([[...MODES].sort()])
    const push = checkWorkflow(read('deploy-on-push.yml'), action).workflow
    expect(workflow.concurrency).toEqual(push.concurrency)
  })

  it('checks every six hours with report-issue, in a group of its own', () => {
    const { workflow, ourSteps, permissions } = checkWorkflow(read('scheduled-check.yml'), action)
    const on = workflow.on as { schedule: Array<{ cron: string }> }
    expect(on.schedule).toHaveLength(1)
    const [minute, hour, ...rest] = (on.schedule[0]?.cron ?? '').split(/\s+/)
    expect(minute).toMatch(/^\d+$/)
    expect(hour).toBe('*/6')
    expect(rest).toEqual(['*', '*', '*'])
    expect(ourSteps).toHaveLength(1)
    expect(ourSteps[0]?.modes).toEqual(['check'])
    expect(ourSteps[0]?.with['report-issue']).toBe(true)
    expect(Object.values(permissions)).toEqual([{ contents: 'read', issues: 'write' }])
    const deployGroup = (
      checkWorkflow(read('deploy-on-push.yml'), action).workflow.concurrency as { group: string }
    ).group
    expect((workflow.concurrency as { group: string }).group).not.toBe(deployGroup)
  })
})

describe('the workflow check finds what is wrong', () => {
  it('reports each kind of mistake', () => {
    const broken = `
name: broken
on:
  push: {}
  schedule:
    - cron: 'every day'
  workflow_dispatch:
    inputs:
      mode: { type: choice, options: [deploy, status], default: deploy }
permissions: write-all
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - id: cd
        uses: someone/commento-deploy@v1
        with:
          mode: \${{ inputs.mode }}
          host: vps.example.com
          domian: comments.example.com
          private-key: "-----BEGIN OPENSSH PRIVATE KEY-----"
          commento-env: |
            COMMENTO_SMTP_PASSWORD=hunter2
      - run: echo \${{ steps.cd.outputs.health }}
`
    expect(checkWorkflow(broken, action).problems).toEqual([
      "on.schedule: bad cron 'every day'",
      'workflow: permissions must list scopes (not read-all/write-all)',
      'jobs.deploy: no concurrency group (overlapping runs would race)',
      "jobs.deploy.steps[0]: 'domian' is not an input of action.yml",
      "jobs.deploy.steps[0]: mode 'deploy' needs input 'domain'",
      "jobs.deploy.steps[0]: mode 'deploy' needs input 'email'",
      "jobs.deploy.steps[0]: mode 'status' is not one of deploy, check, plan, rollback",
      "jobs.deploy.steps[0]: 'private-key' must come from a secret (${{ secrets.NAME }})",
      'jobs.deploy.steps[0]: commento-env COMMENTO_SMTP_PASSWORD must come from a secret',
      'jobs.deploy: steps.cd.outputs.health is not an output of action.yml',
    ])
    expect(checkWorkflow('on: [push\n', action).problems[0]).toMatch(/^not YAML/)
    expect(checkWorkflow('name: x\n', action).problems).toEqual(["workflow: no 'on'", "workflow: no 'jobs'"])
  })
})
