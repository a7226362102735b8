// The Compose stand-in: `docker compose ...` (v2) and `docker-compose ...` (v1), run from the project
// directory. It keeps each project's state (up, stopped or down; its directory; a configuration hash
// per service), brings the site (a real nginx) up and down with the project, and prints what real
// compose prints about containers, so a deploy can tell which services a change recreated.

import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import {
  buildContextOf,
  hashDirectory,
  imageOf,
  loadProject,
  serviceConfigHash,
  yaml,
} from './compose-file.mjs'
import { ensureVolume, parseOptions } from './docker.mjs'
import { forbiddenCall, StandInError, unknownCall } from './errors.mjs'
import { applySite, stopSite } from './site.mjs'

/**
 * @typedef {import('./context.mjs').Context} Context
 * @typedef {import('./compose-file.mjs').ComposeGlobals} ComposeGlobals
 * @typedef {import('./compose-file.mjs').ComposeProject} ComposeProject
 * @typedef {import('../test-host.d.mts').StandInState} StandInState
 * @typedef {import('../test-host.d.mts').ComposeProjectState} ComposeProjectState
 */

export const COMPOSE_V2_VERSION = '2.32.4'
export const COMPOSE_V1_VERSION = '1.29.2'

/** Global options that take a value, per version. */
const GLOBAL_VALUE_OPTIONS = {
  v2: [
    '-f',
    '--file',
    '-p',
    '--project-name',
    '--project-directory',
    '--env-file',
    '--ansi',
    '--progress',
    '--profile',
  ],
  v1: [
    '-f',
    '--file',
    '-p',
    '--project-name',
    '--project-directory',
    '--env-file',
    '--profile',
    '-H',
    '--host',
  ],
}
const GLOBAL_FLAGS = {
  v2: ['--compatibility', '--dry-run'],
  v1: ['--no-ansi', '--verbose', '--compatibility'],
}

/**
 * Splits compose's global options from the subcommand and its arguments.
 * @param {readonly string[]} args
 * @param {'v1' | 'v2'} version
 * @returns {{ globals: ComposeGlobals, command: string | undefined, rest: string[], unknownGlobal?: string }}
 */
export function parseGlobals(args, version) {
  /** @type {ComposeGlobals} */
  const globals = { files: [] }
  const valueOptions = GLOBAL_VALUE_OPTIONS[version]
  let i = 0
  for (; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i])
    if (!arg.startsWith('-')) break
    if (arg === '--version' || arg === '-v') return { globals, command: 'version', rest: ['--short-banner'] }
    const [name = '', inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg]
    if (valueOptions.includes(name)) {
      const value = inline ?? args[++i] ?? ''
      if (name === '-f' || name === '--file') globals.files.push(value)
      if (name === '-p' || name === '--project-name') globals.projectName = value
      if (name === '--project-directory') globals.projectDirectory = value
      if (name === '--env-file') globals.envFile = value
    } else if (!GLOBAL_FLAGS[version].includes(arg)) {
      return { globals, command: undefined, rest: [], unknownGlobal: arg }
    }
  }
  return { globals, command: args[i], rest: args.slice(i + 1) }
}

/**
 * The compose command without its global options, for matching failure rules: `pull --quiet`.
 * @param {readonly string[]} args
 */
export function canonicalCompose(args) {
  const { command, rest } = parseGlobals(args, 'v2')
  return [command ?? '', ...rest].join(' ').trim()
}

/**
 * Checks a subcommand's arguments against the options it takes.
 * @param {string} commandLine
 * @param {readonly string[]} args
 * @param {{ flags?: readonly string[], values?: readonly string[], positional?: 'none' | 'services' | 'any' }} spec
 */
function options(commandLine, args, spec) {
  const parsed = parseOptions(args, spec.values ?? [])
  for (const flag of parsed.flags) {
    if (!(spec.flags ?? []).includes(flag)) throw unknownCall(commandLine, `option ${flag}`)
  }
  if ((spec.positional ?? 'none') === 'none' && parsed.rest.length > 0) {
    throw unknownCall(commandLine, `argument ${parsed.rest[0]}`)
  }
  return parsed
}

/**
 * A container's name: v2 `project-service-1`, v1 `project_service_1`.
 * @param {'v1' | 'v2'} version
 * @param {string} project
 * @param {string} service
 */
export function containerName(version, project, service) {
  return version === 'v2' ? `${project}-${service}-1` : `${project}_${service}_1`
}

/**
 * @param {Context} context
 * @param {'v1' | 'v2'} version
 * @param {readonly string[]} args
 * @returns {Promise<number>}
 */
export async function runCompose(context, version, args) {
  const program = version === 'v2' ? 'docker compose' : 'docker-compose'
  const commandLine = [program, ...args].join(' ')
  const { globals, command, rest, unknownGlobal } = parseGlobals(args, version)
  if (unknownGlobal) throw unknownCall(commandLine, `global option ${unknownGlobal}`)
  if (command === 'version') return composeVersion(context, version, rest, commandLine)
  if (context.uid !== 0 && version === 'v1') {
    throw new StandInError(
      "Couldn't connect to Docker daemon at http+docker://localhost - is it running?\n\nIf it's at a non-standard location, specify the URL with the DOCKER_HOST environment variable.",
      1,
    )
  }
  if (context.uid !== 0) {
    throw new StandInError(
      'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: connect: permission denied',
      1,
    )
  }
  /** @type {Session} */
  const session = { context, version, globals, commandLine, program }
  switch (command) {
    case 'config':
      return config(session, rest)
    case 'pull':
      return pull(session, rest)
    case 'build':
      return build(session, rest)
    case 'up':
      return up(session, rest)
    case 'down':
      return down(session, rest)
    case 'stop':
    case 'start':
    case 'restart':
      return startStop(session, command, rest)
    case 'ps':
      return ps(session, rest)
    case 'logs':
      return logs(session, rest)
    case 'exec':
      return exec(session, rest)
    case 'rm':
      if (rest.includes('-v') || rest.includes('--volumes')) throw forbiddenCall(commandLine)
      throw unknownCall(commandLine)
    default:
      throw unknownCall(
        commandLine,
        'known: version, config, pull, build, up, down, stop, start, restart, ps, logs, exec',
      )
  }
}

/**
 * @typedef {{ context: Context, version: 'v1' | 'v2', globals: ComposeGlobals, commandLine: string, program: string }} Session
 */

/** @param {Session} session */
function load(session) {
  const project = loadProject(session.context, session.globals, session.version)
  for (const warning of project.warnings) warn(session, warning)
  return project
}

/**
 * @param {Session} session
 * @param {string} message
 */
function warn(session, message) {
  session.context.err(session.version === 'v2' ? `WARN[0000] ${message}\n` : `WARNING: ${message}\n`)
}

/**
 * @param {Context} context
 * @param {'v1' | 'v2'} version
 * @param {readonly string[]} args
 * @param {string} commandLine
 */
function composeVersion(context, version, args, commandLine) {
  const short = args.includes('--short')
  if (args.some((arg) => !['--short', '--short-banner'].includes(arg))) throw unknownCall(commandLine)
  if (version === 'v2') {
    context.out(short ? `${COMPOSE_V2_VERSION}\n` : `Docker Compose version v${COMPOSE_V2_VERSION}\n`)
  } else if (short) {
    context.out(`${COMPOSE_V1_VERSION}\n`)
  } else {
    context.out(`docker-compose version ${COMPOSE_V1_VERSION}, build 5becea4c\n`)
  }
  return 0
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function config(session, args) {
  const parsed = options(session.commandLine, args, {
    flags: ['-q', '--quiet', '--services', '--volumes', '--images'],
    values: ['--format'],
  })
  const project = load(session)
  const { out } = session.context
  if (parsed.flags.has('--services'))
    out(
      Object.keys(project.services)
        .map((s) => `${s}\n`)
        .join(''),
    )
  else if (parsed.flags.has('--volumes'))
    out(
      Object.keys(project.model.volumes ?? {})
        .map((v) => `${v}\n`)
        .join(''),
    )
  else if (parsed.flags.has('--images')) {
    out(
      Object.keys(project.services)
        .map((s) => `${imageOf(project, s)}\n`)
        .join(''),
    )
  } else if (!parsed.flags.has('-q') && !parsed.flags.has('--quiet')) {
    const format = parsed.values['--format'] ?? 'yaml'
    if (format === 'json') out(`${JSON.stringify(project.model, null, 2)}\n`)
    else if (format === 'yaml') out(yaml().stringify(project.model))
    else throw unknownCall(session.commandLine, `format ${format}`)
  }
  return 0
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function pull(session, args) {
  const flags =
    session.version === 'v2'
      ? ['-q', '--quiet', '--ignore-buildable', '--ignore-pull-failures', '--include-deps']
      : ['-q', '--quiet', '--ignore-pull-failures', '--include-deps', '--no-parallel', '--parallel']
  const parsed = options(session.commandLine, args, { flags, values: ['--policy'], positional: 'services' })
  const project = load(session)
  const names = selectedServices(project, parsed.rest)
  const quiet = parsed.flags.has('-q') || parsed.flags.has('--quiet')
  const pulled = names.filter(
    (name) => !(parsed.flags.has('--ignore-buildable') && project.services[name]?.build !== undefined),
  )
  session.context.store.update((state) => {
    for (const name of pulled) {
      const service = /** @type {Record<string, any>} */ (project.services[name])
      if (service.image === undefined) continue
      state.images[String(service.image)] = {
        id: imageId(String(service.image)),
        at: new Date().toISOString(),
      }
    }
  })
  if (!quiet) for (const name of pulled) session.context.err(` ${name} Pulled\n`)
  return 0
}

/** A stable fake image id. @param {string} seed */
function imageId(seed) {
  return `sha256:${createHash('sha256').update(seed).digest('hex').slice(0, 12)}`
}

/**
 * @param {ComposeProject} project
 * @param {readonly string[]} requested
 */
function selectedServices(project, requested) {
  for (const name of requested) {
    if (!(name in project.services)) throw new StandInError(`no such service: ${name}`, 1)
  }
  return requested.length > 0 ? [...requested] : Object.keys(project.services)
}

/**
 * "Builds" the images of services with `build:`: the image id follows the build context's content.
 * @param {Session} session
 * @param {ComposeProject} project
 * @param {readonly string[]} names
 * @param {(name: string) => boolean} [onlyIf]
 * @returns {string[]} the services built
 */
function buildImages(session, project, names, onlyIf = () => true) {
  /** @type {{ image: string, id: string, name: string }[]} */
  const built = []
  for (const name of names) {
    const context = buildContextOf(project, name)
    if (context === undefined || !onlyIf(name)) continue
    built.push({
      name,
      image: imageOf(project, name),
      id: imageId(`${imageOf(project, name)}:${hashDirectory(context)}`),
    })
  }
  if (built.length > 0) {
    session.context.store.update((state) => {
      for (const { image, id } of built)
        state.images[image] = { id, at: new Date().toISOString(), built: true }
    })
  }
  return built.map((entry) => entry.name)
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function build(session, args) {
  const flags =
    session.version === 'v2'
      ? ['-q', '--quiet', '--pull', '--no-cache', '--with-dependencies']
      : ['-q', '--quiet', '--pull', '--no-cache', '--parallel', '--no-rm', '--force-rm']
  const parsed = options(session.commandLine, args, { flags, values: ['--progress'], positional: 'services' })
  const project = load(session)
  const built = buildImages(session, project, selectedServices(project, parsed.rest))
  if (!parsed.flags.has('-q') && !parsed.flags.has('--quiet')) {
    for (const name of built) session.context.err(` Service ${name} Built\n`)
  }
  return 0
}

/**
 * The service that plays the Commento app (its containers are the ones a broken site shows restarting).
 * @param {ComposeProject | { services: Record<string, unknown> }} project
 */
function appService(project) {
  const names = Object.keys(project.services)
  return names.find((n) => n === 'app' || n === 'commento') ?? names.find((n) => n.includes('commento'))
}

/** Whether a service plays the web server (its recreation restarts nginx). @param {string} name */
function isWebServer(name) {
  return name.includes('nginx') || name === 'web' || name === 'proxy'
}

/**
 * External volumes must exist; the project's own named volumes are created as compose does.
 * @param {Session} session
 * @param {ComposeProject} project
 * @param {StandInState} state
 * @returns {string[]} the volumes created
 */
function prepareVolumes(session, project, state) {
  /** @type {string[]} */
  const created = []
  for (const [key, spec] of Object.entries(project.model.volumes ?? {})) {
    const volume = /** @type {Record<string, any> | null} */ (spec) ?? {}
    const external = volume.external === true || (volume.external && typeof volume.external === 'object')
    const name = String(volume.name ?? (external ? key : `${project.name}_${key}`))
    if (external) {
      if (!state.volumes[name]) {
        throw new StandInError(
          session.version === 'v2'
            ? `external volume "${name}" not found`
            : `ERROR: Volume ${name} declared as external, but could not be found. Please create the volume manually using \`docker volume create --name=${name}\` and try again.`,
          1,
        )
      }
    } else if (ensureVolume(session.context, state, name, { 'com.docker.compose.project': project.name })) {
      created.push(name)
    }
  }
  return created
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
async function up(session, args) {
  // Flags of a foreground `up` (the article's and the v1 unit's: stop everything when one container
  // exits) are accepted; the stand-in's containers never exit on their own.
  const attached = ['--abort-on-container-exit', '--no-color', '--always-recreate-deps', '--no-deps']
  const common = [
    '-d',
    '--detach',
    '--remove-orphans',
    '--force-recreate',
    '--build',
    '--no-build',
    '--quiet-pull',
  ]
  const flags =
    session.version === 'v2'
      ? [...common, '--wait', '--no-log-prefix', '--attach-dependencies', ...attached]
      : [...common, ...attached]
  const values =
    session.version === 'v2'
      ? ['--wait-timeout', '--pull', '-t', '--timeout', '--exit-code-from']
      : ['-t', '--timeout', '--exit-code-from']
  const parsed = options(session.commandLine, args, { flags, values, positional: 'services' })
  const detached = parsed.flags.has('-d') || parsed.flags.has('--detach')
  if (parsed.flags.has('--wait') && !detached) throw unknownCall(session.commandLine, '--wait without -d')
  const project = load(session)
  // `up SERVICE...` starts only those (as compose does, with their dependencies left to the caller).
  const selected = parsed.rest
  for (const name of selected) {
    if (!(name in project.services)) throw new StandInError(`no such service: ${name}`, 1)
  }
  const names = selected.length > 0 ? selected : Object.keys(project.services)
  if (names.length === 0) throw new StandInError('no service selected', 1)
  const forceBuild = parsed.flags.has('--build')
  const known = session.context.store.read().images
  if (!parsed.flags.has('--no-build')) {
    buildImages(session, project, names, (name) => forceBuild || !known[imageOf(project, name)])
  }
  const { context, version } = session
  const result = context.store.update((state) => {
    const volumesCreated = prepareVolumes(session, project, state)
    const previous = state.projects[project.name]
    const wasRunning = previous?.status === 'up'
    /** @type {Record<string, { container: string, hash: string }>} */
    const services = {}
    /** @type {{ container: string, service: string, status: string }[]} */
    const lines = []
    for (const name of names) {
      const image = imageOf(project, name)
      const hash = serviceConfigHash(project, name, state.images[image]?.id ?? imageId(image))
      const container = containerName(version, project.name, name)
      const before = previous?.status === 'down' ? undefined : previous?.services[name]
      let status = 'Started'
      if (before && before.hash === hash && !parsed.flags.has('--force-recreate')) {
        status = wasRunning ? 'Running' : 'Started'
      } else if (before) {
        status = 'Recreated'
      }
      services[name] = { container, hash }
      lines.push({ container, service: name, status })
    }
    // With services named, the others are left as they are: not orphans.
    if (selected.length > 0 && previous && previous.status !== 'down') {
      for (const [name, service] of Object.entries(previous.services)) services[name] ??= service
    }
    const orphans =
      selected.length === 0 && previous && previous.status !== 'down'
        ? Object.keys(previous.services).filter((s) => !(s in services))
        : []
    const removedOrphans = parsed.flags.has('--remove-orphans') ? orphans : []
    // Without --remove-orphans, compose leaves the containers of removed services running.
    for (const orphan of orphans) {
      if (!removedOrphans.includes(orphan)) services[orphan] = /** @type {any} */ (previous?.services[orphan])
    }
    // The site plays nginx: it changes only when an up includes the web server.
    const touchesSite = names.some((name) => isWebServer(name))
    const broken = touchesSite ? state.breakSiteOnNextUp : state.site.broken
    if (touchesSite) state.breakSiteOnNextUp = false
    state.projects[project.name] = {
      status: 'up',
      dir: project.dir,
      files: project.files,
      services,
      upCount: (previous?.upCount ?? 0) + 1,
      updatedAt: new Date().toISOString(),
      // What was restored into the database stays counted (the data lives in the volume, not the container).
      ...(previous?.restoredBytes ? { restoredBytes: previous.restoredBytes } : {}),
    }
    const siteWasRunning = state.site.running
    if (touchesSite) {
      state.site = {
        running: true,
        project: project.name,
        release: basename(project.dir),
        broken,
        generation: state.site.generation + 1,
      }
    }
    return {
      lines,
      orphans,
      removedOrphans: removedOrphans.map((s) => containerName(version, project.name, s)),
      volumesCreated,
      site: state.site,
      restartSite:
        siteWasRunning && lines.some((line) => isWebServer(line.service) && line.status === 'Recreated'),
    }
  })
  for (const volume of result.volumesCreated) {
    context.err(
      version === 'v2'
        ? ` Volume "${volume}" Created\n`
        : `Creating volume "${volume}" with default driver\n`,
    )
  }
  if (result.orphans.length > 0 && result.removedOrphans.length === 0) {
    const names = result.orphans.map((s) => containerName(version, project.name, s)).join(' ')
    warn(
      session,
      `Found orphan containers ([${names}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
    )
  }
  for (const container of result.removedOrphans) {
    context.err(
      version === 'v2' ? `Container ${container} Removed\n` : `Removing orphan container "${container}"\n`,
    )
  }
  await applySite(context.host, siteContent(result.site), { restart: result.restartSite })
  for (const line of result.lines) context.err(`${upLine(version, line.container, line.status)}\n`)
  if (detached) return 0
  return attach(
    session,
    project,
    result.lines.map((line) => line.container),
  )
}

/**
 * @param {StandInState['site']} site
 * @returns {import('./site.mjs').SiteContent}
 */
function siteContent(site) {
  return { release: site.release ?? '', broken: site.broken, generation: site.generation }
}

/**
 * What compose says about one container after `up`.
 * @param {'v1' | 'v2'} version
 * @param {string} container
 * @param {string} status Started | Recreated | Running
 */
function upLine(version, container, status) {
  if (version === 'v2') return `Container ${container} ${status}`
  if (status === 'Running') return `${container} is up-to-date`
  return `${status === 'Recreated' ? 'Recreating' : 'Creating'} ${container} ... done`
}

/**
 * Foreground `up` (no -d), as the 2019 article's unit runs it: stays until SIGTERM/SIGINT (then stops
 * the containers, as compose does) or until another command takes the project down.
 * @param {Session} session
 * @param {ComposeProject} project
 * @param {string[]} containers
 * @returns {Promise<number>}
 */
function attach(session, project, containers) {
  const { context } = session
  context.out(`Attaching to ${containers.join(', ')}\n`)
  return new Promise((resolvePromise) => {
    const timer = setInterval(() => {
      const state = context.store.read()
      if (state.projects[project.name]?.status !== 'up') {
        clearInterval(timer)
        resolvePromise(0)
      }
    }, 200)
    /** @param {NodeJS.Signals} signal */
    const stop = (signal) => {
      clearInterval(timer)
      context.out('Gracefully stopping... (press Ctrl+C again to force)\n')
      markStopped(session, project.name)
      resolvePromise(signal === 'SIGINT' ? 130 : 0)
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}

/**
 * @param {Session} session
 * @param {string} projectName
 */
function markStopped(session, projectName) {
  const stopSiteToo = session.context.store.update((state) => {
    const project = state.projects[projectName]
    if (project?.status !== 'up') return false
    project.status = 'stopped'
    project.updatedAt = new Date().toISOString()
    if (state.site.project !== projectName) return false
    state.site.running = false
    return true
  })
  if (stopSiteToo) stopSite(session.context.host)
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function down(session, args) {
  if (args.includes('-v') || args.includes('--volumes')) throw forbiddenCall(session.commandLine)
  options(session.commandLine, args, { flags: ['--remove-orphans'], values: ['-t', '--timeout'] })
  const project = load(session)
  const { context, version } = session
  const result = context.store.update((state) => {
    const entry = state.projects[project.name]
    if (!entry || entry.status === 'down') return { containers: [], stopSite: false }
    const containers = Object.values(entry.services).map((service) => service.container)
    entry.status = 'down'
    entry.services = {}
    entry.updatedAt = new Date().toISOString()
    const ownsSite = state.site.project === project.name && state.site.running
    if (ownsSite) state.site.running = false
    return { containers, stopSite: ownsSite }
  })
  if (result.stopSite) stopSite(context.host)
  for (const container of result.containers) {
    context.err(version === 'v2' ? `Container ${container} Removed\n` : `Removing ${container} ... done\n`)
  }
  if (result.containers.length > 0) {
    context.err(
      version === 'v2'
        ? `Network ${project.name}_default Removed\n`
        : `Removing network ${project.name}_default\n`,
    )
  }
  return 0
}

/**
 * `stop`, `start` and `restart` of the whole project (a service list is refused: the stand-in keeps one
 * state per project).
 * @param {Session} session
 * @param {'stop' | 'start' | 'restart'} verb
 * @param {readonly string[]} args
 */
async function startStop(session, verb, args) {
  options(session.commandLine, args, { values: verb === 'start' ? [] : ['-t', '--timeout'] })
  const project = load(session)
  const { context, version } = session
  const entry = context.store.read().projects[project.name]
  if (!entry || entry.status === 'down') {
    if (verb === 'stop') return 0
    throw new StandInError(
      version === 'v2' ? 'service "app" has no container to start' : 'No containers to start',
      1,
    )
  }
  const containers = Object.values(entry.services).map((service) => service.container)
  if (verb === 'stop' || verb === 'restart') {
    markStopped(session, project.name)
    for (const container of containers) context.err(`Container ${container} Stopped\n`)
    if (verb === 'stop') return 0
  }
  const site = context.store.update((state) => {
    const current = /** @type {ComposeProjectState} */ (state.projects[project.name])
    current.status = 'up'
    current.updatedAt = new Date().toISOString()
    state.site = {
      running: true,
      project: project.name,
      release: basename(current.dir),
      broken: state.site.project === project.name ? state.site.broken : false,
      generation: state.site.generation + 1,
    }
    return state.site
  })
  await applySite(context.host, siteContent(site))
  for (const container of containers) context.err(`Container ${container} Started\n`)
  return 0
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function ps(session, args) {
  const flags = ['-a', '--all', '-q', '--quiet', '--services']
  const parsed = options(session.commandLine, args, {
    flags,
    values: session.version === 'v2' ? ['--format', '--status'] : [],
    positional: 'services',
  })
  const project = load(session)
  const { context, version } = session
  const state = context.store.read()
  const entry = state.projects[project.name]
  const all = parsed.flags.has('-a') || parsed.flags.has('--all')
  const listed =
    entry && entry.status !== 'down' && (entry.status === 'up' || all)
      ? Object.entries(entry.services).filter(
          ([name]) => parsed.rest.length === 0 || parsed.rest.includes(name),
        )
      : []
  const app = appService(entry ?? { services: {} })
  const rows = listed.map(([service, info]) => {
    const restarting =
      entry?.status === 'up' && state.site.broken && state.site.project === project.name && service === app
    const running = entry?.status === 'up'
    return {
      Command: '"/entrypoint"',
      CreatedAt: entry?.updatedAt ?? '',
      ExitCode: restarting ? 1 : 0,
      Health: '',
      ID: createHash('sha256')
        .update(info.container + info.hash)
        .digest('hex')
        .slice(0, 12),
      Image: service in project.services ? imageOf(project, service) : service,
      Labels: `com.docker.compose.project=${project.name},com.docker.compose.service=${service}`,
      LocalVolumes: '0',
      Mounts: '',
      Name: info.container,
      Names: info.container,
      Networks: `${project.name}_default`,
      Ports: '',
      Project: project.name,
      Publishers: [],
      RunningFor: 'About a minute ago',
      Service: service,
      Size: '0B',
      State: restarting ? 'restarting' : running ? 'running' : 'exited',
      Status: restarting
        ? 'Restarting (1) 2 seconds ago'
        : running
          ? 'Up About a minute'
          : 'Exited (0) 5 seconds ago',
    }
  })
  const status = parsed.values['--status']
  const shown = status ? rows.filter((row) => row.State === status) : rows
  const format = parsed.values['--format']
  /** @param {(row: (typeof rows)[number]) => string} line */
  const print = (line) => {
    for (const row of shown) context.out(`${line(row)}\n`)
  }
  if (parsed.flags.has('--services')) print((row) => row.Service)
  else if (parsed.flags.has('-q') || parsed.flags.has('--quiet')) print((row) => row.ID)
  else if (format === 'json') print((row) => JSON.stringify(row))
  else if (format !== undefined && format !== 'table')
    throw unknownCall(session.commandLine, `format ${format}`)
  else {
    context.out(
      version === 'v2'
        ? 'NAME      IMAGE     COMMAND   SERVICE   CREATED   STATUS    PORTS\n'
        : 'Name   Command   State   Ports\n',
    )
    print(
      (row) =>
        `${row.Name}   ${row.Image}   ${row.Command}   ${row.Service}   ${row.RunningFor}   ${row.Status}`,
    )
  }
  return 0
}

/**
 * Canned log lines per kind of service.
 * @param {string} service
 * @param {boolean} broken
 */
function cannedLogs(service, broken) {
  if (service.includes('postgres') || service === 'db') {
    return [
      'PostgreSQL init process complete; ready for start up.',
      'database system is ready to accept connections',
    ]
  }
  if (service.includes('nginx')) return ['start worker processes', 'GET /js/commento.js HTTP/1.1 200']
  if (service.includes('certbot'))
    return ['Certificate not yet due for renewal', 'No renewals were attempted.']
  if (broken) {
    return [
      'starting commento',
      'cannot connect to postgres: dial tcp: connection refused',
      'exiting with error',
    ]
  }
  return ['starting commento', 'performing static directory substitutions', 'starting server on 0.0.0.0:8080']
}

/**
 * @param {Session} session
 * @param {readonly string[]} args
 */
function logs(session, args) {
  if (args.includes('-f') || args.includes('--follow'))
    throw unknownCall(session.commandLine, '--follow never ends')
  const parsed = options(session.commandLine, args, {
    flags: ['--no-color', '-t', '--timestamps', '--no-log-prefix'],
    values: ['--tail', '-n', '--since', '--until'],
    positional: 'services',
  })
  const project = load(session)
  const { context, version } = session
  const state = context.store.read()
  const entry = state.projects[project.name]
  if (!entry || entry.status === 'down') return 0
  const tailValue = parsed.values['--tail'] ?? parsed.values['-n'] ?? 'all'
  const tail = tailValue === 'all' ? Number.POSITIVE_INFINITY : Number(tailValue)
  if (!Number.isFinite(tail) && tailValue !== 'all')
    throw unknownCall(session.commandLine, `--tail ${tailValue}`)
  const broken = state.site.broken && state.site.project === project.name
  for (const service of selectedServices(project, parsed.rest)) {
    if (!entry.services[service]) continue
    const lines = cannedLogs(service, broken && service === appService(project))
    const prefix = parsed.flags.has('--no-log-prefix')
      ? ''
      : `${version === 'v2' ? `${service}-1` : containerName('v1', project.name, service)}  | `
    const stamp =
      parsed.flags.has('-t') || parsed.flags.has('--timestamps') ? `${new Date().toISOString()} ` : ''
    for (const line of lines.slice(Math.max(0, lines.length - tail)))
      context.out(`${prefix}${stamp}${line}\n`)
  }
  return 0
}

/**
 * `exec -T SERVICE CMD...`: database dumps and readiness, as the postgres container answers them.
 * @param {Session} session
 * @param {readonly string[]} args
 */
async function exec(session, args) {
  const { context } = session
  let tty = true
  let i = 0
  for (; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i])
    if (arg === '-T' || arg === '--no-TTY' || arg === '--no-tty') tty = false
    else if (['-u', '--user', '-e', '--env', '-w', '--workdir', '--index'].includes(arg)) i += 1
    else if (/^--(user|env|workdir|index)=/.test(arg)) continue
    else if (arg.startsWith('-')) throw unknownCall(session.commandLine, `option ${arg}`)
    else break
  }
  const service = args[i]
  const [command, ...commandArgs] = args.slice(i + 1)
  if (!service || !command) throw unknownCall(session.commandLine, 'exec needs a service and a command')
  const project = load(session)
  if (!(service in project.services)) throw new StandInError(`service "${service}" is not running`, 1)
  const entry = context.store.read().projects[project.name]
  if (entry?.status !== 'up' || !entry.services[service]) {
    throw new StandInError(`service "${service}" is not running`, 1)
  }
  if (tty && !process.stdin.isTTY) throw new StandInError('the input device is not a TTY', 1)
  const program = basename(command)
  if (program === 'pg_dumpall' || program === 'pg_dump') {
    context.out(fakeDump(program, project, entry.dir, commandArgs))
    return 0
  }
  if (program === 'pg_isready') {
    context.out('/var/run/postgresql:5432 - accepting connections\n')
    return 0
  }
  if (program === 'psql' && !commandArgs.some((arg) => arg === '-c' || arg.startsWith('--command'))) {
    let bytes = 0
    for await (const chunk of process.stdin) bytes += chunk.length
    context.store.update((state) => {
      const current = state.projects[project.name]
      if (current) current.restoredBytes = (current.restoredBytes ?? 0) + bytes
    })
    return 0
  }
  throw unknownCall(session.commandLine, 'exec knows pg_dumpall, pg_dump, pg_isready and psql reading stdin')
}

/**
 * A small SQL dump that names where it came from, so a test can tell whose backup a file is.
 * @param {string} program
 * @param {ComposeProject} project
 * @param {string} dir
 * @param {readonly string[]} args
 */
function fakeDump(program, project, dir, args) {
  return [
    '--',
    `-- PostgreSQL database ${program === 'pg_dumpall' ? 'cluster ' : ''}dump (test host stand-in)`,
    `-- project: ${project.name}`,
    `-- project directory: ${dir}`,
    `-- arguments: ${args.join(' ')}`,
    '--',
    '',
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    'CREATE TABLE IF NOT EXISTS comments (commentHex TEXT PRIMARY KEY, markdown TEXT);',
    '',
    `-- PostgreSQL database ${program === 'pg_dumpall' ? 'cluster ' : ''}dump complete`,
    '',
  ].join('\n')
}
