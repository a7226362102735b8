import { createHash } from 'node:crypto'
import { InputError } from './input-error.js'
import type { HostKeyPin } from './settings.js'

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ssh-dss',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
])

/** `SHA256:` fingerprint of a public key blob, exactly as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

const FINGERPRINT = /SHA256:([A-Za-z0-9+/]{43})=?/

function fail(line: number, text: string, why: string): InputError {
  const shownLine = text.length > 60 ? `${text.slice(0, 60)}…` : text
  return new InputError(
    'host-key',
    `Input 'host-key' line ${line} (${JSON.stringify(shownLine)}) ${why}. Expected known_hosts lines as \`ssh-keyscan -p PORT HOST\` prints them, a bare "TYPE BASE64" key, or a SHA256: fingerprint as \`ssh-keygen -lf\` prints it.`,
  )
}

/** The fingerprint of "TYPE BASE64" after checking that the blob really holds a key of that type. */
function keyFingerprint(type: string, base64: string, line: number, text: string): string {
  if (!KEY_TYPES.has(type))
    throw fail(line, text, `names the key type "${type}", which is not an SSH host key type`)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw fail(line, text, 'has a key that is not base64')
  const blob = Buffer.from(base64, 'base64')
  const nameLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1
  const embedded =
    nameLength > 0 && nameLength < 64 ? blob.subarray(4, 4 + nameLength).toString('latin1') : ''
  if (embedded !== type)
    throw fail(line, text, `has a key whose data does not match its type "${type}" (cut or mixed up?)`)
  return fingerprintOf(blob)
}

/** Parses the `host-key` input: known_hosts lines (plain, [host]:port, hashed), bare keys, or fingerprints. */
export function parseHostKey(raw: string): HostKeyPin {
  const fingerprints = new Set<string>()
  let keyLines = 0
  let fingerprintLines = 0
  raw
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .forEach((rawLine, index) => {
      const text = rawLine.trim()
      const line = index + 1
      if (text === '' || text.startsWith('#')) return
      if (text.startsWith('@revoked') || text.startsWith('@cert-authority')) {
        throw fail(
          line,
          text,
          'has a marker (@revoked, @cert-authority) that is not supported; pin the host key itself',
        )
      }
      const fields = text.split(/\s+/)
      // "TYPE BASE64 [comment]" or "HOSTS TYPE BASE64 [comment]" (HOSTS may be hashed |1|salt|hash).
      const typeAt = KEY_TYPES.has(fields[0] ?? '') ? 0 : KEY_TYPES.has(fields[1] ?? '') ? 1 : -1
      if (typeAt >= 0 && fields[typeAt + 1]) {
        fingerprints.add(keyFingerprint(fields[typeAt] as string, fields[typeAt + 1] as string, line, text))
        keyLines++
        return
      }
      const fingerprint = FINGERPRINT.exec(text)
      if (fingerprint) {
        fingerprints.add(`SHA256:${fingerprint[1]}`)
        fingerprintLines++
        return
      }
      if (/^(MD5:)?([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(text)) {
        throw fail(line, text, 'is an MD5 fingerprint, which is too weak to pin; use the SHA256: form')
      }
      if (/^SHA256:/.test(text))
        throw fail(line, text, 'is a SHA256 fingerprint of the wrong length (43 base64 characters)')
      if (typeAt < 0 && fields.length >= 2) {
        const type = fields.length >= 3 ? fields[1] : fields[0]
        throw fail(line, text, `names the key type "${type}", which is not an SSH host key type`)
      }
      throw fail(line, text, 'is neither a key nor a fingerprint')
    })
  if (fingerprints.size === 0) {
    throw new InputError(
      'host-key',
      "Input 'host-key' has no key in it (only blank or comment lines). Paste the output of `ssh-keyscan -p PORT HOST`, or a SHA256: fingerprint.",
    )
  }
  const parts = [
    keyLines ? `${keyLines} key line${keyLines > 1 ? 's' : ''}` : '',
    fingerprintLines ? `${fingerprintLines} fingerprint${fingerprintLines > 1 ? 's' : ''}` : '',
  ].filter(Boolean)
  return Object.freeze({ fingerprints: Object.freeze([...fingerprints]), source: parts.join(' and ') })
}
