// Supervisor of a Type=simple/exec service's main process (what PID 1 does for it under systemd):
//   TEST_HOST_STATE=DIR node supervise.mjs UNIT
// Started detached by the systemctl stand-in with the journal as stdout/stderr and no other descriptor.
// It starts the loaded unit's ExecStart in its own process group (so `stop` can end everything the
// service started), records the main pid, and records how the main process ended unless a stop asked.

import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { StateStore } from './state-store.mjs'
import { journal, locate, lookupUser, serviceEnvironment } from './systemctl.mjs'
import { parseExecLine, parseUnitFile, serviceSettings } from './unit-file.mjs'

const name = process.argv[2] ?? ''
const stateDir = /** @type {string} */ (process.env.TEST_HOST_STATE)
const store = new StateStore(stateDir)
const host = JSON.parse(readFileSync(join(stateDir, 'host.json'), 'utf8'))
/** @type {import('./context.mjs').Context} */
const context = {
  program: 'supervise',
  args: [name],
  cwd: '/',
  uid: 0,
  env: process.env,
  host,
  store,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}

/**
 * @param {Partial<import('../test-host.d.mts').UnitState>} changes
 */
function setUnit(changes) {
  store.update((state) => {
    const unit = state.units[name]
    if (unit) Object.assign(unit, changes)
  })
}

/** @param {string} message @param {number} status */
function failStart(message, status) {
  journal(context, name, `${name}: ${message}`)
  journal(context, name, `${name}: Main process exited, code=exited, status=${status}`)
  journal(context, name, `${name}: Failed with result 'exit-code'.`)
  setUnit({
    active: 'failed',
    subState: 'failed',
    result: 'exit-code',
    execMainStatus: status,
    mainPid: null,
  })
}

const unit = store.read().units[name]
if (!unit?.loaded) {
  failStart('the supervisor found no loaded unit', 1)
} else {
  const settings = serviceSettings(parseUnitFile(unit.loaded.content))
  try {
    const env = serviceEnvironment(settings)
    const command = parseExecLine(settings.exec.ExecStart[0] ?? '', name, env)
    const program = locate(command.path)
    const cwd = settings.workingDirectory ?? '/'
    const credentials = settings.user ? lookupUser(settings.user) : undefined
    if (!program) failStart(`Failed to locate executable ${command.path}: No such file or directory`, 203)
    else if (!existsSync(cwd) && !settings.workingDirectoryOptional) {
      failStart('Changing to the requested working directory failed: No such file or directory', 200)
    } else {
      const child = spawn(program, command.argv.slice(1), {
        argv0: command.path,
        cwd: existsSync(cwd) ? cwd : '/',
        env: { ...env, HOME: credentials?.home ?? '/root', TEST_HOST_STATE: stateDir },
        stdio: ['ignore', 'inherit', 'inherit'],
        detached: true,
        uid: credentials?.uid,
        gid: credentials?.gid,
      })
      child.on('spawn', () => {
        setUnit({
          active: 'active',
          subState: 'running',
          mainPid: child.pid ?? null,
          supervisorPid: process.pid,
          since: new Date().toISOString(),
          result: 'success',
        })
      })
      child.on('error', (error) => failStart(`Failed to execute ${command.path}: ${error.message}`, 203))
      child.on('exit', (code, signal) => {
        const current = store.read().units[name]
        if (!current || current.stopping || current.mainPid !== child.pid) return
        const status = code ?? 1
        journal(
          context,
          name,
          `${name}: Main process exited, code=${signal ? 'killed' : 'exited'}, status=${signal ?? `${status}`}`,
        )
        const failed = signal !== null || status !== 0
        if (failed)
          journal(context, name, `${name}: Failed with result '${signal ? 'signal' : 'exit-code'}'.`)
        else journal(context, name, `${name}: Deactivated successfully.`)
        setUnit({
          active: failed ? 'failed' : 'inactive',
          subState: failed ? 'failed' : 'dead',
          result: failed ? (signal ? 'signal' : 'exit-code') : 'success',
          execMainStatus: status,
          mainPid: null,
          supervisorPid: null,
          since: new Date().toISOString(),
        })
      })
    }
  } catch (error) {
    failStart(error instanceof Error ? error.message : String(error), 1)
  }
}
