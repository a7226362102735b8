// Login keys made by the real ssh-keygen for the reliability tests, held in memory only: the files are
// removed before any run, so that a copy found on disk later can only have been written by the action.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface EncryptedKey {
  /** The private key as the user stores it: encrypted with the passphrase. */
  readonly encrypted: string
  /** The same key decrypted: what must never reach a disk either. */
  readonly decrypted: string
  readonly publicKey: string
  /** Lines every key of this kind has (the format's header in base64): no secret, and in every other key too. */
  readonly boilerplate: ReadonlySet<string>
}

function makeKey(passphrase: string): Omit<EncryptedKey, 'boilerplate'> {
  const dir = mkdtempSync(join(tmpdir(), 'cd-rel-key-'))
  try {
    const file = join(dir, 'key')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'reliability', '-f', file])
    const encrypted = readFileSync(file, 'utf8')
    execFileSync('ssh-keygen', ['-q', '-p', '-P', passphrase, '-N', '', '-f', file])
    return {
      encrypted,
      decrypted: readFileSync(file, 'utf8'),
      publicKey: readFileSync(`${file}.pub`, 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function encryptedKey(passphrase: string): EncryptedKey {
  const key = makeKey(passphrase)
  const other = makeKey(`${passphrase}-other`)
  const lines = (text: string) => new Set(text.split('\n'))
  const otherLines = new Set([...lines(other.encrypted), ...lines(other.decrypted)])
  const boilerplate = new Set(
    [...lines(key.encrypted), ...lines(key.decrypted)].filter((line) => otherLines.has(line)),
  )
  return { ...key, boilerplate }
}
