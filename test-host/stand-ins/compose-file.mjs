// Reading a Compose project the way `docker compose` does, as far as a deploy can tell: find the file
// (cwd or a parent), read .env, interpolate ${VARS}, check the model (top-level and service keys,
// image or build, depends_on, named volumes, env files), name the project, and hash each service's
// configuration so `up` knows which containers a change recreates.

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { StandInError } from './errors.mjs'

/** Names compose looks for, in its order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml']

/** @type {typeof import('yaml') | undefined} */
let yamlModule
/**
 * The YAML library, loaded on first use: every stand-in call is a process start, and most calls
 * (`docker version`, `systemctl is-active`…) read no Compose file, so they should not pay for it.
 * @returns {typeof import('yaml')}
 */
export function yaml() {
  yamlModule ??= createRequire(import.meta.url)('yaml')
  return /** @type {typeof import('yaml')} */ (yamlModule)
}

const TOP_LEVEL_KEYS = new Set([
  'version',
  'name',
  'services',
  'networks',
  'volumes',
  'secrets',
  'configs',
  'include',
])

const SERVICE_KEYS = new Set(
  (
    'annotations attach blkio_config build cap_add cap_drop cgroup cgroup_parent command configs container_name ' +
    'cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares cpus cpuset ' +
    'credential_spec depends_on deploy develop device_cgroup_rules devices dns dns_opt dns_search domainname ' +
    'entrypoint env_file environment expose extends external_links extra_hosts gpus group_add healthcheck ' +
    'hostname image init ipc isolation label_file labels links logging mac_address mem_limit mem_reservation ' +
    'mem_swappiness memswap_limit models network_mode networks oom_kill_disable oom_score_adj pid pids_limit ' +
    'platform ports post_start pre_stop privileged profiles provider pull_policy read_only restart runtime ' +
    'scale secrets security_opt shm_size stdin_open stop_grace_period stop_signal storage_opt sysctls tmpfs ' +
    'tty ulimits use_api_socket user userns_mode uts volumes volumes_from working_dir'
  ).split(' '),
)

/**
 * @typedef {{ files: string[], projectName?: string, projectDirectory?: string, envFile?: string }} ComposeGlobals
 * @typedef {{
 *   dir: string, files: string[], name: string, model: Record<string, any>,
 *   services: Record<string, Record<string, any>>, env: Record<string, string>, envFilePath: string,
 *   warnings: string[]
 * }} ComposeProject
 */

/** @param {string} message */
function invalid(message) {
  return new StandInError(message, 1)
}

/**
 * Compose's .env syntax: KEY=VALUE, `export` allowed, # comments, quoted values.
 * @param {string} text
 * @returns {Record<string, string>}
 */
export function parseEnvFile(text) {
  /** @type {Record<string, string>} */
  const env = {}
  for (const rawLine of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = rawLine.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line)
    if (!match) throw invalid(`unexpected character in .env line "${line.slice(0, 40)}": expected KEY=VALUE`)
    const key = /** @type {string} */ (match[1])
    let value = /** @type {string} */ (match[2])
    if (value.startsWith("'")) {
      value = value.slice(1, value.lastIndexOf("'") > 0 ? value.lastIndexOf("'") : undefined)
    } else if (value.startsWith('"')) {
      const end = value.lastIndexOf('"')
      value = value
        .slice(1, end > 0 ? end : undefined)
        .replace(/\\n/g, '\n')
        .replace(/\\(["\\])/g, '$1')
    } else {
      value = value.replace(/\s+#.*$/, '').trim()
    }
    env[key] = value
  }
  return env
}

/**
 * Interpolates one string as compose does: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, $VAR.
 * @param {string} text
 * @param {Record<string, string>} env
 * @param {string} where the key path, for messages
 * @param {string[]} warnings unset variables are reported here
 * @returns {string}
 */
export function interpolate(text, env, where, warnings) {
  return text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    /** @returns {string} */
    (whole, dollar, braced, operator, argument, bare) => {
      if (dollar) return '$'
      const name = braced ?? bare
      if (braced === undefined && bare === undefined) return whole
      const value = env[name]
      const set = value !== undefined
      const nonEmpty = set && value !== ''
      const nested = () => /** @type {string} */ interpolate(argument ?? '', env, where, warnings)
      switch (operator) {
        case ':-':
          return nonEmpty ? value : nested()
        case '-':
          return set ? value : nested()
        case ':?':
        case '?':
          if (operator === ':?' ? nonEmpty : set) return value
          throw invalid(`required variable ${name} is missing a value: ${nested() || `${name} is required`}`)
        case ':+':
          return nonEmpty ? nested() : ''
        case '+':
          return set ? nested() : ''
        default:
          if (!set) {
            const warning = `The "${name}" variable is not set. Defaulting to a blank string.`
            if (!warnings.includes(warning)) warnings.push(warning)
            return ''
          }
          return value
      }
    },
  )
}

/**
 * @param {unknown} node
 * @param {Record<string, string>} env
 * @param {string} where
 * @param {string[]} warnings
 * @returns {unknown}
 */
function interpolateTree(node, env, where, warnings) {
  if (typeof node === 'string') return interpolate(node, env, where, warnings)
  if (Array.isArray(node))
    return node.map((item, i) => interpolateTree(item, env, `${where}[${i}]`, warnings))
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [
        key,
        interpolateTree(value, env, `${where}.${key}`, warnings),
      ]),
    )
  }
  return node
}

/**
 * The compose files: -f ones, else the first known name in `cwd` or the nearest parent that has one.
 * @param {string} cwd
 * @param {ComposeGlobals} globals
 * @param {'v1' | 'v2'} version
 */
export function findComposeFiles(cwd, globals, version) {
  if (globals.files.length > 0) {
    const files = globals.files.map((file) => resolve(cwd, file))
    for (const file of files) {
      if (!existsSync(file)) throw invalid(`open ${file}: no such file or directory`)
    }
    return files
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = COMPOSE_FILE_NAMES.map((name) => join(dir, name)).find((file) => existsSync(file))
    if (found) return [found]
    if (dir === dirname(dir)) break
  }
  throw invalid(
    version === 'v2'
      ? 'no configuration file provided: not found'
      : "Can't find a suitable configuration file in this directory or any\n        parent. Are you in the right directory?\n\n        Supported filenames: docker-compose.yml, docker-compose.yaml, compose.yml, compose.yaml",
  )
}

/** Compose's project-name rule. @param {string} name */
export function normalizeProjectName(name) {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '')
}

/**
 * Loads, interpolates and checks a project.
 * @param {{ cwd: string, env: NodeJS.ProcessEnv }} caller
 * @param {ComposeGlobals} globals
 * @param {'v1' | 'v2'} version
 * @returns {ComposeProject}
 */
export function loadProject(caller, globals, version) {
  const files = findComposeFiles(caller.cwd, globals, version)
  const dir = globals.projectDirectory
    ? resolve(caller.cwd, globals.projectDirectory)
    : dirname(/** @type {string} */ (files[0]))
  const envFilePath = globals.envFile ? resolve(caller.cwd, globals.envFile) : join(dir, '.env')
  if (globals.envFile && !existsSync(envFilePath)) {
    throw invalid(`couldn't find env file: ${envFilePath}`)
  }
  const dotEnv = existsSync(envFilePath) ? parseEnvFile(readFileSync(envFilePath, 'utf8')) : {}
  /** @type {Record<string, string>} */
  const env = { ...dotEnv }
  for (const [key, value] of Object.entries(caller.env)) if (value !== undefined) env[key] = value
  /** @type {string[]} */
  const warnings = []
  /** @type {Record<string, any>} */
  let model = {}
  for (const file of files) {
    let parsed
    try {
      parsed = yaml().parse(readFileSync(file, 'utf8'))
    } catch (error) {
      throw invalid(`yaml: ${file}: ${error instanceof Error ? error.message.split('\n')[0] : error}`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalid(`${file}: top-level object must be a mapping`)
    }
    if ('version' in parsed && version === 'v2') {
      warnings.push(
        `${file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`,
      )
    }
    model = mergeModels(model, /** @type {Record<string, any>} */ (parsed))
  }
  for (const key of Object.keys(model)) {
    if (key.startsWith('x-')) continue
    if (version === 'v1' && key === 'name') {
      throw invalid(
        `The Compose file '${files[0]}' is invalid because:\nInvalid top-level property "name". Valid top-level sections for this Compose file are: version, services, networks, volumes, secrets, configs, and extensions starting with "x-".`,
      )
    }
    if (!TOP_LEVEL_KEYS.has(key))
      throw invalid(`validating ${files[0]}: (root) additional properties '${key}' not allowed`)
  }
  if (model.include !== undefined) throw invalid('include: is not supported by the test host stand-in')
  model = /** @type {Record<string, any>} */ (interpolateTree(model, env, '', warnings))
  const services = /** @type {Record<string, Record<string, any>>} */ (model.services ?? {})
  if (typeof services !== 'object' || Array.isArray(services)) throw invalid('services must be a mapping')
  const topVolumes = model.volumes ?? {}
  for (const [name, service] of Object.entries(services)) {
    if (!service || typeof service !== 'object') throw invalid(`services.${name} must be a mapping`)
    for (const key of Object.keys(service)) {
      if (!key.startsWith('x-') && !SERVICE_KEYS.has(key)) {
        throw invalid(`validating ${files[0]}: services.${name} additional properties '${key}' not allowed`)
      }
    }
    if (service.image === undefined && service.build === undefined) {
      throw invalid(
        `service "${name}" has neither an image nor a build context specified: invalid compose project`,
      )
    }
    const dependsOn = Array.isArray(service.depends_on)
      ? service.depends_on
      : Object.keys(service.depends_on ?? {})
    for (const dependency of dependsOn) {
      if (!(dependency in services)) {
        throw invalid(
          `service "${name}" depends on undefined service "${dependency}": invalid compose project`,
        )
      }
    }
    for (const volume of service.volumes ?? []) {
      const source =
        typeof volume === 'string' ? volume.split(':')[0] : volume?.type === 'volume' ? volume.source : ''
      if (source && !source.startsWith('.') && !source.startsWith('/') && !source.startsWith('~')) {
        if (!(source in topVolumes)) {
          throw invalid(`service "${name}" refers to undefined volume ${source}: invalid compose project`)
        }
      }
    }
    for (const envFile of envFilesOf(service)) {
      const path = resolve(dir, envFile.path)
      if (envFile.required && !existsSync(path)) {
        throw invalid(`env file ${path} not found: stat ${path}: no such file or directory`)
      }
    }
  }
  const nameSource = globals.projectName ?? env.COMPOSE_PROJECT_NAME ?? model.name ?? basename(dir)
  const name =
    globals.projectName || model.name ? String(nameSource) : normalizeProjectName(String(nameSource))
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw invalid(
      `invalid project name "${name}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
    )
  }
  return { dir, files, name, model: { name, ...model }, services, env, envFilePath, warnings }
}

/**
 * Later files override earlier ones (services merged by key, one level deep).
 * @param {Record<string, any>} base
 * @param {Record<string, any>} override
 */
function mergeModels(base, override) {
  /** @type {Record<string, any>} */
  const merged = { ...base }
  for (const [key, value] of Object.entries(override)) {
    if (key === 'services' && base.services) {
      merged.services = { ...base.services }
      for (const [name, service] of Object.entries(value ?? {})) {
        merged.services[name] = { ...(base.services[name] ?? {}), ...service }
      }
    } else if (value && typeof value === 'object' && !Array.isArray(value) && base[key]) {
      merged[key] = { ...base[key], ...value }
    } else {
      merged[key] = value
    }
  }
  return merged
}

/**
 * @param {Record<string, any>} service
 * @returns {{ path: string, required: boolean }[]}
 */
function envFilesOf(service) {
  const list = service.env_file === undefined ? [] : [service.env_file].flat()
  return list.map((entry) =>
    typeof entry === 'string'
      ? { path: entry, required: true }
      : { path: String(entry.path), required: entry.required !== false },
  )
}

/**
 * The build context and Dockerfile of a service with `build:`, checked as `docker compose build` does.
 * @param {ComposeProject} project
 * @param {string} serviceName
 */
export function buildContextOf(project, serviceName) {
  const build = /** @type {Record<string, any>} */ (project.services[serviceName])?.build
  if (build === undefined) return undefined
  const spec = typeof build === 'string' ? { context: build } : build
  const context = resolve(project.dir, String(spec.context ?? '.'))
  if (!existsSync(context)) throw invalid(`unable to prepare context: path "${context}" not found`)
  const dockerfile = isAbsolute(String(spec.dockerfile ?? 'Dockerfile'))
    ? String(spec.dockerfile)
    : join(context, String(spec.dockerfile ?? 'Dockerfile'))
  if (spec.dockerfile_inline === undefined && !existsSync(dockerfile)) {
    throw invalid(`failed to solve: failed to read dockerfile: open ${dockerfile}: no such file or directory`)
  }
  return context
}

/** Hash of every file under `dir` (names and contents): what a rebuild of the image would see. @param {string} dir */
export function hashDirectory(dir) {
  const hash = createHash('sha256')
  /** @param {string} current */
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(current, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile() || statSync(path).isFile()) {
        hash.update(`${path.slice(dir.length)}\0`)
        hash.update(readFileSync(path))
      }
    }
  }
  walk(dir)
  return hash.digest('hex').slice(0, 16)
}

/** The image a service runs: its `image:`, else the one compose builds for it. */
export function imageOf(/** @type {ComposeProject} */ project, /** @type {string} */ serviceName) {
  const service = /** @type {Record<string, any>} */ (project.services[serviceName])
  return service.image ? String(service.image) : `${project.name}-${serviceName}`
}

/**
 * What decides whether `up` recreates a service's container: its interpolated configuration, the
 * contents of its env files and the image it runs (a rebuilt image is a new image).
 * @param {ComposeProject} project
 * @param {string} serviceName
 * @param {string} imageId
 */
export function serviceConfigHash(project, serviceName, imageId) {
  const service = /** @type {Record<string, any>} */ (project.services[serviceName])
  const envFiles = envFilesOf(service).map((entry) => {
    const path = resolve(project.dir, entry.path)
    return existsSync(path) ? readFileSync(path, 'utf8') : ''
  })
  return createHash('sha256')
    .update(JSON.stringify({ service, envFiles, imageId }))
    .digest('hex')
    .slice(0, 16)
}
