// Entry of the stand-in executables (`docker`, `docker-compose`, `systemctl`) inside a test host:
//   TEST_HOST_STATE=DIR node main.mjs PROGRAM ARGS...
// Records the call, applies a failure the test asked for, then plays the program's part. A call the
// stand-in does not know fails loudly (exit 98); one that would destroy data fails with exit 99 and is
// recorded as forbidden, so a test can assert that none ever happened.

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { canonicalCompose, runCompose } from './compose.mjs'
import { runDocker } from './docker.mjs'
import { StandInError } from './errors.mjs'
import { StateStore } from './state-store.mjs'
import { canonicalSystemctl, runSystemctl } from './systemctl.mjs'

/**
 * @typedef {import('./context.mjs').Context} Context
 * @typedef {import('./context.mjs').HostConfig} HostConfig
 */

/** Exit code of a stand-in that crashed (a bug here, not in the deploy). */
const CRASH_EXIT = 70

/**
 * The command line a failure rule is matched against, in its raw and its canonical form (compose's
 * global options and systemctl's flags left out): `failNext('docker compose pull')` also matches
 * `docker compose -f compose.yaml pull --quiet`.
 * @param {string} program
 * @param {readonly string[]} args
 */
function commandForms(program, args) {
  const raw = [program, ...args].join(' ')
  let canonical = raw
  if (program === 'docker' && args[0] === 'compose')
    canonical = `docker compose ${canonicalCompose(args.slice(1))}`
  if (program === 'docker-compose') canonical = `docker-compose ${canonicalCompose(args)}`
  if (program === 'systemctl') canonical = `systemctl ${canonicalSystemctl(args)}`
  return [...new Set([raw, canonical])]
}

/** @param {number} uid */
function userName(uid) {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === String(uid))
    return line?.split(':')[0] ?? String(uid)
  } catch {
    return String(uid)
  }
}

// A reader that stops early (`| head`) must not crash the stand-in: real clients die of SIGPIPE quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EPIPE') throw error
  })
}

async function main() {
  const stateDir = process.env.TEST_HOST_STATE
  const [program = '', ...args] = process.argv.slice(2)
  if (!stateDir)
    throw new Error('test host stand-in: TEST_HOST_STATE is not set (run it through its wrapper)')
  process.umask(0)
  const store = new StateStore(stateDir)
  /** @type {HostConfig} */
  const host = JSON.parse(readFileSync(join(stateDir, 'host.json'), 'utf8'))
  const uid = process.getuid?.() ?? 0
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
  const started = Date.now()
  const forms = commandForms(program, args)
  store.appendCall({
    event: 'call',
    id,
    time: new Date(started).toISOString(),
    argv: [program, ...args],
    command: forms.at(-1),
    cwd: process.cwd(),
    uid,
    user: userName(uid),
    sudoUser: process.env.SUDO_USER ?? null,
  })
  /** @type {{ exitCode: number, injected: boolean, forbidden: boolean, unknown: boolean }} */
  const outcome = { exitCode: 0, injected: false, forbidden: false, unknown: false }
  try {
    const rule = store.takeFailure(forms)
    if (rule) {
      outcome.injected = true
      if (rule.stdout) process.stdout.write(rule.stdout)
      if (rule.stderr) process.stderr.write(rule.stderr.endsWith('\n') ? rule.stderr : `${rule.stderr}\n`)
      outcome.exitCode = rule.exitCode
    } else {
      /** @type {Context} */
      const context = {
        program,
        args,
        cwd: process.cwd(),
        uid,
        env: process.env,
        host,
        store,
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      }
      if (program === 'docker') outcome.exitCode = await runDocker(context)
      else if (program === 'docker-compose') outcome.exitCode = await runCompose(context, 'v1', args)
      else if (program === 'systemctl' || program === 'journalctl')
        outcome.exitCode = await runSystemctl(context)
      else throw new StandInError(`unknown stand-in program "${program}"`, 98, 'unknown')
    }
  } catch (error) {
    if (error instanceof StandInError) {
      process.stderr.write(error.message.endsWith('\n') ? error.message : `${error.message}\n`)
      outcome.exitCode = error.exitCode
      outcome.forbidden = error.kind === 'forbidden'
      outcome.unknown = error.kind === 'unknown'
    } else {
      // A bug in the stand-in: loud, with a code no real tool uses, and still recorded.
      process.stderr.write(`test host stand-in crashed: ${error instanceof Error ? error.stack : error}\n`)
      outcome.exitCode = CRASH_EXIT
    }
  }
  store.appendCall({ event: 'end', id, durationMs: Date.now() - started, ...outcome })
  process.exitCode = outcome.exitCode
}

main().catch((error) => {
  process.stderr.write(`test host stand-in crashed: ${error instanceof Error ? error.stack : error}\n`)
  process.exitCode = CRASH_EXIT
})
