// The runner's reading of remote.sh's stdout: "@@cd KIND ARGS..." lines are events, the rest is output.
// Pure: folds lines into a RemoteOutcome that the modes turn into outputs, a summary and messages.

export const EVENT_PREFIX = '@@cd '

export interface RemoteEvent {
  readonly kind: string
  /** Everything after the kind, as sent. */
  readonly text: string
}

export function parseEventLine(line: string): RemoteEvent | undefined {
  if (!line.startsWith(EVENT_PREFIX)) return undefined
  const rest = line.slice(EVENT_PREFIX.length)
  const space = rest.indexOf(' ')
  return space < 0 ? { kind: rest, text: '' } : { kind: rest.slice(0, space), text: rest.slice(space + 1) }
}

export interface PhaseTiming {
  readonly name: string
  readonly startedAt: number
  endedAt?: number
}

export interface RemoteFailure {
  readonly phase: string
  readonly exitCode: number
  command?: string
  readonly output: string[]
  message?: string
}

export interface RemoteOutcome {
  readonly phases: PhaseTiming[]
  /** `fact KEY VALUE...` events, in order: key → values of each time it was said. */
  readonly facts: Map<string, string[]>
  readonly warnings: string[]
  /** `state k=v ...`: current, previous, running, active. */
  readonly state: Record<string, string>
  changed?: boolean
  verdict?: string
  result?: string
  failure?: RemoteFailure
  readonly psBefore: string[]
  readonly psAfter: string[]
  /** base64 lines of the current release's tar (plan). */
  readonly currentTar: string[]
  /** Lines that were not events: command output the script let through. */
  readonly output: string[]
  lockHolder?: string
}

export function emptyOutcome(): RemoteOutcome {
  return {
    phases: [],
    facts: new Map(),
    warnings: [],
    state: {},
    psBefore: [],
    psAfter: [],
    currentTar: [],
    output: [],
  }
}

/** Applies one stdout line to the outcome; returns the event when it was one. */
export function foldLine(outcome: RemoteOutcome, line: string, now: number): RemoteEvent | undefined {
  const event = parseEventLine(line)
  if (!event) {
    outcome.output.push(line)
    return undefined
  }
  const { kind, text } = event
  const last = outcome.phases[outcome.phases.length - 1]
  switch (kind) {
    case 'phase':
      if (last && last.endedAt === undefined) last.endedAt = now
      outcome.phases.push({ name: text, startedAt: now })
      break
    case 'fact': {
      const [key = '', ...values] = text.split(' ')
      const list = outcome.facts.get(key) ?? []
      list.push(values.join(' '))
      outcome.facts.set(key, list)
      break
    }
    case 'state':
      for (const pair of text.split(' ')) {
        const eq = pair.indexOf('=')
        if (eq > 0) outcome.state[pair.slice(0, eq)] = pair.slice(eq + 1)
      }
      break
    case 'warning':
      outcome.warnings.push(text)
      break
    case 'changed':
      outcome.changed = text === '1'
      break
    case 'verdict':
      outcome.verdict = text
      break
    case 'result':
      outcome.result = text
      if (last && last.endedAt === undefined) last.endedAt = now
      break
    case 'fail': {
      const [phase = 'unknown', code = '1'] = text.split(' ')
      outcome.failure = { phase, exitCode: Number(code), output: [] }
      if (last && last.endedAt === undefined) last.endedAt = now
      break
    }
    case 'command':
      if (outcome.failure) outcome.failure.command = text
      break
    case 'output':
      if (outcome.failure) outcome.failure.output.push(text)
      break
    case 'message':
      if (outcome.failure) outcome.failure.message = text
      break
    case 'ps-before':
      outcome.psBefore.push(text)
      break
    case 'ps-after':
      outcome.psAfter.push(text)
      break
    case 'tar':
      outcome.currentTar.push(text)
      break
    case 'waiting-lock':
      outcome.lockHolder = text
      break
    default:
      break
  }
  return event
}

interface ComposeContainer {
  readonly service: string
  readonly id: string
  readonly createdAt: string
  readonly state: string
}

/** Reads `docker compose ps --format json`: one object per line (Compose ≥ 2.21) or one array (older). */
export function parseComposePs(lines: readonly string[]): ComposeContainer[] {
  const containers: ComposeContainer[] = []
  for (const line of lines) {
    let parsed: unknown
    try {
      parsed = JSON.parse(line)
    } catch {
      continue
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      if (typeof item !== 'object' || item === null) continue
      const record = item as Record<string, unknown>
      containers.push({
        service: String(record.Service ?? ''),
        id: String(record.ID ?? record.Name ?? ''),
        createdAt: String(record.CreatedAt ?? ''),
        state: String(record.State ?? ''),
      })
    }
  }
  return containers
}

/** Services whose container changed across the restart (new ID or creation time), sorted. */
export function recreatedServices(before: readonly string[], after: readonly string[]): string[] {
  const old = new Map(parseComposePs(before).map((c) => [c.service, c]))
  const changed = parseComposePs(after)
    .filter((c) => {
      const was = old.get(c.service)
      return !was || was.id !== c.id || was.createdAt !== c.createdAt
    })
    .map((c) => c.service)
  return [...new Set(changed)].sort()
}
