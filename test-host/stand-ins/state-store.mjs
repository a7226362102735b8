// The stand-ins' memory, in the test host's state directory (a tmpfs under /dev/shm when the machine has
// one): state.json (volumes, images, compose projects, loaded units, the site), calls.jsonl (one line
// when a call starts, one when it ends) and a lock for read-modify-write. Every function is synchronous:
// a stand-in is a short process, and the host reads the same files from outside the namespace.

import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * @typedef {import('../test-host.d.mts').StandInState} StandInState
 * @typedef {import('../test-host.d.mts').FailureRule} FailureRule
 */

/** @returns {StandInState} */
export function emptyState() {
  return {
    volumes: {},
    images: {},
    projects: {},
    units: {},
    site: { running: false, project: null, release: null, broken: false, generation: 0 },
    breakSiteOnNextUp: false,
    failures: [],
  }
}

/** Sleeps the whole process (stand-ins are synchronous and short). @param {number} ms */
export function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/** @param {number} pid */
function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM'
  }
}

/** A handle on one host's state directory. */
export class StateStore {
  /** @param {string} dir */
  constructor(dir) {
    this.dir = dir
    this.statePath = join(dir, 'state.json')
    this.callsPath = join(dir, 'calls.jsonl')
    this.lockPath = join(dir, 'state.lock')
  }

  /** @returns {StandInState} */
  read() {
    return JSON.parse(readFileSync(this.statePath, 'utf8'))
  }

  /** @param {StandInState} state */
  write(state) {
    const temp = `${this.statePath}.${process.pid}`
    writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o666 })
    renameSync(temp, this.statePath)
  }

  /**
   * Read, change and write the state under the lock; returns what `change` returns.
   * Never hold this across a call to another stand-in (systemctl runs compose): they share the lock.
   * @template T
   * @param {(state: StandInState) => T} change
   * @returns {T}
   */
  update(change) {
    this.lock()
    try {
      const state = this.read()
      const result = change(state)
      this.write(state)
      return result
    } finally {
      this.unlock()
    }
  }

  lock() {
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        mkdirSync(this.lockPath, { mode: 0o777 })
        writeFileSync(join(this.lockPath, 'pid'), String(process.pid), { mode: 0o666 })
        return
      } catch (error) {
        if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EEXIST') throw error
      }
      let holder = 0
      try {
        holder = Number(readFileSync(join(this.lockPath, 'pid'), 'utf8'))
      } catch {
        // the holder is between mkdir and writing its pid
      }
      if (holder > 0 && !alive(holder)) this.unlock()
      if (Date.now() > deadline) throw new Error(`test host: the state lock ${this.lockPath} is stuck`)
      sleepSync(5)
    }
  }

  unlock() {
    rmSync(this.lockPath, { recursive: true, force: true })
  }

  /** @param {Record<string, unknown>} record */
  appendCall(record) {
    appendFileSync(this.callsPath, `${JSON.stringify(record)}\n`, { mode: 0o666 })
  }

  /**
   * Takes the first failure rule whose prefix matches one of `commands` (word by word), counting it
   * down; returns it, or undefined.
   * @param {readonly string[]} commands
   * @returns {FailureRule | undefined}
   */
  takeFailure(commands) {
    return this.update((state) => {
      const index = state.failures.findIndex((rule) =>
        commands.some((command) => startsWithWords(command, rule.prefix)),
      )
      if (index < 0) return undefined
      const rule = /** @type {FailureRule} */ (state.failures[index])
      if (rule.remaining !== null) {
        rule.remaining -= 1
        if (rule.remaining <= 0) state.failures.splice(index, 1)
      }
      return rule
    })
  }
}

/**
 * `docker compose pull --quiet` starts with `docker compose pull` but not with `docker compose pu`.
 * @param {string} command
 * @param {string} prefix
 */
export function startsWithWords(command, prefix) {
  const words = command.split(/\s+/).filter(Boolean)
  const wanted = prefix.split(/\s+/).filter(Boolean)
  return wanted.length > 0 && wanted.every((word, i) => words[i] === word)
}
