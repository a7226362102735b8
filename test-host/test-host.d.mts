// Types of test-host.mjs: a real OpenSSH server in private mount and network namespaces, with stand-in
// docker / docker compose / systemctl that record every call, and a real nginx serving the site when
// the compose project is up. Needs root and the Debian packages in scripts/install-test-deps.sh.

import type { ChildProcessWithoutNullStreams } from 'node:child_process'

export type TestUser = 'root' | 'deployer' | 'nosudo'

export interface TlsFiles {
  /** The leaf certificate (PEM). */
  readonly certPath: string
  /** Its private key (PEM). */
  readonly keyPath: string
  /** Intermediates to serve after the leaf (a certbot fullchain.pem is fine too: the leaf is not repeated). */
  readonly chainPath?: string
}

export interface TestHostOptions {
  /** The name the client uses; resolves to 127.0.0.1 inside the host and for runAsRunner. Default `comments.test`. */
  readonly domain?: string
  /** `absent`: no `docker` for `command -v`. Default `present`. */
  readonly docker?: 'present' | 'absent'
  /**
   * `v2`: `docker compose`; `v1`: only `docker-compose` (and `docker compose` fails like the real client);
   * `none`. Default `v2`, or `none` when docker is absent.
   */
  readonly compose?: 'v2' | 'v1' | 'none'
  /** `false`: no /run/systemd/system, and systemctl fails like on a machine not booted with systemd. Default `true`. */
  readonly systemd?: boolean
  /** What nginx serves on 443. Without it nothing listens on 443 (port 80 still answers). */
  readonly tls?: TlsFiles
  /**
   * One-way delay in ms. When set (0 included), a delaying TCP proxy holds ports 22, 80 and 443 in front
   * of sshd and nginx (which then listen on 10022/10080/10443 inside) and counts traffic (trafficStats).
   */
  readonly latencyMs?: number
}

export interface KeyPair {
  /** OpenSSH private key (PEM text), no passphrase. */
  readonly privateKey: string
  /** `ssh-ed25519 AAAA... user@test-host` */
  readonly publicKey: string
  /** The private key as a 0600 file on the machine (for `ssh -i`). */
  readonly privateKeyPath: string
  /** `SHA256:...` as ssh-keygen -lf prints it. */
  readonly fingerprint: string
}

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  /** Merged over process.env; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Written to stdin, then stdin is closed. */
  readonly input?: string | Buffer
  /** Kills the command and rejects (with stdout/stderr in the message). Default 60 000. */
  readonly timeoutMs?: number
  /** Default: process.cwd(). */
  readonly cwd?: string
}

export interface ExecOptions {
  readonly input?: string | Buffer
  /** Default 60 000. */
  readonly timeoutMs?: number
  /** Resolve with the result instead of rejecting when the command exits non-zero. */
  readonly allowFailure?: boolean
}

export interface FailureOptions {
  /** Default 1. */
  readonly exitCode?: number
  /** Default: "test host: injected failure of `PREFIX`". */
  readonly stderr?: string
  readonly stdout?: string
  /** How many matching calls fail; Infinity for all. Default 1. */
  readonly times?: number
}

export interface FailureRule {
  prefix: string
  exitCode: number
  stderr: string
  stdout: string
  /** null: forever. */
  remaining: number | null
}

/** One call of a stand-in (`docker`, `docker-compose`, `systemctl`, `journalctl`). */
export interface StandInCall {
  readonly id: string
  /** ISO 8601 start time. */
  readonly time: string
  /** `['docker', 'compose', 'pull', '--quiet']` */
  readonly argv: readonly string[]
  /** The canonical command (compose's global options and systemctl's flags left out): `docker compose pull --quiet`. */
  readonly command: string
  readonly cwd: string
  readonly uid: number
  /** The user name of uid (root under sudo). */
  readonly user: string
  /** Who ran sudo, when it was sudo. */
  readonly sudoUser: string | null
  /** null while the call runs (or if it was killed). */
  readonly exitCode: number | null
  readonly durationMs: number | null
  /** The call failed because of failNext. */
  readonly injected: boolean
  /** The call would have removed data (volume rm/prune, system prune, down -v): refused with exit 99. */
  readonly forbidden: boolean
  /** The stand-in does not know the call: refused with exit 98. */
  readonly unknown: boolean
}

export interface VolumeState {
  /** A real directory (the same path inside the namespace and on the machine). */
  mountpoint: string
  createdAt: string
  labels: Record<string, string>
}

export interface ComposeProjectState {
  /** `down`: containers removed; `stopped`: stopped, not removed. */
  status: 'up' | 'stopped' | 'down'
  /** The project directory of the last up (its basename is the release nginx reports). */
  dir: string
  files: string[]
  /** Per service: its container name and configuration hash (what decides Recreated vs Running). */
  services: Record<string, { container: string; hash: string }>
  upCount: number
  updatedAt: string
  /** Bytes fed to `exec -T <svc> psql` (a restore). */
  restoredBytes?: number
}

export interface UnitState {
  /** What systemd has loaded (by daemon-reload or on first use); null when not loaded. */
  loaded: { path: string; content: string; hash: string } | null
  active: 'active' | 'inactive' | 'failed' | 'activating' | 'deactivating' | 'reloading'
  subState: string
  result: string
  since: string | null
  mainPid: number | null
  supervisorPid: number | null
  execMainStatus: number | null
  stopping: boolean
  /** From the [Install] symlinks on disk; filled by TestHost.state(). */
  enabled?: boolean
}

export interface StandInState {
  volumes: Record<string, VolumeState>
  /** Pulled or built images: image name → fake id. */
  images: Record<string, { id: string; at: string; built?: boolean }>
  projects: Record<string, ComposeProjectState>
  units: Record<string, UnitState>
  /** The nginx that plays the site. `release` is the basename of the up project's directory. */
  site: {
    running: boolean
    project: string | null
    release: string | null
    broken: boolean
    generation: number
  }
  breakSiteOnNextUp: boolean
  failures: FailureRule[]
}

/** Per public port (22, 80, 443): counted by the delaying proxy. */
export type TrafficStats = Record<
  number,
  { connections: number; open: number; bytesToServer: number; bytesToClient: number }
>

export interface TestHost {
  /** The temp dir on the machine that holds everything of this host (removed by stop). */
  readonly dir: string
  readonly domain: string
  /** The SSH port as the client sees it: 22. */
  readonly port: number
  /** Exactly as `ssh-keyscan -p 22 <domain>` prints the ed25519 key: `comments.test ssh-ed25519 AAAA...`. */
  readonly hostKeyLine: string
  /** `SHA256:...` of the host key. */
  readonly hostKeyFingerprint: string
  /** A known_hosts file holding hostKeyLine. */
  readonly knownHostsPath: string
  /** The network namespace (`net:[...]`): every process of the host is in it. */
  readonly netns: string
  /** Login keys (authorized for each user). */
  readonly keys: Readonly<Record<TestUser, KeyPair>>

  /** OpenSSH client arguments for `ssh` as `user` with the pinned host key (append the remote command). */
  sshArgs(user: TestUser): string[]

  /**
   * Runs a client command (the action bundle, ssh, curl) in the host's network namespace, in a mount
   * namespace of its own whose /etc/hosts maps the domain to 127.0.0.1: the server is `<domain>` port
   * 22/443/80, as on the internet. Rejects only on timeout (or when the command cannot start).
   */
  runAsRunner(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>
  /** The same, as a child process with piped stdio (input and timeoutMs are not used). */
  spawnAsRunner(
    command: string,
    args?: readonly string[],
    options?: RunOptions,
  ): ChildProcessWithoutNullStreams

  /**
   * Makes the next matching stand-in call(s) fail. The prefix matches whole words of the call
   * (`docker compose pull`, `docker-compose up`, `systemctl restart`, `docker compose exec`), against the
   * command as typed and without compose's global options (`-f`, `-p`, ...) or systemctl's flags.
   */
  failNext(commandPrefix: string, options?: FailureOptions): void
  /** After the next `compose up` the site answers 502 on everything on 443, until the following `up`. */
  breakSiteOnNextUp(): void
  /**
   * Kills the server side of every SSH connection (not the listener): the client sees the connection drop.
   * `withCommands`: also kill the remote commands those sessions started (else they run on, as on a real
   * server whose client vanished). Returns the number of sshd session processes killed.
   */
  killSshSessions(options?: { withCommands?: boolean }): number

  /** Every stand-in call so far, in the order they started. */
  calls(): StandInCall[]
  /** Calls refused because they would remove data: a deploy test asserts this is empty. */
  forbiddenCalls(): StandInCall[]
  /** Calls the stand-ins did not know (exit 98). */
  unknownCalls(): StandInCall[]
  /** The stand-ins' state (volumes, images, projects, units, site). */
  state(): StandInState
  /** Creates a Docker volume without a recorded call (setup); returns its mountpoint (e.g. for PG_VERSION). */
  createVolume(name: string): string

  /** Reads a file inside the namespace (as root). */
  readFile(path: string): Promise<string>
  /** Runs a bash command as root inside the namespace; rejects on a non-zero exit unless allowFailure. */
  exec(shellCommand: string, options?: ExecOptions): Promise<RunResult>
  /** Runs argv as root inside the namespace (no shell). */
  runInside(argv: readonly string[], options?: ExecOptions): Promise<RunResult>

  /** Replaces the certificate nginx serves (reloads nginx when the site runs). */
  setTls(tls: TlsFiles): Promise<void>

  /** sshd's DEBUG1 log. */
  sshLog(): string
  /** TCP connections sshd accepted. */
  sshConnectionCount(): number
  /** SSH channels clients opened (sessions, sftp, forwards) over all connections. */
  sshChannelCount(): number
  /** Connections and bytes per public port; only with latencyMs (0 included). Final once connections closed. */
  trafficStats(): TrafficStats

  /** Stops everything the host started and removes its dir. Idempotent; also runs on process exit. */
  stop(): Promise<void>
}

/** The programs a test host is made of, each with the Debian package that has it. */
export const TEST_HOST_TOOLS: ReadonlyArray<readonly [string, string]>

/** Starts a test host: sshd is listening when the promise resolves (about a second). */
export function startTestHost(options?: TestHostOptions): Promise<TestHost>

/** PIDs of the processes in a network namespace (`net:[...]`), for tests that check nothing is left. */
export function processesInNetns(netns: string): number[]
