// The release: everything that lands in one `releases/<id>/` directory on the server.
// Built locally by a pure function from the settings and `stack/`; see render-release.ts.

export interface ReleaseFile {
  /** Path inside the release directory: relative, POSIX separators, no `..`. */
  readonly path: string
  /** File mode on the server: 0o644, 0o755 for scripts, 0o600 for files that hold secrets. */
  readonly mode: number
  readonly content: Buffer
  /** True when the file holds secrets: never shown, diffs of it are redacted. */
  readonly secret: boolean
}

export interface Release {
  /** Derived from the content only: the same settings and stack give the same id. */
  readonly id: string
  /** Sorted by path; includes manifest.json. */
  readonly files: readonly ReleaseFile[]
  /** path → sha256 (hex) of every file but manifest.json itself. */
  readonly manifest: Readonly<Record<string, string>>
}

/** One file of `stack/` as read from disk: what the release is rendered from. */
export interface StackFile {
  /** Relative to the stack folder, POSIX separators. */
  readonly path: string
  /** 0o755 when the file on disk is executable by anyone, else 0o644. */
  readonly mode: number
  readonly content: Buffer
}

/** Every file of `stack/`, sorted by path. */
export type StackFiles = readonly StackFile[]
