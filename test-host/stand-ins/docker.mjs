// The `docker` stand-in: the client calls a deploy makes (versions, volumes, `docker compose` in v2 mode).
// Volumes are real directories in the state directory, so a test can put PG_VERSION in one.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { runCompose } from './compose.mjs'
import { forbiddenCall, StandInError, unknownCall } from './errors.mjs'

/**
 * @typedef {import('./context.mjs').Context} Context
 * @typedef {import('../test-host.d.mts').StandInState} StandInState
 */

export const DOCKER_VERSION = '27.5.1'
const API_VERSION = '1.47'

/** `{{ .Server.Version }}` and `{{.Server.Version}}` are the same template. @param {string} template */
export function normalizeTemplate(template) {
  return template.replace(/\{\{\s*/g, '{{').replace(/\s*\}\}/g, '}}')
}

/**
 * Splits `--format X`, `--format=X`, `-f X` out of args.
 * @param {readonly string[]} args
 * @param {readonly string[]} names option names that take a value
 * @returns {{ values: Record<string, string>, flags: Set<string>, rest: string[] }}
 */
export function parseOptions(args, names) {
  /** @type {Record<string, string>} */
  const values = {}
  const flags = new Set()
  /** @type {string[]} */
  const rest = []
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i])
    const eq = arg.indexOf('=')
    if (arg.startsWith('-') && eq > 0 && names.includes(arg.slice(0, eq))) {
      values[arg.slice(0, eq)] = arg.slice(eq + 1)
    } else if (names.includes(arg)) {
      const value = args[i + 1]
      if (value === undefined) throw new StandInError(`flag needs an argument: ${arg}`, 125)
      values[arg] = value
      i += 1
    } else if (arg.startsWith('-') && arg !== '-') {
      flags.add(arg)
    } else {
      rest.push(arg)
    }
  }
  return { values, flags, rest }
}

/** @param {Context} context */
function requireDaemonAccess(context) {
  if (context.uid === 0) return
  throw new StandInError(
    'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: ' +
      `Get "http://%2Fvar%2Frun%2Fdocker.sock/v${API_VERSION}/version": dial unix /var/run/docker.sock: connect: permission denied`,
    1,
  )
}

/**
 * The whole command line, for messages.
 * @param {Context} context
 */
function commandLine(context) {
  return ['docker', ...context.args].join(' ')
}

/**
 * @param {Context} context
 * @returns {Promise<number>}
 */
export async function runDocker(context) {
  const [verb, ...rest] = context.args
  const command = commandLine(context)
  if (verb === '--version' || verb === '-v') {
    context.out(`Docker version ${DOCKER_VERSION}, build 4c9b3b0\n`)
    return 0
  }
  if (verb === 'compose') {
    if (context.host.compose !== 'v2') {
      throw new StandInError("docker: 'compose' is not a docker command.\nSee 'docker --help'", 1)
    }
    return runCompose(context, 'v2', rest)
  }
  requireDaemonAccess(context)
  if (verb === 'version') return version(context, rest)
  if (verb === 'info') return info(context, rest)
  if (verb === 'volume') return volume(context, rest)
  if (verb === 'system' && rest[0] === 'prune') throw forbiddenCall(command)
  if (verb === 'container' && rest[0] === 'prune' && rest.includes('--volumes')) throw forbiddenCall(command)
  throw unknownCall(command, 'known: version, info, volume inspect|create|ls, compose')
}

/**
 * @param {Context} context
 * @param {readonly string[]} args
 */
function version(context, args) {
  const { values, flags, rest } = parseOptions(args, ['--format', '-f'])
  if (flags.size > 0 || rest.length > 0) throw unknownCall(commandLine(context))
  const format = values['--format'] ?? values['-f']
  const answers = {
    '{{.Server.Version}}': DOCKER_VERSION,
    '{{.Client.Version}}': DOCKER_VERSION,
    '{{.Server.APIVersion}}': API_VERSION,
    '{{.Client.APIVersion}}': API_VERSION,
  }
  if (format === undefined) {
    context.out(
      `Client: Docker Engine - Community\n Version:           ${DOCKER_VERSION}\n API version:       ${API_VERSION}\n\n` +
        `Server: Docker Engine - Community\n Engine:\n  Version:          ${DOCKER_VERSION}\n  API version:      ${API_VERSION} (minimum version 1.24)\n`,
    )
    return 0
  }
  const answer = answers[/** @type {keyof typeof answers} */ (normalizeTemplate(format))]
  if (answer === undefined) throw unknownCall(commandLine(context), `format ${format}`)
  context.out(`${answer}\n`)
  return 0
}

/**
 * @param {Context} context
 * @param {readonly string[]} args
 */
function info(context, args) {
  const { values, flags, rest } = parseOptions(args, ['--format', '-f'])
  if (flags.size > 0 || rest.length > 0) throw unknownCall(commandLine(context))
  const format = values['--format'] ?? values['-f']
  const answers = {
    '{{.ServerVersion}}': DOCKER_VERSION,
    '{{.DockerRootDir}}': '/var/lib/docker',
    '{{.OperatingSystem}}': 'Debian GNU/Linux 12 (bookworm)',
  }
  if (format === undefined) {
    context.out(`Server:\n Server Version: ${DOCKER_VERSION}\n Docker Root Dir: /var/lib/docker\n`)
    return 0
  }
  const answer = answers[/** @type {keyof typeof answers} */ (normalizeTemplate(format))]
  if (answer === undefined) throw unknownCall(commandLine(context), `format ${format}`)
  context.out(`${answer}\n`)
  return 0
}

/**
 * Where a volume's data lives (a real directory in the state dir).
 * @param {string} stateDir
 * @param {string} name
 */
export function volumeMountpoint(stateDir, name) {
  return join(stateDir, 'volumes', name, '_data')
}

/**
 * Creates a volume when missing (real docker: creating an existing volume is a no-op).
 * @param {Context} context
 * @param {StandInState} state
 * @param {string} name
 * @param {Record<string, string>} [labels]
 */
export function ensureVolume(context, state, name, labels = {}) {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw new StandInError(
      `Error response from daemon: create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed.`,
      1,
    )
  }
  if (state.volumes[name]) return false
  const mountpoint = volumeMountpoint(context.host.stateDir, name)
  mkdirSync(mountpoint, { recursive: true, mode: 0o755 })
  state.volumes[name] = { mountpoint, createdAt: new Date().toISOString(), labels }
  return true
}

/**
 * @param {Context} context
 * @param {readonly string[]} args
 */
function volume(context, args) {
  const [verb, ...rest] = args
  const command = commandLine(context)
  if (verb === 'rm' || verb === 'remove' || verb === 'prune') throw forbiddenCall(command)
  if (verb === 'inspect') {
    const { values, flags, rest: names } = parseOptions(rest, ['--format', '-f'])
    if (flags.size > 0 || names.length === 0) throw unknownCall(command)
    const format = values['--format'] ?? values['-f']
    const state = context.store.read()
    let code = 0
    /** @type {unknown[]} */
    const found = []
    for (const name of names) {
      const entry = state.volumes[name]
      if (!entry) {
        context.err(`Error: No such volume: ${name}\n`)
        code = 1
        continue
      }
      const details = {
        CreatedAt: entry.createdAt,
        Driver: 'local',
        Labels: Object.keys(entry.labels ?? {}).length ? entry.labels : null,
        Mountpoint: entry.mountpoint,
        Name: name,
        Options: null,
        Scope: 'local',
      }
      if (format === undefined) {
        found.push(details)
        continue
      }
      const template = normalizeTemplate(format)
      if (template === '{{json .}}') context.out(`${JSON.stringify(details)}\n`)
      else {
        const field = /^\{\{\.(\w+)\}\}$/.exec(template)?.[1]
        if (!field || !(field in details)) throw unknownCall(command, `format ${format}`)
        context.out(`${details[/** @type {keyof typeof details} */ (field)] ?? ''}\n`)
      }
    }
    if (format === undefined) context.out(`${JSON.stringify(found, null, 4)}\n`)
    return code
  }
  if (verb === 'create') {
    const { values, flags, rest: names } = parseOptions(rest, ['--label', '--driver', '-d', '--name'])
    if (flags.size > 0 || names.length > 1) throw unknownCall(command)
    const driver = values['--driver'] ?? values['-d'] ?? 'local'
    if (driver !== 'local') throw unknownCall(command, 'only the local driver')
    const name = names[0] ?? values['--name']
    if (!name) throw unknownCall(command, 'anonymous volumes')
    /** @type {Record<string, string>} */
    const labels = {}
    if (values['--label']) {
      const [key = '', value = ''] = values['--label'].split('=')
      labels[key] = value
    }
    context.store.update((state) => ensureVolume(context, state, name, labels))
    context.out(`${name}\n`)
    return 0
  }
  if (verb === 'ls' || verb === 'list') {
    const { values, flags, rest: extra } = parseOptions(rest, ['--format', '--filter', '-f'])
    const quiet = flags.has('-q') || flags.has('--quiet')
    const unknownFlags = [...flags].filter((flag) => flag !== '-q' && flag !== '--quiet')
    if (unknownFlags.length > 0 || extra.length > 0) throw unknownCall(command)
    let names = Object.keys(context.store.read().volumes).sort()
    const filter = values['--filter'] ?? values['-f']
    if (filter !== undefined) {
      const match = /^name=(.*)$/.exec(filter)
      if (!match) throw unknownCall(command, `filter ${filter}`)
      names = names.filter((name) => name.includes(/** @type {string} */ (match[1])))
    }
    const format = values['--format']
    if (quiet || (format !== undefined && normalizeTemplate(format) === '{{.Name}}')) {
      for (const name of names) context.out(`${name}\n`)
    } else if (format !== undefined) {
      throw unknownCall(command, `format ${format}`)
    } else {
      context.out('DRIVER    VOLUME NAME\n')
      for (const name of names) context.out(`local     ${name}\n`)
    }
    return 0
  }
  throw unknownCall(command, 'known volume verbs: inspect, create, ls')
}
