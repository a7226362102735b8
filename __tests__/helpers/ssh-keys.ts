import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KeyPair {
  readonly privateKey: string
  readonly publicKey: string
  /** `SHA256:...` as ssh-keygen -lf prints it. */
  readonly fingerprint: string
}

/** A fresh key pair made by the real ssh-keygen. */
export function makeKeyPair(type: 'ed25519' | 'rsa' | 'ecdsa' = 'ed25519', passphrase = ''): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'cd-key-'))
  try {
    const file = join(dir, 'key')
    const bits = type === 'rsa' ? ['-b', '2048'] : []
    execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', passphrase, '-C', 'test', '-f', file])
    const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`])
      .toString()
      .split(' ')[1] as string
    return {
      privateKey: readFileSync(file, 'utf8'),
      publicKey: readFileSync(`${file}.pub`, 'utf8'),
      fingerprint,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The same key in the legacy PEM format (ssh-keygen -m PEM). */
export function makePemKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cd-key-'))
  try {
    const file = join(dir, 'key')
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', file])
    return readFileSync(file, 'utf8')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
