// A test host: a real OpenSSH server in a private mount and network namespace, with stand-in docker,
// docker compose and systemctl that record every call, and a real nginx that serves the site when the
// stand-in brings the compose project up. The deploy tests, `npm run demo` and `npm run bench` start
// one per test (or per file) and stop it in afterAll/finally. Types and documentation of the API are in
// test-host.d.mts; README.md shows how to use it.

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  accountFiles,
  EXTRA_USERS,
  hostsFile,
  sshdConfig,
  standInWrapper,
  sudoersFile,
} from './host-files.mjs'
import { emptyState, StateStore } from './stand-ins/state-store.mjs'

/**
 * @typedef {import('./test-host.d.mts').TestHostOptions} TestHostOptions
 * @typedef {import('./test-host.d.mts').TestHost} TestHostApi
 * @typedef {import('./test-host.d.mts').TestUser} TestUser
 * @typedef {import('./test-host.d.mts').KeyPair} KeyPair
 * @typedef {import('./test-host.d.mts').RunResult} RunResult
 * @typedef {import('./test-host.d.mts').RunOptions} RunOptions
 * @typedef {import('./test-host.d.mts').ExecOptions} ExecOptions
 * @typedef {import('./test-host.d.mts').StandInCall} StandInCall
 * @typedef {import('./test-host.d.mts').StandInState} StandInState
 * @typedef {import('./test-host.d.mts').FailureOptions} FailureOptions
 * @typedef {import('./test-host.d.mts').TrafficStats} TrafficStats
 */

const here = dirname(fileURLToPath(import.meta.url))
const USERS = /** @type {const} */ (['root', ...EXTRA_USERS])
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** Where services listen inside the namespace when the delaying proxy holds the public ports. */
const INNER_PORTS = { ssh: 10022, http: 10080, https: 10443 }

/**
 * The tools a host is made of, with the Debian package that has each (the demo checks them too).
 * @type {ReadonlyArray<readonly [string, string]>}
 */
export const TEST_HOST_TOOLS = [
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['ip', 'iproute2'],
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['/usr/sbin/nginx', 'nginx-light'],
  ['sudo', 'sudo'],
  ['/usr/bin/systemctl', 'systemd'],
]

/** @param {string} tool */
function findTool(tool) {
  if (tool.startsWith('/')) return existsSync(tool) ? tool : undefined
  for (const dir of (process.env.PATH ?? DEFAULT_PATH).split(':')) {
    const path = join(dir, tool)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // next
    }
  }
  return undefined
}

function checkMachine() {
  if (process.getuid?.() !== 0) {
    throw new Error('test host: needs root (it makes mount and network namespaces); run the tests as root')
  }
  const missing = TEST_HOST_TOOLS.filter(([tool]) => !findTool(/** @type {string} */ (tool)))
  if (missing.length > 0) {
    throw new Error(
      `test host: missing ${missing.map(([tool, pkg]) => `${tool} (Debian package ${pkg})`).join(', ')}; ` +
        'run scripts/install-test-deps.sh',
    )
  }
}

/**
 * Where the namespace sees this repository and the node binary. The namespace hides /root, /home, /tmp, /opt,
 * /run and /usr/local/bin behind tmpfs, and a checkout or node may live there (a clone in /tmp, a node
 * in node_modules under /root): namespace-init.sh binds both, read-only, to this folder beside the
 * host's dir (not inside it, so that removing the dir from inside the namespace never reaches them).
 * @param {string} dir
 */
function mountsFor(dir) {
  const mnt = `${dir}-mnt`
  return {
    mnt,
    node: join(mnt, 'node', basename(process.execPath)),
    /** The repository (bound whole: the stand-ins import packages from its node_modules). */
    repo: join(mnt, 'repo'),
    code: join(mnt, 'repo', basename(here)),
  }
}

/** A temp dir on tmpfs when the machine has one (state, logs, volumes), else in the system temp dir. */
function makeHostDir() {
  let base = tmpdir()
  try {
    accessSync('/dev/shm', constants.W_OK)
    base = '/dev/shm'
  } catch {
    // keep tmpdir
  }
  const dir = mkdtempSync(join(base, 'test-host-'))
  chmodSync(dir, 0o755)
  return dir
}

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{ input?: string | Buffer, env?: NodeJS.ProcessEnv, timeoutMs?: number }} [options]
 * @returns {Promise<RunResult>}
 */
function run(command, args, options = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: 'pipe', detached: true })
    /** @type {Buffer[]} */
    const out = []
    /** @type {Buffer[]} */
    const err = []
    let timedOut = false
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true
            try {
              if (child.pid) process.kill(-child.pid, 'SIGKILL')
            } catch {
              child.kill('SIGKILL')
            }
          }, options.timeoutMs)
    child.stdout.on('data', (chunk) => out.push(chunk))
    child.stderr.on('data', (chunk) => err.push(chunk))
    child.on('error', (error) => {
      if (timer) clearTimeout(timer)
      reject(new Error(`could not run ${command}: ${error.message}`))
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      const result = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }
      if (timedOut) {
        const error = new Error(
          `${[command, ...args].join(' ').slice(0, 200)} timed out after ${options.timeoutMs} ms\n` +
            `stdout (end): ${result.stdout.slice(-2000)}\nstderr (end): ${result.stderr.slice(-2000)}`,
        )
        Object.assign(error, { result })
        reject(error)
      } else {
        resolvePromise(result)
      }
    })
    child.stdin.on('error', () => {
      // the command did not read its input
    })
    child.stdin.end(options.input ?? '')
  })
}

/**
 * A fresh ed25519 key pair by the real ssh-keygen.
 * @param {string} path
 * @param {string} comment
 */
async function makeKey(path, comment) {
  const result = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path])
  if (result.code !== 0) throw new Error(`test host: ssh-keygen failed: ${result.stderr}`)
}

/** `SHA256:...` of an OpenSSH public key line, as ssh-keygen -lf prints it. @param {string} publicKey */
function fingerprintOf(publicKey) {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64')
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** The network namespace of a process, e.g. `net:[4026532175]`. @param {number} pid */
function netnsOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`)
  } catch {
    return undefined
  }
}

/** Every process in a network namespace. @param {string} netns */
function processesIn(netns) {
  /** @type {number[]} */
  const pids = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    if (netnsOf(Number(entry)) === netns) pids.push(Number(entry))
  }
  return pids
}

/** @param {number} pid */
function isZombie(pid) {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true
  }
}

/** @type {Set<TestHost>} */
const liveHosts = new Set()
let exitHookInstalled = false

function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const host of liveHosts) host.stopNow()
  })
}

/**
 * Reads the first line "ready PID" from the namespace's init, or its error.
 * @param {import('node:child_process').ChildProcessWithoutNullStreams} child
 * @returns {Promise<number>}
 */
function waitForReady(child) {
  return new Promise((resolvePromise, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`test host: the namespace did not get ready within 20 s\n${err}`))
    }, 20_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const match = /^ready (\d+)$/m.exec(out)
      if (match) {
        clearTimeout(timer)
        resolvePromise(Number(match[1]))
      }
    })
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`test host: the namespace failed to start (exit ${code}):\n${err.trim()}`))
    })
  })
}

/**
 * Starts a test host; resolves once sshd (and the proxy) listen.
 * @param {TestHostOptions} [options]
 * @returns {Promise<TestHost>}
 */
export async function startTestHost(options = {}) {
  checkMachine()
  const domain = options.domain ?? 'comments.test'
  const docker = options.docker ?? 'present'
  // Without docker there is no compose plugin either.
  const compose = options.compose ?? (docker === 'absent' ? 'none' : 'v2')
  const systemd = options.systemd ?? true
  if (!/^[a-z0-9.-]+$/.test(domain)) throw new Error(`test host: domain "${domain}" is not a host name`)
  if (!['present', 'absent'].includes(docker))
    throw new Error(`test host: docker must be 'present' or 'absent'`)
  if (!['v2', 'v1', 'none'].includes(compose))
    throw new Error(`test host: compose must be 'v2', 'v1' or 'none'`)
  if (docker === 'absent' && compose === 'v2') {
    throw new Error(
      "test host: compose 'v2' is a docker plugin; with docker 'absent' use compose 'v1' or 'none'",
    )
  }
  const latencyMs = options.latencyMs
  if (latencyMs !== undefined && !(Number.isFinite(latencyMs) && latencyMs >= 0)) {
    throw new Error('test host: latencyMs must be a number of milliseconds, 0 or more')
  }
  const proxied = latencyMs !== undefined
  const ports = proxied ? INNER_PORTS : { ssh: 22, http: 80, https: 443 }

  const dir = makeHostDir()
  const inside = mountsFor(dir)
  mkdirSync(join(inside.mnt, 'node'), { recursive: true })
  mkdirSync(inside.repo, { recursive: true })
  try {
    const paths = {
      etc: join(dir, 'etc'),
      bin: join(dir, 'bin'),
      keys: join(dir, 'keys'),
      sshd: join(dir, 'sshd'),
      state: join(dir, 'state'),
      tls: join(dir, 'tls'),
    }
    for (const path of Object.values(paths)) mkdirSync(path, { mode: 0o755 })
    chmodSync(paths.keys, 0o700)
    chmodSync(paths.sshd, 0o700)
    chmodSync(paths.state, 0o777)
    mkdirSync(join(paths.state, 'journal'), { mode: 0o755 })

    await Promise.all([
      makeKey(join(paths.sshd, 'ssh_host_ed25519_key'), `test-host@${domain}`),
      ...USERS.map((user) => makeKey(join(paths.keys, user), `${user}@test-host`)),
    ])

    const accounts = accountFiles({
      passwd: readFileSync('/etc/passwd', 'utf8'),
      group: readFileSync('/etc/group', 'utf8'),
      shadow: readFileSync('/etc/shadow', 'utf8'),
    })
    writeFileSync(join(paths.etc, 'passwd'), accounts.passwd, { mode: 0o644 })
    writeFileSync(join(paths.etc, 'group'), accounts.group, { mode: 0o644 })
    writeFileSync(join(paths.etc, 'shadow'), accounts.shadow, { mode: 0o640 })
    writeFileSync(join(paths.etc, 'sudoers'), sudoersFile(readFileSync('/etc/sudoers', 'utf8')), {
      mode: 0o440,
    })
    const machineHosts = readFileSync('/etc/hosts', 'utf8')
    writeFileSync(join(paths.etc, 'hosts'), hostsFile(machineHosts, domain), { mode: 0o644 })
    writeFileSync(join(paths.etc, 'runner-hosts'), hostsFile(machineHosts, domain), { mode: 0o644 })

    writeFileSync(
      join(paths.sshd, 'sshd_config'),
      sshdConfig({
        port: ports.ssh,
        hostKeyPath: join(paths.sshd, 'ssh_host_ed25519_key'),
        pidFile: join(paths.state, 'sshd.pidfile'),
      }),
    )
    for (const program of ['docker', 'docker-compose', 'systemctl', 'journalctl']) {
      writeFileSync(
        join(paths.bin, program),
        standInWrapper({
          program,
          node: inside.node,
          entry: join(inside.code, 'stand-ins', 'main.mjs'),
          stateDir: paths.state,
        }),
        { mode: 0o755 },
      )
    }

    const tls = options.tls ? writeTls(paths.tls, options.tls) : null
    writeFileSync(
      join(paths.state, 'host.json'),
      `${JSON.stringify(
        { domain, docker, compose, systemd, stateDir: paths.state, nginx: '/usr/sbin/nginx', ports, tls },
        null,
        2,
      )}\n`,
    )
    new StateStore(paths.state).write(emptyState())
    writeFileSync(join(paths.state, 'calls.jsonl'), '', { mode: 0o666 })
    chmodSync(join(paths.state, 'calls.jsonl'), 0o666)

    if (proxied) {
      writeFileSync(
        join(dir, 'proxy.json'),
        JSON.stringify({
          latencyMs,
          routes: [
            { port: 22, target: ports.ssh },
            { port: 80, target: ports.http },
            { port: 443, target: ports.https },
          ],
          statsPath: join(paths.state, 'traffic.json'),
          readyPath: join(paths.state, 'proxy.ready'),
        }),
      )
    }
    const homeDirs = USERS.map((user) => {
      const account = /** @type {{ uid: number, gid: number, home: string }} */ (accounts.users[user])
      return `${user}:${account.uid}:${account.gid}:${account.home}`
    })
    writeFileSync(
      join(dir, 'init.env'),
      [
        `DOMAIN=${domain}`,
        `SYSTEMD=${systemd ? 1 : 0}`,
        `DOCKER=${docker}`,
        `COMPOSE=${compose}`,
        `MNT=${inside.mnt}`,
        `NODE_SRC_DIR=${dirname(process.execPath)}`,
        `REPO_SRC_DIR=${dirname(here)}`,
        `NODE=${inside.node}`,
        `PROXY_ENTRY=${proxied ? join(inside.code, 'tcp-proxy.mjs') : ''}`,
        `HOME_DIRS="${homeDirs.join(' ')}"`,
        '',
      ].join('\n'),
    )

    const child = spawn(
      'unshare',
      [
        '--mount',
        '--net',
        '--fork',
        '--kill-child',
        '--propagation',
        'private',
        '--',
        'bash',
        join(here, 'namespace-init.sh'),
        dir,
        String(process.pid),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    )
    const initPid = await waitForReady(/** @type {any} */ (child))
    child.stdout.destroy()
    child.stderr.destroy()
    child.removeAllListeners('exit')
    child.unref()
    const host = new TestHost({
      dir,
      domain,
      initPid,
      unsharePid: /** @type {number} */ (child.pid),
      proxied,
      paths,
    })
    liveHosts.add(host)
    installExitHook()
    return host
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    rmSync(mountsFor(dir).mnt, { recursive: true, force: true })
    throw error
  }
}

/**
 * Copies the certificate files nginx will serve: leaf + chain as one file, and the key.
 * @param {string} tlsDir
 * @param {{ certPath: string, keyPath: string, chainPath?: string }} tls
 */
function writeTls(tlsDir, tls) {
  for (const [name, path] of Object.entries(tls)) {
    if (path !== undefined && !existsSync(path))
      throw new Error(`test host: options.tls.${name} ${path} does not exist`)
  }
  const cert = readFileSync(tls.certPath, 'utf8')
  const chain = tls.chainPath ? readFileSync(tls.chainPath, 'utf8') : ''
  // certbot's fullchain.pem already starts with the leaf: do not serve it twice.
  const rest = chain.startsWith(cert.trim()) ? chain.slice(cert.trim().length) : chain
  const fullchainPath = join(tlsDir, 'fullchain.pem')
  const keyPath = join(tlsDir, 'privkey.pem')
  writeFileSync(fullchainPath, `${cert.trim()}\n${rest.trim()}\n`.replace(/\n\n$/, '\n'))
  writeFileSync(keyPath, readFileSync(tls.keyPath), { mode: 0o600 })
  return { fullchainPath, keyPath }
}

/** One running test host. Create it with startTestHost(). */
export class TestHost {
  /**
   * @param {{ dir: string, domain: string, initPid: number, unsharePid: number, proxied: boolean,
   *   paths: Record<'etc' | 'bin' | 'keys' | 'sshd' | 'state' | 'tls', string> }} parts
   */
  constructor({ dir, domain, initPid, unsharePid, proxied, paths }) {
    this.dir = dir
    this.domain = domain
    this.port = 22
    this.initPid = initPid
    this.unsharePid = unsharePid
    this.proxied = proxied
    this.paths = paths
    this.netns = /** @type {string} */ (netnsOf(initPid))
    this.sshdPid = Number(readFileSync(join(paths.state, 'sshd.pid'), 'utf8'))
    this.store = new StateStore(paths.state)
    this.stopped = false
    const publicKey = readFileSync(join(paths.sshd, 'ssh_host_ed25519_key.pub'), 'utf8').trim()
    const [type, base64] = publicKey.split(/\s+/)
    this.hostKeyLine = `${domain} ${type} ${base64}`
    this.hostKeyFingerprint = fingerprintOf(publicKey)
    this.knownHostsPath = join(dir, 'known_hosts')
    writeFileSync(this.knownHostsPath, `${this.hostKeyLine}\n`)
    /** @type {Record<TestUser, KeyPair>} */
    this.keys = /** @type {any} */ (
      Object.fromEntries(
        USERS.map((user) => {
          const privateKeyPath = join(paths.keys, user)
          const publicKeyText = readFileSync(`${privateKeyPath}.pub`, 'utf8')
          return [
            user,
            Object.freeze({
              privateKey: readFileSync(privateKeyPath, 'utf8'),
              publicKey: publicKeyText,
              privateKeyPath,
              fingerprint: fingerprintOf(publicKeyText),
            }),
          ]
        }),
      )
    )
  }

  /** @param {TestUser} user */
  sshArgs(user) {
    return [
      '-F',
      '/dev/null',
      '-o',
      `UserKnownHostsFile=${this.knownHostsPath}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-i',
      this.keys[user].privateKeyPath,
      '-p',
      String(this.port),
      `${user}@${this.domain}`,
    ]
  }

  /**
   * @param {string} command
   * @param {readonly string[]} [args]
   * @param {RunOptions} [options]
   */
  spawnAsRunner(command, args = [], options = {}) {
    const { argv, env } = this.runnerCommand(command, args, options)
    return spawn('nsenter', argv, { env, stdio: 'pipe', detached: true })
  }

  /**
   * @param {string} command
   * @param {readonly string[]} [args]
   * @param {RunOptions} [options]
   * @returns {Promise<RunResult>}
   */
  runAsRunner(command, args = [], options = {}) {
    const { argv, env } = this.runnerCommand(command, args, options)
    return run('nsenter', argv, { env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 })
  }

  /**
   * The `nsenter` argv and the environment of a client command: the host's network namespace, a mount
   * namespace of its own whose /etc/hosts maps the domain, the given working directory.
   * @param {string} command
   * @param {readonly string[]} args
   * @param {RunOptions} options
   */
  runnerCommand(command, args, options) {
    this.assertRunning()
    /** @type {NodeJS.ProcessEnv} */
    const env = { ...process.env }
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key]
      else env[key] = value
    }
    const argv = [
      `--net=/proc/${this.initPid}/ns/net`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'private',
      '--',
      // bash, not dash: dash drops variables whose names are not identifiers, such as INPUT_PRIVATE-KEY.
      'bash',
      '-c',
      'mount --bind "$0" /etc/hosts && cd "$1" && shift && exec "$@"',
      join(this.paths.etc, 'runner-hosts'),
      options.cwd ?? process.cwd(),
      command,
      ...args,
    ]
    return { argv, env }
  }

  /**
   * @param {string} shellCommand
   * @param {ExecOptions} [options]
   * @returns {Promise<RunResult>}
   */
  exec(shellCommand, options = {}) {
    return this.runInside(['bash', '-c', shellCommand], options)
  }

  /**
   * Runs argv as root inside the namespace (root's environment, cwd /).
   * @param {readonly string[]} argv
   * @param {ExecOptions} [options]
   * @returns {Promise<RunResult>}
   */
  async runInside(argv, options = {}) {
    this.assertRunning()
    const result = await run(
      'nsenter',
      ['--target', String(this.initPid), '--mount', '--net', '--wd=/', '--', ...argv],
      {
        env: { PATH: DEFAULT_PATH, HOME: '/root', LANG: 'C.UTF-8', USER: 'root', LOGNAME: 'root' },
        input: options.input,
        timeoutMs: options.timeoutMs ?? 60_000,
      },
    )
    if (result.code !== 0 && !options.allowFailure) {
      throw Object.assign(
        new Error(
          `test host: \`${argv.join(' ').slice(0, 200)}\` exited with ${result.code ?? result.signal}\n${result.stderr.slice(-2000)}`,
        ),
        { result },
      )
    }
    return result
  }

  /** @param {string} path */
  async readFile(path) {
    return (await this.runInside(['cat', '--', path])).stdout
  }

  /**
   * @param {string} name
   * @returns {string}
   */
  createVolume(name) {
    this.assertRunning()
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
      throw new Error(`test host: "${name}" is not a volume name`)
    const mountpoint = join(this.paths.state, 'volumes', name, '_data')
    mkdirSync(mountpoint, { recursive: true, mode: 0o755 })
    this.store.update((state) => {
      state.volumes[name] ??= { mountpoint, createdAt: new Date().toISOString(), labels: {} }
    })
    return mountpoint
  }

  /**
   * @param {string} commandPrefix
   * @param {FailureOptions} [options]
   */
  failNext(commandPrefix, options = {}) {
    this.assertRunning()
    const times = options.times ?? 1
    if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
      throw new Error('test host: failNext times must be a positive whole number or Infinity')
    }
    if (commandPrefix.trim() === '') throw new Error('test host: failNext needs a command prefix')
    this.store.update((state) => {
      state.failures.push({
        prefix: commandPrefix.trim(),
        exitCode: options.exitCode ?? 1,
        stderr: options.stderr ?? `test host: injected failure of \`${commandPrefix.trim()}\``,
        stdout: options.stdout ?? '',
        remaining: times === Number.POSITIVE_INFINITY ? null : times,
      })
    })
  }

  breakSiteOnNextUp() {
    this.assertRunning()
    this.store.update((state) => {
      state.breakSiteOnNextUp = true
    })
  }

  /**
   * @param {{ withCommands?: boolean }} [options]
   */
  killSshSessions(options = {}) {
    this.assertRunning()
    const pids = processesIn(this.netns)
    /** @param {number} pid */
    const comm = (pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      } catch {
        return ''
      }
    }
    /** @param {number} pid */
    const parent = (pid) => {
      try {
        return Number(
          readFileSync(`/proc/${pid}/stat`, 'utf8')
            .replace(/^.*\) \S+ /, '')
            .split(' ')[0],
        )
      } catch {
        return 0
      }
    }
    const sessions = pids.filter((pid) => pid !== this.sshdPid && /^sshd(-session)?$/.test(comm(pid)))
    /** @type {Set<number>} */
    const victims = new Set(sessions)
    if (options.withCommands) {
      let grew = true
      while (grew) {
        grew = false
        for (const pid of pids) {
          if (!victims.has(pid) && victims.has(parent(pid))) {
            victims.add(pid)
            grew = true
          }
        }
      }
    }
    for (const pid of victims) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    return sessions.length
  }

  /** @returns {StandInCall[]} */
  calls() {
    const text = readFileSync(join(this.paths.state, 'calls.jsonl'), 'utf8')
    /** @type {Map<string, any>} */
    const byId = new Map()
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      const record = JSON.parse(line)
      if (record.event === 'call') {
        const { event, ...call } = record
        byId.set(record.id, {
          ...call,
          exitCode: null,
          durationMs: null,
          injected: false,
          forbidden: false,
          unknown: false,
        })
      } else if (record.event === 'end' && byId.has(record.id)) {
        const { event, id, ...end } = record
        Object.assign(byId.get(id), end)
      }
    }
    return [...byId.values()]
  }

  forbiddenCalls() {
    return this.calls().filter((call) => call.forbidden)
  }

  unknownCalls() {
    return this.calls().filter((call) => call.unknown)
  }

  /** @returns {StandInState} */
  state() {
    const state = this.store.read()
    const unitRoot = `/proc/${this.initPid}/root/etc/systemd/system`
    for (const [name, unit] of Object.entries(state.units)) {
      unit.enabled = false
      try {
        for (const entry of readdirSync(unitRoot)) {
          if (!/\.(wants|requires)$/.test(entry)) continue
          try {
            if (lstatSync(join(unitRoot, entry, name)).isSymbolicLink()) unit.enabled = true
          } catch {
            // not in this one
          }
        }
      } catch {
        // the host is stopped
      }
    }
    return state
  }

  sshLog() {
    try {
      return readFileSync(join(this.paths.state, 'sshd.log'), 'utf8')
    } catch {
      return ''
    }
  }

  sshConnectionCount() {
    return (this.sshLog().match(/^.*Connection from \S+ port \d+ on /gm) ?? []).length
  }

  sshChannelCount() {
    return (this.sshLog().match(/server_input_channel_open: ctype /g) ?? []).length
  }

  /** @returns {TrafficStats} */
  trafficStats() {
    if (!this.proxied) {
      throw new Error(
        'test host: traffic is counted by the delaying proxy; start the host with latencyMs (0 for none)',
      )
    }
    const raw = JSON.parse(readFileSync(join(this.paths.state, 'traffic.json'), 'utf8'))
    return Object.fromEntries(Object.entries(raw).map(([port, stats]) => [Number(port), stats]))
  }

  /**
   * @param {{ certPath: string, keyPath: string, chainPath?: string }} tls
   */
  async setTls(tls) {
    this.assertRunning()
    const files = writeTls(this.paths.tls, tls)
    const hostJson = join(this.paths.state, 'host.json')
    const config = JSON.parse(readFileSync(hostJson, 'utf8'))
    config.tls = files
    writeFileSync(hostJson, `${JSON.stringify(config, null, 2)}\n`)
    // nginx re-reads its certificates (and adds the 443 server for a first one) on reload.
    if (this.store.read().site.running) {
      const inside = mountsFor(this.dir)
      await this.runInside(
        [inside.node, join(inside.code, 'stand-ins', 'reload-site.mjs'), this.paths.state],
        {
          timeoutMs: 15_000,
        },
      )
    }
  }

  assertRunning() {
    if (this.stopped) throw new Error('test host: this host is stopped')
  }

  /** Kills everything in the namespace and removes the host's directory, synchronously. */
  stopNow() {
    if (this.stopped) return
    this.stopped = true
    liveHosts.delete(this)
    for (const pid of [this.unsharePid, ...processesIn(this.netns)]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true })
    // Empty mount points here: the binds exist only inside the namespace, which is gone.
    rmSync(mountsFor(this.dir).mnt, { recursive: true, force: true })
  }

  async stop() {
    const netns = this.netns
    this.stopNow()
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      const left = processesIn(netns).filter((pid) => !isZombie(pid))
      if (left.length === 0) return
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // gone
        }
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    throw new Error(`test host: processes still in ${netns} after 5 s: ${processesIn(netns).join(' ')}`)
  }
}

/** The machine-side processes of a network namespace (for tests that check nothing is left). */
export { processesIn as processesInNetns }
