import type { ServerHostKeyAlgorithm } from 'ssh2'
import { fingerprintOf } from '../inputs/host-key.js'
import type { HostKeyPin } from '../inputs/settings.js'

/** A host key as the server presented it during key exchange. */
export interface PresentedHostKey {
  /** The key type named inside the blob, e.g. `ssh-ed25519`. */
  readonly type: string
  /** `SHA256:` fingerprint, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string
  /** The blob in base64, as known_hosts and `ssh-keyscan` write it. */
  readonly base64: string
}

/** Reads the type and fingerprint of a raw host key blob (what ssh2's hostVerifier receives without hostHash). */
export function presentedHostKey(blob: Buffer): PresentedHostKey {
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : 0
  const type =
    nameLength > 0 && nameLength < 64 && blob.length >= 4 + nameLength
      ? blob.subarray(4, 4 + nameLength).toString('latin1')
      : 'unknown'
  return { type, fingerprint: fingerprintOf(blob), base64: blob.toString('base64') }
}

/** How known_hosts names a host: bare for port 22, `[host]:port` otherwise (also for IPv6 literals). */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

/** The line that pins `key` for `host:port`, exactly as `ssh-keyscan -p PORT HOST` prints it. */
export function knownHostsLine(host: string, port: number, key: PresentedHostKey): string {
  return `${knownHostsName(host, port)} ${key.type} ${key.base64}`
}

/**
 * The host key algorithms ssh2 may negotiate, grouped by the key they verify with (one RSA key signs
 * with three algorithms). Used to ask the server for a different key of its own when the first one it
 * presents is not the pinned one: a user may have pinned, say, only the RSA fingerprint a hosting panel shows.
 */
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}

/** Host key algorithms to offer once keys of `seenTypes` were presented and did not match; [] when none are left. */
export function remainingHostKeyAlgorithms(seenTypes: Iterable<string>): ServerHostKeyAlgorithm[] {
  const seen = new Set(seenTypes)
  return Object.entries(HOST_KEY_ALGORITHMS)
    .filter(([type]) => !seen.has(type))
    .flatMap(([, algorithms]) => algorithms)
}

export function matchesPin(key: PresentedHostKey, pin: HostKeyPin): boolean {
  return pin.fingerprints.includes(key.fingerprint)
}

/** The file on the server that holds the public half of a host key of this type, for out-of-band checks. */
function hostKeyFile(type: string): string {
  const name = type === 'ssh-rsa' ? 'rsa' : type.startsWith('ecdsa-') ? 'ecdsa' : 'ed25519'
  return `/etc/ssh/ssh_host_${name}_key.pub`
}

const describe = (key: PresentedHostKey) => `${key.type} ${key.fingerprint}`

export function hostKeyMismatchMessage(
  host: string,
  port: number,
  pin: HostKeyPin,
  presented: readonly PresentedHostKey[],
): string {
  const [first] = presented
  const shown = presented.map(describe).join(', ')
  return [
    `Host key mismatch for ${host}:${port}: input 'host-key' (${pin.source}) pins ${pin.fingerprints.join(', ')},`,
    `but the server presented ${presented.length > 1 ? `these keys: ${shown}` : shown}.`,
    'The connection was closed before authentication: no credential was sent.',
    `If the server was reinstalled or its host keys were regenerated on purpose, check the new fingerprint on the server itself (\`ssh-keygen -lf ${hostKeyFile(first?.type ?? '')}\`, e.g. in your provider's web console)`,
    `and update the 'host-key' secret with the output of \`ssh-keyscan -p ${port} ${host}\`.`,
    'Otherwise do not connect: someone may be in the middle.',
  ].join(' ')
}

export function hostKeyUnknownMessage(host: string, port: number, key: PresentedHostKey): string {
  return [
    `No host key is pinned for ${host}:${port} (input 'host-key' is empty), so the connection was closed before authentication: no credential was sent.`,
    `The server presented the ${key.type} key ${key.fingerprint}.`,
    `Verify it out of band: run \`ssh-keygen -lf ${hostKeyFile(key.type)}\` on the server (e.g. in your provider's web console) and compare the fingerprints.`,
    "If they match, store this line in the secret you pass as input 'host-key':",
    knownHostsLine(host, port, key),
    "(To connect without checking the server's identity, set 'insecure-ignore-host-key: true'; anyone in the middle could then take your credentials.)",
  ].join('\n')
}

export function insecureHostKeyWarning(host: string, port: number, key: PresentedHostKey): string {
  return [
    `'insecure-ignore-host-key' is true: connected to ${host}:${port} without checking its host key.`,
    `The server presented the ${key.type} key ${key.fingerprint}. After verifying it on the server, pin it by setting input 'host-key' to:`,
    knownHostsLine(host, port, key),
  ].join('\n')
}
