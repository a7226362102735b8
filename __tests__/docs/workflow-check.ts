// Checks a GitHub workflow file the way a reader relies on it: it is a workflow (keys GitHub knows), our
// action gets only inputs action.yml has, every mode it can run is valid and has the inputs it needs,
// secrets come from secrets, and permissions and concurrency are what the job needs.
import { parse } from 'yaml'
import { INPUTS, MODES } from '../../src/inputs/input-definitions.js'

export interface ActionYml {
  readonly inputs: Record<string, { default?: string }>
  readonly outputs: Record<string, unknown>
}

type Json = Record<string, unknown>

const WORKFLOW_KEYS = ['name', 'run-name', 'on', 'permissions', 'env', 'defaults', 'concurrency', 'jobs']
const EVENTS = [
  'push',
  'pull_request',
  'pull_request_target',
  'workflow_dispatch',
  'workflow_call',
  'workflow_run',
  'schedule',
  'release',
  'repository_dispatch',
]
const JOB_KEYS = [
  'name',
  'needs',
  'runs-on',
  'permissions',
  'environment',
  'concurrency',
  'outputs',
  'env',
  'defaults',
  'if',
  'steps',
  'timeout-minutes',
  'strategy',
  'continue-on-error',
  'container',
  'services',
]
const STEP_KEYS = [
  'id',
  'if',
  'name',
  'uses',
  'run',
  'shell',
  'with',
  'env',
  'continue-on-error',
  'timeout-minutes',
  'working-directory',
]
const PERMISSION_SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'security-events',
  'statuses',
]
const DISPATCH_TYPES = ['string', 'boolean', 'choice', 'number', 'environment']

/** `owner/commento-deploy@v1` */
export const OUR_ACTION = /^[A-Za-z0-9_.-]+\/commento-deploy@v\d+$/

// Inputs that must never be written into a workflow file: they come from secrets.
const FROM_SECRETS = ['private-key', 'passphrase', 'password', 'postgres-password', 'host-key']

const isMap = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function unknownKeys(where: string, value: Json, allowed: readonly string[]): string[] {
  return Object.keys(value)
    .filter((key) => !allowed.includes(key))
    .map((key) => `${where}: unknown key '${key}'`)
}

function concurrencyProblems(where: string, value: unknown): string[] {
  if (value === undefined) return []
  if (typeof value === 'string') return [`${where}: concurrency '${value}' has no cancel-in-progress: false`]
  if (!isMap(value) || typeof value.group !== 'string' || value.group === '')
    return [`${where}: concurrency has no group`]
  return value['cancel-in-progress'] === false
    ? []
    : [`${where}: concurrency must set cancel-in-progress: false`]
}

function permissionProblems(where: string, value: unknown): string[] {
  if (value === undefined) return []
  if (!isMap(value)) return [`${where}: permissions must list scopes (not read-all/write-all)`]
  return Object.entries(value).flatMap(([scope, level]) => [
    ...(PERMISSION_SCOPES.includes(scope) ? [] : [`${where}: unknown permission scope '${scope}'`]),
    ...(['read', 'write', 'none'].includes(String(level)) ? [] : [`${where}: permission ${scope}: ${level}`]),
  ])
}

/** The modes a step can run: a literal, or the options of the workflow_dispatch input it names. */
function possibleModes(mode: unknown, dispatchInputs: Json): { modes: string[]; problems: string[] } {
  if (mode === undefined) return { modes: ['deploy'], problems: [] }
  const text = String(mode)
  const expression = /^\$\{\{\s*(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)\s*\}\}$/.exec(text)
  if (!expression) return { modes: [text], problems: [] }
  const input = dispatchInputs[expression[1] ?? '']
  if (!isMap(input) || input.type !== 'choice' || !Array.isArray(input.options))
    return { modes: [], problems: [`mode ${text}: not a workflow_dispatch choice input`] }
  const modes = input.options.map(String)
  const problems =
    input.default !== undefined && !modes.includes(String(input.default))
      ? [`mode ${text}: default '${input.default}' is not one of its options`]
      : []
  return { modes, problems }
}

export interface OurStep {
  readonly job: string
  readonly id?: string
  readonly with: Json
  readonly modes: readonly string[]
}

export interface WorkflowCheck {
  readonly problems: readonly string[]
  readonly workflow: Json
  readonly ourSteps: readonly OurStep[]
  /** Effective permissions of each job (the job's own, else the workflow's). */
  readonly permissions: Readonly<Record<string, unknown>>
}

export function checkWorkflow(text: string, action: ActionYml): WorkflowCheck {
  const problems: string[] = []
  let workflow: unknown
  try {
    workflow = parse(text, { uniqueKeys: true, strict: true })
  } catch (error) {
    return {
      problems: [`not YAML: ${(error as Error).message}`],
      workflow: {},
      ourSteps: [],
      permissions: {},
    }
  }
  if (!isMap(workflow)) return { problems: ['not a mapping'], workflow: {}, ourSteps: [], permissions: {} }
  problems.push(...unknownKeys('workflow', workflow, WORKFLOW_KEYS))
  if (!('on' in workflow)) problems.push("workflow: no 'on'")
  if (!isMap(workflow.jobs) || Object.keys(workflow.jobs).length === 0) problems.push("workflow: no 'jobs'")

  const on = workflow.on
  const events = isMap(on) ? on : typeof on === 'string' ? { [on]: null } : {}
  for (const [event, config] of Object.entries(events)) {
    if (!EVENTS.includes(event)) problems.push(`on: unknown event '${event}'`)
    if (event === 'schedule') {
      const entries = Array.isArray(config) ? config : []
      if (entries.length === 0) problems.push('on.schedule: no cron entries')
      for (const entry of entries) {
        const cron = isMap(entry) ? String(entry.cron ?? '') : ''
        if (!/^([\d*/,-]+\s+){4}[\d*/,-]+$/.test(cron.trim()))
          problems.push(`on.schedule: bad cron '${cron}'`)
      }
    }
  }
  const dispatch = events.workflow_dispatch
  const dispatchInputs = isMap(dispatch) && isMap(dispatch.inputs) ? dispatch.inputs : {}
  for (const [name, input] of Object.entries(dispatchInputs)) {
    if (!isMap(input) || !DISPATCH_TYPES.includes(String(input.type)))
      problems.push(`workflow_dispatch input '${name}': type must be one of ${DISPATCH_TYPES.join(', ')}`)
    else if (input.type === 'choice' && !Array.isArray(input.options))
      problems.push(`workflow_dispatch input '${name}': a choice needs options`)
  }

  problems.push(...permissionProblems('workflow', workflow.permissions))
  problems.push(...concurrencyProblems('workflow', workflow.concurrency))

  const ourSteps: OurStep[] = []
  const permissions: Record<string, unknown> = {}
  for (const [jobName, job] of Object.entries(isMap(workflow.jobs) ? workflow.jobs : {})) {
    const where = `jobs.${jobName}`
    if (!isMap(job)) {
      problems.push(`${where}: not a mapping`)
      continue
    }
    problems.push(...unknownKeys(where, job, JOB_KEYS))
    if (!job['runs-on']) problems.push(`${where}: no runs-on`)
    problems.push(...permissionProblems(where, job.permissions))
    problems.push(...concurrencyProblems(where, job.concurrency))
    if (workflow.concurrency === undefined && job.concurrency === undefined)
      problems.push(`${where}: no concurrency group (overlapping runs would race)`)
    if (workflow.permissions === undefined && job.permissions === undefined)
      problems.push(`${where}: no permissions (the token would get the repository's defaults)`)
    permissions[jobName] = job.permissions ?? workflow.permissions
    const steps = Array.isArray(job.steps) ? job.steps : []
    if (steps.length === 0) problems.push(`${where}: no steps`)
    const ourIds = new Set<string>()
    steps.forEach((step: unknown, index: number) => {
      const at = `${where}.steps[${index}]`
      if (!isMap(step)) {
        problems.push(`${at}: not a mapping`)
        return
      }
      problems.push(...unknownKeys(at, step, STEP_KEYS))
      if ('uses' in step === 'run' in step) problems.push(`${at}: needs exactly one of uses and run`)
      if (typeof step.uses !== 'string' || !OUR_ACTION.test(step.uses)) return
      const withs = isMap(step.with) ? step.with : {}
      for (const key of Object.keys(withs))
        if (!(key in action.inputs)) problems.push(`${at}: '${key}' is not an input of action.yml`)
      const { modes, problems: modeProblems } = possibleModes(withs.mode, dispatchInputs)
      problems.push(...modeProblems.map((p) => `${at}: ${p}`))
      for (const mode of modes) {
        if (!(MODES as readonly string[]).includes(mode)) {
          problems.push(`${at}: mode '${mode}' is not one of ${MODES.join(', ')}`)
          continue
        }
        for (const def of INPUTS)
          if (def.requiredFor?.some((m) => m === mode) && !(def.name in withs))
            problems.push(`${at}: mode '${mode}' needs input '${def.name}'`)
      }
      for (const name of FROM_SECRETS)
        if (name in withs && !/^\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}$/.test(String(withs[name])))
          problems.push(`${at}: '${name}' must come from a secret (\${{ secrets.NAME }})`)
      for (const line of String(withs['commento-env'] ?? '').split('\n')) {
        const [name, ...rest] = line.split('=')
        if (/KEY|SECRET|PASSWORD|TOKEN/.test(name ?? '') && !/^\$\{\{\s*secrets\./.test(rest.join('=')))
          problems.push(`${at}: commento-env ${name} must come from a secret`)
      }
      if (typeof step.id === 'string') ourIds.add(step.id)
      ourSteps.push({
        job: jobName,
        ...(typeof step.id === 'string' ? { id: step.id } : {}),
        with: withs,
        modes,
      })
    })
    // Outputs read from our steps must exist.
    for (const match of JSON.stringify(job).matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
      const [, id, output] = match
      if (ourIds.has(id ?? '') && !((output ?? '') in action.outputs))
        problems.push(`${where}: steps.${id}.outputs.${output} is not an output of action.yml`)
    }
  }
  for (const match of text.matchAll(/\$\{\{/g)) {
    const close = text.indexOf('}}', match.index)
    const next = text.indexOf('${{', (match.index ?? 0) + 3)
    if (close < 0 || (next >= 0 && next < close))
      problems.push(`unclosed expression at offset ${match.index}`)
  }
  return { problems, workflow, ourSteps, permissions }
}

/** The least permissions a job running these steps needs. */
export function neededPermissions(steps: readonly OurStep[]): Record<string, string> {
  const reportsIssues = steps.some((s) => String(s.with['report-issue']) === 'true')
  return { contents: 'read', ...(reportsIssues ? { issues: 'write' } : {}) }
}
