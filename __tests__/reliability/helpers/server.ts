// What the reliability tests look at on a test host: where the server stands (the `current` link,
// state/running, what the stand-in brought up, what the site says in X-Commento-Release, the lock), and
// whether every release directory holds exactly the files its manifest.json names.

import type { TestHost } from '../../../test-host/test-host.mjs'
import { createTestPki, type Pki } from '../../../test-host/test-pki.mjs'

export const REMOTE_DIR = '/opt/commento'

export interface ServerSnapshot {
  /** The release `current` points at ('' when none). */
  readonly current: string
  readonly previous: string
  /** state/running: the release the deploy last brought up. */
  readonly running: string
  /** What the stand-in says is up (the basename of the compose project dir of the last `up`). */
  readonly siteRelease: string | null
  readonly siteRunning: boolean
  /** X-Commento-Release of https://DOMAIN/js/commento.js as a client sees it, or null when it does not answer. */
  readonly header: string | null
  readonly lockHeld: boolean
  /** Leftovers of interrupted uploads. */
  readonly incoming: readonly string[]
  readonly logLines: readonly string[]
}

export async function serverSnapshot(host: TestHost, pki: Pki): Promise<ServerSnapshot> {
  const r = await host.exec(
    `cd ${REMOTE_DIR} 2>/dev/null || exit 0
     printf 'current=%s\\n' "$(basename "$(readlink current 2>/dev/null)" 2>/dev/null)"
     printf 'previous=%s\\n' "$(basename "$(readlink previous 2>/dev/null)" 2>/dev/null)"
     printf 'running=%s\\n' "$(cat state/running 2>/dev/null)"
     printf 'lock=%s\\n' "$(test -e .deploy.lock && echo held)"
     printf 'incoming=%s\\n' "$(ls -A releases 2>/dev/null | grep -e '^\\.incoming' | tr '\\n' ' ')"`,
  )
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim() ?? ''
  const curl = await host.runAsRunner('curl', [
    '-sS',
    '--max-time',
    '5',
    '--cacert',
    pki.rootCertPath,
    '-o',
    '/dev/null',
    '-D',
    '-',
    `https://${host.domain}/js/commento.js`,
  ])
  const header = /^x-commento-release:\s*(\S+)/im.exec(curl.stdout)?.[1] ?? null
  const state = host.state()
  const log = await host.exec(`cat ${REMOTE_DIR}/deploy.log 2>/dev/null || true`)
  return {
    current: field('current'),
    previous: field('previous'),
    running: field('running'),
    siteRelease: state.site.release,
    siteRunning: state.site.running,
    header,
    lockHeld: field('lock') === 'held',
    incoming: field('incoming').split(' ').filter(Boolean),
    logLines: log.stdout.split('\n').filter(Boolean),
  }
}

/**
 * The one release the server is on when every witness agrees (current, state/running, the stand-in, the
 * site's header), else a description of the disagreement: the test expects a release id here.
 */
export function settledRelease(s: ServerSnapshot): string {
  const witnesses = {
    current: s.current,
    running: s.running,
    up: s.siteRelease ?? '',
    header: s.header ?? '',
  }
  const values = new Set(Object.values(witnesses))
  if (values.size === 1 && s.siteRunning) return s.current
  return `in between: ${JSON.stringify(witnesses)} (site running: ${s.siteRunning})`
}

/** Polls until `condition` holds (checked at least once), or fails naming `what`. */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Resolves once no remote deploy script runs on the host any more (after a cut, it runs on by itself). */
export function remoteScriptsGone(host: TestHost, timeoutMs = 30_000): Promise<void> {
  return eventually(
    'the remote deploy script to finish',
    async () => (await host.exec('pgrep -f "^sh -c CD_MODE=" >/dev/null || echo gone')).stdout === 'gone\n',
    timeoutMs,
  )
}

export interface ManifestMismatch {
  readonly release: string
  readonly problem: string
}

/** Every file of every release dir against its manifest.json: an interleaved upload shows up here. */
export async function releasesAgainstManifests(host: TestHost): Promise<{
  releases: string[]
  mismatches: ManifestMismatch[]
}> {
  const r = await host.exec(
    `cd ${REMOTE_DIR}/releases || exit 0
     for d in r*; do
       [ -d "$d" ] || continue
       echo "@@release $d"
       echo "@@manifest $(tr -d '\\n' < "$d/manifest.json")"
       (cd "$d" && find . -type f ! -name manifest.json ! -name .complete -printf '%P\\0' | sort -z | xargs -0 -r sha256sum)
     done`,
  )
  const releases: string[] = []
  const mismatches: ManifestMismatch[] = []
  let release = ''
  let manifest: Record<string, string> = {}
  const seen = new Map<string, string>()
  const finish = () => {
    if (!release) return
    const expected = Object.keys(manifest).sort()
    const actual = [...seen.keys()].sort()
    if (JSON.stringify(expected) !== JSON.stringify(actual))
      mismatches.push({ release, problem: `files ${actual.join(',')} but manifest ${expected.join(',')}` })
    for (const [path, hash] of seen)
      if (manifest[path] !== undefined && manifest[path] !== hash)
        mismatches.push({ release, problem: `${path} differs from its manifest hash` })
  }
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('@@release ')) {
      finish()
      release = line.slice('@@release '.length)
      releases.push(release)
      manifest = {}
      seen.clear()
    } else if (line.startsWith('@@manifest ')) {
      manifest = JSON.parse(line.slice('@@manifest '.length))
    } else if (line.trim()) {
      const [hash, ...path] = line.split('  ')
      seen.set(path.join('  '), hash as string)
    }
  }
  finish()
  return { releases, mismatches }
}

/** A test PKI with one leaf for `domain`, in `dir`. */
export async function pkiFor(dir: string, domain: string) {
  const pki = await createTestPki(dir)
  const leaf = await pki.issue({ names: [domain] })
  return { pki, tls: { certPath: leaf.certPath, keyPath: leaf.keyPath, chainPath: leaf.chainPath } }
}
