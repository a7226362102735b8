import type { Mode } from './input-definitions.js'

/** A pinned host key: either exact public keys or the SHA-256 fingerprints of keys. */
export interface HostKeyPin {
  /** `SHA256:` fingerprints (base64 without padding) the server's key may have. */
  readonly fingerprints: readonly string[]
  /** Where the pin came from, for messages: e.g. "2 known_hosts lines" or "a SHA256 fingerprint". */
  readonly source: string
}

export interface SshSettings {
  readonly host: string
  readonly port: number
  readonly username: string
  readonly privateKey?: string
  readonly passphrase?: string
  readonly password?: string
  readonly hostKey?: HostKeyPin
  readonly insecureIgnoreHostKey: boolean
}

export interface CommentoSetting {
  readonly name: string
  readonly value: string
  readonly secret: boolean
}

export interface RunContext {
  /** Who started the deploy (GITHUB_ACTOR, or the local user). */
  readonly actor: string
  /** A link to the workflow run, when there is one. */
  readonly runUrl: string
}

export interface Settings {
  readonly mode: Mode
  /** Absent only in `check` mode when no host is given. */
  readonly ssh?: SshSettings
  /** ASCII (punycode) form of the domain. */
  readonly domain: string
  readonly email?: string
  readonly remoteDir: string
  readonly commentoImage: string
  readonly postgresImage: string
  readonly commentoEnv: readonly CommentoSetting[]
  readonly postgresPassword?: string
  /** Move the data to a new volume by dump and restore when the Postgres major changes. */
  readonly postgresUpgrade: boolean
  readonly staging: boolean
  /** Strict-Transport-Security max-age sent by nginx; 0 sends none. */
  readonly hstsMaxAgeSeconds: number
  readonly force: boolean
  readonly keepReleases: number
  readonly backup: boolean
  readonly rollbackOnFailure: boolean
  readonly waitTimeoutSeconds: number
  readonly certMinDays: number
  readonly lockWaitSeconds: number
  readonly reportIssue: boolean
  readonly githubToken?: string
  readonly run: RunContext
}
