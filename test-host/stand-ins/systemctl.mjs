// The `systemctl` (and `journalctl`) stand-in. It behaves like systemd where a deploy can tell:
// units are loaded on first use or by daemon-reload, and start/stop/restart/reload run the LOADED
// unit's Exec lines (with its WorkingDirectory, Environment and User) — so a test exercises the real
// unit file; a changed file without daemon-reload gets systemd's warning; enable/disable make the
// real [Install] symlinks; a missing unit fails as systemd fails. Services of Type=simple/exec run
// under a small detached supervisor (supervise.mjs) that records how the main process ends.

import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  appendFileSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnvFile } from './compose-file.mjs'
import { StandInError, unknownCall } from './errors.mjs'
import { sleepSync } from './state-store.mjs'
import { parseExecLine, parseUnitFile, serviceSettings } from './unit-file.mjs'

/**
 * @typedef {import('./context.mjs').Context} Context
 * @typedef {import('./unit-file.mjs').ServiceSettings} ServiceSettings
 * @typedef {import('../test-host.d.mts').StandInState} StandInState
 * @typedef {import('../test-host.d.mts').UnitState} UnitState
 */

export const SYSTEMD_VERSION = '252 (252.38-1~deb12u1)'
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const UNIT_DIR = '/etc/systemd/system'
const NO_SYSTEMD =
  "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down"
const MUTATING = new Set([
  'daemon-reload',
  'enable',
  'disable',
  'start',
  'stop',
  'restart',
  'reload',
  'reload-or-restart',
  'try-restart',
  'reset-failed',
])
const FLAGS = new Set([
  '--no-pager',
  '-q',
  '--quiet',
  '--no-block',
  '--no-ask-password',
  '--now',
  '--value',
  '--system',
  '-l',
  '--full',
  '--plain',
  '--no-legend',
  '--no-reload',
])
const VALUE_OPTIONS = new Set(['-p', '--property', '-n', '--lines'])

/**
 * @param {readonly string[]} args
 * @returns {{ flags: Set<string>, properties: string[], lines: number | undefined, words: string[], unknownOption?: string }}
 */
export function parseSystemctlArgs(args) {
  const flags = new Set()
  /** @type {string[]} */
  const properties = []
  /** @type {string[]} */
  const words = []
  let lines
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i])
    const [name = '', inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg]
    if (VALUE_OPTIONS.has(name) || /^-[pn].+/.test(arg)) {
      const short = /^-([pn])(.+)$/.exec(arg)
      const value = short ? short[2] : (inline ?? args[++i] ?? '')
      const key = short ? `-${short[1]}` : name
      if (key === '-p' || key === '--property') properties.push(...String(value).split(','))
      else lines = Number(value)
    } else if (FLAGS.has(arg) || arg === '--version') {
      flags.add(arg)
    } else if (arg.startsWith('-')) {
      return { flags, properties, lines, words, unknownOption: arg }
    } else {
      words.push(arg)
    }
  }
  return { flags, properties, lines, words }
}

/** `systemctl restart commento.service`, flags left out, for failure rules. @param {readonly string[]} args */
export function canonicalSystemctl(args) {
  const { flags, words } = parseSystemctlArgs(args)
  return flags.has('--version') && words.length === 0 ? '--version' : words.join(' ')
}

/** `commento` → `commento.service`. @param {string} name */
export function unitName(name) {
  return /\.(service|socket|target|timer|path|mount)$/.test(name) ? name : `${name}.service`
}

/** @param {string} text */
function hashOf(text) {
  return createHash('sha256').update(text).digest('hex').slice(0, 16)
}

/**
 * Units systemd would know on a Docker host without a file in /etc/systemd/system.
 * @param {Context} context
 * @param {string} name
 */
function builtinUnit(context, name) {
  if (name === 'docker.service' && context.host.docker === 'present') {
    return '[Unit]\nDescription=Docker Application Container Engine\n[Service]\nType=notify\nExecStart=/usr/bin/dockerd\n[Install]\nWantedBy=multi-user.target\n'
  }
  return undefined
}

/**
 * @param {Context} context
 * @param {string} name
 */
function unitFilePath(context, name) {
  return join(context.host.unitDir ?? UNIT_DIR, name)
}

/**
 * The unit file on disk now (following a symlink), or undefined.
 * @param {Context} context
 * @param {string} name
 */
function readUnitFileNow(context, name) {
  const path = unitFilePath(context, name)
  try {
    return { path, content: readFileSync(path, 'utf8') }
  } catch {
    return undefined
  }
}

/**
 * The unit as systemd has it loaded, loading it on first use (systemd loads units on demand).
 * @param {Context} context
 * @param {StandInState} state
 * @param {string} name
 * @returns {UnitState | undefined}
 */
function ensureLoaded(context, state, name) {
  const builtin = builtinUnit(context, name)
  if (builtin) {
    state.units[name] ??= newUnitState({
      path: `/lib/systemd/system/${name}`,
      content: builtin,
      hash: hashOf(builtin),
    })
    const unit = /** @type {UnitState} */ (state.units[name])
    unit.active = 'active'
    unit.subState = 'running'
    return unit
  }
  const unit = state.units[name]
  if (unit?.loaded) return unit
  const file = readUnitFileNow(context, name)
  if (!file) return undefined
  const loaded = { path: file.path, content: file.content, hash: hashOf(file.content) }
  if (unit) unit.loaded = loaded
  else state.units[name] = newUnitState(loaded)
  return state.units[name]
}

/**
 * @param {{ path: string, content: string, hash: string }} loaded
 * @returns {UnitState}
 */
function newUnitState(loaded) {
  return {
    loaded,
    active: 'inactive',
    subState: 'dead',
    result: 'success',
    since: null,
    mainPid: null,
    supervisorPid: null,
    execMainStatus: null,
    stopping: false,
  }
}

/**
 * systemd's `NeedDaemonReload`: the file on disk is not what is loaded.
 * @param {Context} context
 * @param {string} name
 * @param {UnitState} unit
 */
function needsDaemonReload(context, name, unit) {
  if (builtinUnit(context, name) || !unit.loaded) return false
  const file = readUnitFileNow(context, name)
  return !file || hashOf(file.content) !== unit.loaded.hash
}

/**
 * @param {Context} context
 * @param {string} name
 * @param {UnitState} unit
 */
function warnIfChanged(context, name, unit) {
  if (needsDaemonReload(context, name, unit)) {
    context.err(
      `Warning: The unit file, source configuration file or drop-ins of ${name} changed on disk. Run 'systemctl daemon-reload' to reload units.\n`,
    )
  }
}

/**
 * The `.wants`/`.requires` symlinks that make a unit enabled.
 * @param {Context} context
 * @param {string} name
 */
function enablementLinks(context, name) {
  const dir = context.host.unitDir ?? UNIT_DIR
  /** @type {string[]} */
  const links = []
  let entries = []
  try {
    entries = readdirSync(dir)
  } catch {
    return links
  }
  for (const entry of entries) {
    if (!/\.(wants|requires)$/.test(entry)) continue
    const link = join(dir, entry, name)
    try {
      if (lstatSync(link).isSymbolicLink()) links.push(link)
    } catch {
      // not there
    }
  }
  return links
}

/**
 * enabled | disabled | static | undefined (no such unit file).
 * @param {Context} context
 * @param {string} name
 */
function unitFileState(context, name) {
  if (builtinUnit(context, name)) return 'enabled'
  const file = readUnitFileNow(context, name)
  if (!file) return undefined
  if (enablementLinks(context, name).length > 0) return 'enabled'
  return serviceSettings(parseUnitFile(file.content)).hasInstall ? 'disabled' : 'static'
}

/**
 * Appends systemd's own lines to the unit's journal.
 * @param {Context} context
 * @param {string} name
 * @param {string} message
 */
export function journal(context, name, message) {
  const now = new Date()
  const stamp = `${now.toString().slice(4, 10)} ${now.toTimeString().slice(0, 8)}`
  appendFileSync(journalPath(context, name), `${stamp} ${hostname()} systemd[1]: ${message}\n`)
}

/**
 * The unit's journal file (its directory made when missing).
 * @param {Context} context
 * @param {string} name
 */
export function journalPath(context, name) {
  const dir = join(context.host.stateDir, 'journal')
  mkdirSync(dir, { recursive: true })
  return join(dir, `${name}.log`)
}

/**
 * The environment systemd gives a service: its own PATH, Environment=, EnvironmentFile=, nothing of the
 * caller's.
 * @param {ServiceSettings} settings
 * @param {Record<string, string>} [extra]
 */
export function serviceEnvironment(settings, extra = {}) {
  /** @type {Record<string, string>} */
  const env = { PATH: DEFAULT_PATH, LANG: 'C.UTF-8' }
  for (const entry of settings.environmentFiles) {
    const optional = entry.startsWith('-')
    const path = entry.replace(/^-/, '')
    if (!existsSync(path)) {
      if (optional) continue
      throw new Error(`Failed to load environment files: No such file or directory (${path})`)
    }
    Object.assign(env, parseEnvFile(readFileSync(path, 'utf8')))
  }
  Object.assign(env, settings.environment, extra)
  return env
}

/** @param {string} user */
export function lookupUser(user) {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[0] === user || entry.split(':')[2] === user)
  if (!line) throw new Error(`Failed to determine user credentials: No such process (User=${user})`)
  const [, , uid, gid, , home] = line.split(':')
  return { uid: Number(uid), gid: Number(gid), home: home ?? '/' }
}

/**
 * Finds an Exec command's program as systemd does (absolute, or searched in its fixed PATH).
 * @param {string} path
 */
export function locate(path) {
  if (isAbsolute(path)) return existsSync(path) ? path : undefined
  return DEFAULT_PATH.split(':')
    .map((dir) => join(dir, path))
    .find((candidate) => existsSync(candidate))
}

/**
 * Runs one Exec line to completion with the journal as its output.
 * @param {Context} context
 * @param {string} name
 * @param {ServiceSettings} settings
 * @param {string} line
 * @param {{ env?: Record<string, string>, timeoutSec: number }} options
 * @returns {{ ok: boolean, reason: 'success' | 'exit-code' | 'timeout' | 'resources', status: number, ignoreFailure: boolean, commandLine: string }}
 */
function runExecLine(context, name, settings, line, options) {
  let env
  let command
  try {
    env = serviceEnvironment(settings, options.env)
    command = parseExecLine(line, name, env)
  } catch (error) {
    journal(context, name, `${name}: ${error instanceof Error ? error.message : error}`)
    return { ok: false, reason: 'resources', status: 1, ignoreFailure: false, commandLine: line }
  }
  const commandLine = command.argv.join(' ')
  const program = locate(command.path)
  if (!program) {
    journal(context, name, `${name}: Failed to locate executable ${command.path}: No such file or directory`)
    return { ok: false, reason: 'resources', status: 203, ignoreFailure: command.ignoreFailure, commandLine }
  }
  const cwd = settings.workingDirectory?.replace(/^~/, '/root') ?? '/'
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    if (!settings.workingDirectoryOptional) {
      journal(
        context,
        name,
        `${name}: Changing to the requested working directory failed: No such file or directory`,
      )
      journal(context, name, `${name}: Failed at step CHDIR spawning ${program}: No such file or directory`)
      return {
        ok: false,
        reason: 'exit-code',
        status: 200,
        ignoreFailure: command.ignoreFailure,
        commandLine,
      }
    }
  }
  const credentials = settings.user ? lookupUser(settings.user) : undefined
  const journalFd = openSync(journalPath(context, name), 'a')
  try {
    const result = spawnSync(program, command.argv.slice(1), {
      argv0: command.path,
      cwd: existsSync(cwd) ? cwd : '/',
      env: {
        ...env,
        ...(credentials ? { HOME: credentials.home } : { HOME: '/root' }),
        TEST_HOST_STATE: context.host.stateDir,
      },
      stdio: ['ignore', journalFd, journalFd],
      timeout: Number.isFinite(options.timeoutSec) ? Math.min(options.timeoutSec, 300) * 1000 : 300_000,
      uid: credentials?.uid,
      gid: credentials?.gid,
    })
    if (result.error && /** @type {NodeJS.ErrnoException} */ (result.error).code === 'ETIMEDOUT') {
      journal(context, name, `${name}: ${commandLine.split(' ')[0]} operation timed out. Terminating.`)
      return { ok: false, reason: 'timeout', status: 1, ignoreFailure: false, commandLine }
    }
    const status = result.status ?? 1
    if (status !== 0) {
      journal(context, name, `${name}: Control process exited, code=exited, status=${status}/FAILURE`)
    }
    return {
      ok: status === 0,
      reason: status === 0 ? 'success' : 'exit-code',
      status,
      ignoreFailure: command.ignoreFailure,
      commandLine,
    }
  } finally {
    closeSync(journalFd)
  }
}

/**
 * Runs a list of Exec lines in order; stops at the first failure not marked with `-`.
 * @param {Context} context
 * @param {string} name
 * @param {ServiceSettings} settings
 * @param {readonly string[]} lines
 * @param {{ env?: Record<string, string>, timeoutSec: number }} options
 */
function runExecLines(context, name, settings, lines, options) {
  for (const line of lines) {
    const result = runExecLine(context, name, settings, line, options)
    if (!result.ok && !result.ignoreFailure) return result
  }
  return undefined
}

/**
 * @param {Context} context
 * @returns {Promise<number>}
 */
export async function runSystemctl(context) {
  const program = context.program
  const parsed = parseSystemctlArgs(context.args)
  const commandLine = [program, ...context.args].join(' ')
  if (program === 'journalctl') return runJournalctl(context)
  if (parsed.unknownOption) throw unknownCall(commandLine, `option ${parsed.unknownOption}`)
  if (parsed.flags.has('--version')) {
    context.out(
      `systemd ${SYSTEMD_VERSION}\n+PAM +AUDIT +SELINUX +APPARMOR +IMA +SMACK +SECCOMP +GCRYPT -GNUTLS +OPENSSL +ACL +BLKID +CURL\n`,
    )
    return 0
  }
  if (!context.host.systemd) throw new StandInError(NO_SYSTEMD, 1)
  const [verb, ...rawUnits] = parsed.words
  if (!verb) throw unknownCall(commandLine, 'listing units')
  const units = rawUnits.map(unitName)
  if (context.uid !== 0 && MUTATING.has(verb)) {
    const what =
      verb === 'daemon-reload'
        ? 'reload daemon'
        : verb === 'enable' || verb === 'disable'
          ? `${verb} unit`
          : `${verb} ${units.join(' ')}`
    throw new StandInError(`Failed to ${what}: Interactive authentication required.`, 1)
  }
  const quiet = parsed.flags.has('-q') || parsed.flags.has('--quiet')
  const needsUnits = !['daemon-reload', 'reset-failed'].includes(verb)
  if (needsUnits && units.length === 0) throw unknownCall(commandLine, `${verb} needs a unit`)
  switch (verb) {
    case 'daemon-reload':
      daemonReload(context)
      return 0
    case 'enable':
    case 'disable':
      return enableDisable(context, verb, units, parsed.flags)
    case 'is-enabled':
      return isEnabled(context, units, quiet)
    case 'is-active':
    case 'is-failed':
      return isActive(context, verb, units, quiet)
    case 'start':
      return everyUnit(units, (name) => start(context, name))
    case 'stop':
      return everyUnit(units, (name) => stop(context, name))
    case 'restart':
      return everyUnit(units, (name) => restart(context, name, false))
    case 'try-restart':
      return everyUnit(units, (name) => restart(context, name, true))
    case 'reload':
      return everyUnit(units, (name) => reload(context, name))
    case 'reload-or-restart':
      return everyUnit(units, (name) => reloadOrRestart(context, name))
    case 'reset-failed':
      context.store.update((state) => {
        for (const [name, unit] of Object.entries(state.units)) {
          if ((units.length === 0 || units.includes(name)) && unit.active === 'failed') {
            unit.active = 'inactive'
            unit.subState = 'dead'
            unit.result = 'success'
          }
        }
      })
      return 0
    case 'status':
      return status(context, units, parsed.lines ?? 10)
    case 'show':
      return show(context, units, parsed.properties, parsed.flags.has('--value'))
    case 'cat':
      return cat(context, units)
    default:
      throw unknownCall(
        commandLine,
        'known: --version, daemon-reload, enable, disable, is-enabled, is-active, is-failed, start, stop, restart, try-restart, reload, reload-or-restart, reset-failed, status, show, cat',
      )
  }
}

/**
 * @param {readonly string[]} units
 * @param {(name: string) => number} action
 */
function everyUnit(units, action) {
  let code = 0
  for (const name of units) code = action(name) || code
  return code
}

/** @param {Context} context */
function daemonReload(context) {
  const dir = context.host.unitDir ?? UNIT_DIR
  context.store.update((state) => {
    /** @type {Set<string>} */
    const seen = new Set()
    for (const entry of existsSync(dir) ? readdirSync(dir) : []) {
      const file = readUnitFileNow(context, entry)
      if (!file || !/\.(service|timer|socket|target|path|mount)$/.test(entry)) continue
      seen.add(entry)
      const loaded = { path: file.path, content: file.content, hash: hashOf(file.content) }
      const unit = state.units[entry]
      if (unit) unit.loaded = loaded
      else state.units[entry] = newUnitState(loaded)
    }
    for (const [name, unit] of Object.entries(state.units)) {
      if (seen.has(name) || builtinUnit(context, name)) continue
      if (unit.active === 'inactive' || unit.active === 'failed') delete state.units[name]
    }
  })
}

/**
 * @param {Context} context
 * @param {'enable' | 'disable'} verb
 * @param {readonly string[]} units
 * @param {Set<string>} flags
 */
function enableDisable(context, verb, units, flags) {
  const dir = context.host.unitDir ?? UNIT_DIR
  for (const name of units) {
    if (builtinUnit(context, name)) continue
    const file = readUnitFileNow(context, name)
    if (!file) {
      throw new StandInError(`Failed to ${verb} unit: Unit file ${name} does not exist.`, 1)
    }
    const settings = serviceSettings(parseUnitFile(file.content))
    if (verb === 'enable') {
      if (!settings.hasInstall) {
        context.err(
          `The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\nAlias= settings in the [Install] section, and DefaultInstance= for template\nunits). This means they are not meant to be enabled or disabled using systemctl.\n`,
        )
      }
      for (const target of settings.wantedBy) {
        const wantsDir = join(dir, `${target}.wants`)
        const link = join(wantsDir, name)
        mkdirSync(wantsDir, { recursive: true })
        let exists = false
        try {
          exists = readlinkSync(link) === file.path
        } catch {
          exists = false
        }
        if (!exists) {
          rmSync(link, { force: true })
          symlinkSync(file.path, link)
          context.err(`Created symlink ${link} → ${file.path}.\n`)
        }
      }
    } else {
      for (const link of enablementLinks(context, name)) {
        rmSync(link, { force: true })
        context.err(`Removed "${link}".\n`)
      }
    }
  }
  // systemctl enable/disable reload the manager's configuration themselves (unless --no-reload).
  if (!flags.has('--no-reload')) daemonReload(context)
  if (flags.has('--now')) {
    return everyUnit(units, (name) => (verb === 'enable' ? start(context, name) : stop(context, name)))
  }
  return 0
}

/**
 * @param {Context} context
 * @param {readonly string[]} units
 * @param {boolean} quiet
 */
function isEnabled(context, units, quiet) {
  let code = 0
  for (const name of units) {
    const state = unitFileState(context, name)
    if (state === undefined) {
      context.err(`Failed to get unit file state for ${name}: No such file or directory\n`)
      code = 1
      continue
    }
    if (!quiet) context.out(`${state}\n`)
    if (state === 'disabled') code = 1
  }
  return code
}

/**
 * Refreshes a Type=simple unit whose main process ended without its supervisor noticing (killed).
 * @param {UnitState} unit
 */
function refreshMainProcess(unit) {
  if (unit.active !== 'active' || unit.mainPid === null || unit.subState !== 'running') return
  try {
    process.kill(unit.mainPid, 0)
  } catch {
    unit.active = 'failed'
    unit.subState = 'failed'
    unit.result = 'signal'
  }
}

/**
 * @param {Context} context
 * @param {'is-active' | 'is-failed'} verb
 * @param {readonly string[]} units
 * @param {boolean} quiet
 */
function isActive(context, verb, units, quiet) {
  const state = context.store.read()
  let anyMatch = false
  for (const name of units) {
    const unit = builtinUnit(context, name) ? { active: 'active' } : state.units[name]
    if (unit && 'mainPid' in unit) refreshMainProcess(/** @type {UnitState} */ (unit))
    const active = unit?.active ?? 'inactive'
    if (!quiet) context.out(`${active}\n`)
    if (verb === 'is-active' ? active === 'active' || active === 'reloading' : active === 'failed')
      anyMatch = true
  }
  return anyMatch ? 0 : verb === 'is-active' ? 3 : 1
}

/**
 * @param {Context} context
 * @param {string} name
 * @param {string} verb for messages
 * @returns {{ unit: UnitState, settings: ServiceSettings } | undefined}
 */
function loadForJob(context, name, verb) {
  const unit = context.store.update((state) => ensureLoaded(context, state, name))
  if (!unit?.loaded) {
    context.err(`Failed to ${verb} ${name}: Unit ${name} not found.\n`)
    return undefined
  }
  warnIfChanged(context, name, unit)
  return { unit, settings: serviceSettings(parseUnitFile(unit.loaded.content)) }
}

/**
 * @param {Context} context
 * @param {string} name
 * @param {Partial<UnitState>} changes
 */
function setUnit(context, name, changes) {
  context.store.update((state) => {
    const unit = state.units[name]
    if (unit) Object.assign(unit, changes)
  })
}

/**
 * What systemctl prints when a job fails.
 * @param {string} name
 * @param {'exit-code' | 'timeout' | 'resources' | 'success'} reason
 */
function jobFailed(name, reason) {
  const why =
    reason === 'timeout'
      ? 'a timeout was exceeded'
      : reason === 'resources'
        ? 'of unavailable resources or another system error'
        : 'the control process exited with error code'
  return new StandInError(
    `Job for ${name} failed because ${why}.\nSee "systemctl status ${name}" and "journalctl -xeu ${name}" for details.`,
    1,
  )
}

/**
 * @param {Context} context
 * @param {string} name
 * @returns {number}
 */
function start(context, name) {
  if (builtinUnit(context, name)) return 0
  const job = loadForJob(context, name, 'start')
  if (!job) return 5
  const { unit, settings } = job
  if (unit.active === 'active' || unit.active === 'reloading') return 0
  for (const required of settings.requires) {
    if (!builtinUnit(context, unitName(required)) && !readUnitFileNow(context, unitName(required))) {
      context.err(`Failed to start ${name}: Unit ${unitName(required)} not found.\n`)
      return 5
    }
  }
  const type = settings.type
  if (!['simple', 'exec', 'idle', 'oneshot', 'forking'].includes(type)) {
    throw unknownCall(`systemctl start ${name}`, `Type=${type}`)
  }
  if (type !== 'oneshot' && settings.exec.ExecStart.length !== 1) {
    journal(
      context,
      name,
      `${name}: Service has more than one ExecStart= setting, which is only allowed for Type=oneshot services. Refusing.`,
    )
    context.err(
      `Failed to start ${name}: Unit ${name} has a bad unit file setting.\nSee system logs and 'systemctl status ${name}' for details.\n`,
    )
    return 1
  }
  const label = settings.description ? `${name} - ${settings.description}` : name
  journal(context, name, `Starting ${label}...`)
  setUnit(context, name, { active: 'activating', subState: 'start', stopping: false, mainPid: null })
  const timeoutSec = settings.timeoutStartSec
  const fail = (
    /** @type {{ reason: 'exit-code' | 'timeout' | 'resources' | 'success', status: number }} */ failure,
  ) => {
    setUnit(context, name, {
      active: 'failed',
      subState: 'failed',
      result: failure.reason,
      execMainStatus: failure.status,
      since: new Date().toISOString(),
    })
    journal(context, name, `${name}: Failed with result '${failure.reason}'.`)
    journal(context, name, `Failed to start ${label}.`)
    runExecLines(context, name, settings, settings.exec.ExecStopPost, { timeoutSec: settings.timeoutStopSec })
    throw jobFailed(name, failure.reason)
  }
  const pre = runExecLines(context, name, settings, settings.exec.ExecStartPre, { timeoutSec })
  if (pre) fail(pre)
  if (type === 'oneshot' || type === 'forking') {
    const main = runExecLines(context, name, settings, settings.exec.ExecStart, { timeoutSec })
    if (main) fail(main)
    const stays = type === 'forking' || settings.remainAfterExit
    setUnit(context, name, {
      active: stays ? 'active' : 'inactive',
      subState: stays ? 'exited' : 'dead',
      result: 'success',
      execMainStatus: 0,
      since: new Date().toISOString(),
    })
  } else {
    startSupervised(context, name)
  }
  const post = runExecLines(context, name, settings, settings.exec.ExecStartPost, { timeoutSec })
  if (post) fail(post)
  if (type === 'oneshot' && !settings.remainAfterExit)
    journal(context, name, `${name}: Deactivated successfully.`)
  journal(
    context,
    name,
    `${type === 'oneshot' && !settings.remainAfterExit ? 'Finished' : 'Started'} ${label}.`,
  )
  return 0
}

/**
 * Starts a Type=simple/exec main process under supervise.mjs and waits until it runs.
 * @param {Context} context
 * @param {string} name
 */
function startSupervised(context, name) {
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'supervise.mjs')
  const journalFd = openSync(journalPath(context, name), 'a')
  const child = spawn(process.execPath, [entry, name], {
    detached: true,
    stdio: ['ignore', journalFd, journalFd],
    env: { TEST_HOST_STATE: context.host.stateDir, PATH: DEFAULT_PATH },
  })
  child.unref()
  closeSync(journalFd)
  const deadline = Date.now() + 10_000
  for (;;) {
    const unit = context.store.read().units[name]
    if (unit && unit.active !== 'activating') {
      if (unit.active === 'failed') throw jobFailed(name, /** @type {any} */ (unit.result))
      return
    }
    if (Date.now() > deadline) throw jobFailed(name, 'timeout')
    sleepSync(10)
  }
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/**
 * @param {Context} context
 * @param {string} name
 * @returns {number}
 */
function stop(context, name) {
  if (builtinUnit(context, name))
    throw unknownCall(`systemctl stop ${name}`, 'the stand-in does not stop Docker')
  const job = loadForJob(context, name, 'stop')
  if (!job) return 5
  const { unit, settings } = job
  if (unit.active === 'inactive' || unit.active === 'failed') return 0
  const label = settings.description ? `${name} - ${settings.description}` : name
  journal(context, name, `Stopping ${label}...`)
  setUnit(context, name, { active: 'deactivating', subState: 'stop', stopping: true })
  /** @type {Record<string, string>} */
  const env = unit.mainPid ? { MAINPID: String(unit.mainPid) } : {}
  const failure = runExecLines(context, name, settings, settings.exec.ExecStop, {
    env,
    timeoutSec: settings.timeoutStopSec,
  })
  if (unit.mainPid !== null) {
    // KillMode=control-group: the main process and everything it started (its process group).
    const pid = unit.mainPid
    try {
      process.kill(-pid, 'SIGTERM')
    } catch {
      // already gone
    }
    const deadline = Date.now() + Math.min(settings.timeoutStopSec, 10) * 1000
    while (alive(pid) && Date.now() < deadline) sleepSync(10)
    if (alive(pid)) {
      journal(context, name, `${name}: State 'stop-sigterm' timed out. Killing.`)
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  runExecLines(context, name, settings, settings.exec.ExecStopPost, { timeoutSec: settings.timeoutStopSec })
  setUnit(context, name, {
    active: failure ? 'failed' : 'inactive',
    subState: failure ? 'failed' : 'dead',
    result: failure ? failure.reason : 'success',
    mainPid: null,
    stopping: false,
    since: new Date().toISOString(),
  })
  if (!failure) journal(context, name, `${name}: Deactivated successfully.`)
  journal(context, name, `Stopped ${label}.`)
  return 0
}

/**
 * @param {Context} context
 * @param {string} name
 * @param {boolean} onlyIfActive try-restart
 */
function restart(context, name, onlyIfActive) {
  if (builtinUnit(context, name)) return 0
  const job = loadForJob(context, name, 'restart')
  if (!job) return 5
  if (onlyIfActive && job.unit.active !== 'active') return 0
  const code = stop(context, name)
  return code || start(context, name)
}

/**
 * @param {Context} context
 * @param {string} name
 */
function reload(context, name) {
  if (builtinUnit(context, name)) return 0
  const job = loadForJob(context, name, 'reload')
  if (!job) return 5
  const { unit, settings } = job
  if (settings.exec.ExecReload.length === 0) {
    context.err(`Failed to reload ${name}: Job type reload is not applicable for unit ${name}.\n`)
    return 1
  }
  if (unit.active !== 'active') {
    context.err(`Failed to reload ${name}: Unit ${name} is not active, cannot reload.\n`)
    return 1
  }
  const label = settings.description ? `${name} - ${settings.description}` : name
  journal(context, name, `Reloading ${label}...`)
  setUnit(context, name, { active: 'reloading', subState: 'reload' })
  /** @type {Record<string, string>} */
  const env = unit.mainPid ? { MAINPID: String(unit.mainPid) } : {}
  const failure = runExecLines(context, name, settings, settings.exec.ExecReload, {
    env,
    timeoutSec: settings.timeoutStartSec,
  })
  setUnit(context, name, { active: 'active', subState: unit.subState === 'running' ? 'running' : 'exited' })
  if (failure) {
    journal(context, name, `${name}: Reload failed with result '${failure.reason}'.`)
    throw jobFailed(name, failure.reason)
  }
  journal(context, name, `Reloaded ${label}.`)
  return 0
}

/**
 * @param {Context} context
 * @param {string} name
 */
function reloadOrRestart(context, name) {
  const job = loadForJob(context, name, 'reload-or-restart')
  if (!job) return 5
  if (job.unit.active === 'active' && job.settings.exec.ExecReload.length > 0) return reload(context, name)
  return restart(context, name, false)
}

/**
 * @param {Context} context
 * @param {string} name
 */
function properties(context, name) {
  const state = context.store.update((s) => {
    ensureLoaded(context, s, name)
    const unit = s.units[name]
    if (unit) refreshMainProcess(unit)
    return s
  })
  const unit = state.units[name]
  const settings = unit?.loaded ? serviceSettings(parseUnitFile(unit.loaded.content)) : undefined
  return {
    Id: name,
    Description: settings?.description ?? name,
    LoadState: unit?.loaded ? 'loaded' : 'not-found',
    ActiveState: unit?.active ?? 'inactive',
    SubState: unit?.subState ?? 'dead',
    Result: unit?.result ?? 'success',
    UnitFileState: unitFileState(context, name) ?? '',
    FragmentPath: unit?.loaded?.path ?? '',
    NeedDaemonReload: unit && needsDaemonReload(context, name, unit) ? 'yes' : 'no',
    MainPID: String(unit?.mainPid ?? 0),
    ExecMainStatus: String(unit?.execMainStatus ?? 0),
    Type: settings?.type ?? '',
    WorkingDirectory: settings?.workingDirectory ?? '',
    ActiveEnterTimestamp: unit?.since ?? '',
  }
}

/**
 * @param {Context} context
 * @param {readonly string[]} units
 * @param {readonly string[]} wanted
 * @param {boolean} valueOnly
 */
function show(context, units, wanted, valueOnly) {
  units.forEach((name, index) => {
    const props = properties(context, name)
    if (index > 0) context.out('\n')
    const keys = wanted.length > 0 ? wanted : Object.keys(props)
    for (const key of keys) {
      if (!(key in props))
        throw unknownCall(`systemctl show -p ${key}`, `known properties: ${Object.keys(props).join(', ')}`)
      const value = props[/** @type {keyof typeof props} */ (key)]
      context.out(valueOnly ? `${value}\n` : `${key}=${value}\n`)
    }
  })
  return 0
}

/**
 * @param {Context} context
 * @param {string} name
 * @param {number} lines
 */
function journalTail(context, name, lines) {
  const path = join(context.host.stateDir, 'journal', `${name}.log`)
  if (!existsSync(path)) return []
  const all = readFileSync(path, 'utf8').split('\n').filter(Boolean)
  return lines <= 0 ? [] : all.slice(-lines)
}

/** `Fri 2026-12-04 15:52:07 UTC; 5s ago` from an ISO time. @param {string} iso */
function systemdTime(iso) {
  const date = new Date(iso)
  const day = date.toUTCString().slice(0, 3)
  const ago = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000))
  return `${day} ${date.toISOString().slice(0, 19).replace('T', ' ')} UTC; ${ago}s ago`
}

/**
 * @param {Context} context
 * @param {readonly string[]} units
 * @param {number} lines
 */
function status(context, units, lines) {
  let code = 0
  for (const name of units) {
    const props = properties(context, name)
    if (props.LoadState === 'not-found') {
      context.err(`Unit ${name} could not be found.\n`)
      code = code || 4
      continue
    }
    const unit = context.store.read().units[name]
    if (unit) warnIfChanged(context, name, unit)
    const dot = props.ActiveState === 'active' ? '●' : props.ActiveState === 'failed' ? '×' : '○'
    context.out(`${dot} ${name}${props.Description !== name ? ` - ${props.Description}` : ''}\n`)
    context.out(
      `     Loaded: loaded (${props.FragmentPath}; ${props.UnitFileState || 'static'}; preset: enabled)\n`,
    )
    const since = props.ActiveEnterTimestamp ? ` since ${systemdTime(props.ActiveEnterTimestamp)}` : ''
    const result = props.ActiveState === 'failed' ? ` (Result: ${props.Result})` : ` (${props.SubState})`
    context.out(`     Active: ${props.ActiveState}${result}${since}\n`)
    if (props.MainPID !== '0') context.out(`   Main PID: ${props.MainPID}\n`)
    const tail = journalTail(context, name, lines)
    if (tail.length > 0) context.out(`\n${tail.join('\n')}\n`)
    if (props.ActiveState !== 'active' && props.ActiveState !== 'reloading') code = code || 3
  }
  return code
}

/**
 * @param {Context} context
 * @param {readonly string[]} units
 */
function cat(context, units) {
  for (const name of units) {
    const file = readUnitFileNow(context, name)
    if (!file) {
      context.err(`No files found for ${name}.\n`)
      return 1
    }
    context.out(`# ${file.path}\n${file.content}`)
  }
  return 0
}

/**
 * `journalctl -u UNIT [-n N] [--no-pager] ...`: the lines systemctl and the services wrote.
 * @param {Context} context
 */
function runJournalctl(context) {
  /** @type {string[]} */
  const units = []
  let lines = Number.POSITIVE_INFINITY
  const args = context.args
  for (let i = 0; i < args.length; i++) {
    const arg = /** @type {string} */ (args[i])
    if (arg === '-u' || arg === '--unit') units.push(unitName(args[++i] ?? ''))
    else if (arg.startsWith('--unit=')) units.push(unitName(arg.slice(7)))
    else if (/^-u.+/.test(arg)) units.push(unitName(arg.slice(2)))
    else if (arg === '-n' || arg === '--lines') lines = Number(args[++i])
    else if (arg.startsWith('--lines=')) lines = Number(arg.slice(8))
    else if (/^-n\d+$/.test(arg)) lines = Number(arg.slice(2))
    else if (/^-[xeqb]+$/.test(arg) || ['--no-pager', '--quiet', '--no-hostname', '--boot'].includes(arg))
      continue
    else if (arg === '-o' || arg === '--output' || arg === '--since' || arg === '-S') i += 1
    else if (arg.startsWith('--output=') || arg.startsWith('--since=')) continue
    else throw unknownCall(['journalctl', ...args].join(' '), `option ${arg}`)
  }
  if (!context.host.systemd) {
    context.out('No journal files were found.\n-- No entries --\n')
    return 0
  }
  const dir = join(context.host.stateDir, 'journal')
  const names =
    units.length > 0 ? units : existsSync(dir) ? readdirSync(dir).map((f) => f.replace(/\.log$/, '')) : []
  const all = names.flatMap((name) => journalTail(context, name, Number.MAX_SAFE_INTEGER))
  const shown = Number.isFinite(lines) ? all.slice(-lines) : all
  context.out(shown.length > 0 ? `${shown.join('\n')}\n` : '-- No entries --\n')
  return 0
}
