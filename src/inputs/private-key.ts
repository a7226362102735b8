import ssh2 from 'ssh2'
import { InputError } from './input-error.js'

const PRIVATE_KEY_BEGIN = /^-----BEGIN (OPENSSH|RSA|EC|DSA|ENCRYPTED)? ?PRIVATE KEY-----$/

/** What kind of text was pasted where a private key belongs, for the message. */
function describeNonKey(text: string): string {
  const first = text.trimStart()
  if (/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+) AAAA/.test(first)) {
    return 'a public key (it starts with the key type and "AAAA"); paste the private key, the file without .pub'
  }
  if (first.startsWith('-----BEGIN CERTIFICATE-----')) return 'a certificate, not an SSH private key'
  if (first.startsWith('-----BEGIN PUBLIC KEY-----')) return 'a PEM public key, not a private key'
  if (first.startsWith('-----BEGIN SSH2 PUBLIC KEY-----')) return 'an RFC 4716 public key, not a private key'
  if (first.startsWith('PuTTY-User-Key-File')) {
    return 'a PuTTY key; convert it with `puttygen key.ppk -O private-openssh -o key`'
  }
  if (/^SHA256:/.test(first))
    return 'a fingerprint; that belongs in host-key, this input needs the private key'
  if (first.startsWith('-----BEGIN') && first.includes('\\n')) {
    return 'a key whose line breaks were turned into the two characters \\n; store the key with real line breaks'
  }
  const body = first.trimEnd()
  if (body.startsWith('-----BEGIN') && !body.includes('\n')) {
    return 'a key pasted on one line; store the key file as it is, with its line breaks'
  }
  if (PRIVATE_KEY_BEGIN.test(body.split('\n')[0] ?? '')) {
    return 'a private key whose END line is missing (cut off?); paste the whole key file'
  }
  if (body.startsWith('-----BEGIN')) {
    // Only a well-formed header is repeated in the message: anything else could be part of a secret.
    const header =
      /^-----BEGIN [A-Z0-9 ]{1,40}-----$/.exec(body.split('\n')[0] ?? '')?.[0] ?? 'an unknown header'
    return `a PEM block that is not a private key (${header})`
  }
  return 'text that is not a key (an OpenSSH or PEM private key starts with "-----BEGIN")'
}

/**
 * Repairs what secret stores do to keys (CRLF line endings, a lost trailing newline, surrounding blanks)
 * and checks that the result is a private key that can be used with the given passphrase.
 */
export function parsePrivateKey(raw: string, passphrase: string | undefined): string {
  const key = `${raw.replace(/\r\n?/g, '\n').trim()}\n`
  const lines = key.trimEnd().split('\n')
  const begin = lines[0] ?? ''
  const end = lines[lines.length - 1] ?? ''
  if (!PRIVATE_KEY_BEGIN.test(begin) || !/^-----END .*PRIVATE KEY-----$/.test(end) || lines.length < 3) {
    throw new InputError(
      'private-key',
      `Input 'private-key' (hidden, ${raw.length} characters) holds ${describeNonKey(key)}. Expected an OpenSSH or PEM private key, such as the contents of ~/.ssh/id_ed25519.`,
    )
  }
  const parsed = ssh2.utils.parseKey(key, passphrase)
  if (parsed instanceof Error) {
    const reason = parsed.message
    if (/encrypted/i.test(reason) && !passphrase) {
      throw new InputError(
        'private-key',
        "Input 'private-key' is encrypted with a passphrase, and input 'passphrase' is empty: set 'passphrase' to the key's passphrase (from a secret).",
      )
    }
    if (passphrase && /(decrypt|bad passphrase|integrity check|encrypted)/i.test(reason)) {
      throw new InputError(
        'passphrase',
        "Input 'passphrase' does not decrypt input 'private-key': check that the secret holds this key's passphrase.",
      )
    }
    throw new InputError(
      'private-key',
      `Input 'private-key' (hidden, ${raw.length} characters) looks like a private key but cannot be read: ${reason}. Paste the whole key file, including its BEGIN and END lines.`,
    )
  }
  return key
}
