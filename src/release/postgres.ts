// How Commento reaches Postgres in the stack (stack/compose.yaml), and the `.env` lines that carry
// the password. The names are the 2019 setup's, so its data volume keeps working.
import { dotenvLine } from './dotenv.js'

/** The database user (the image's superuser). */
export const POSTGRES_USER = 'postgres'
/** The database Commento uses. */
export const POSTGRES_DB = 'commento'
/** The Compose service, which is also its host name on the stack's network. */
export const POSTGRES_HOST = 'postgres'
export const POSTGRES_PORT = 5432

/** Percent-encodes everything but RFC 3986's unreserved characters, so any password fits a URL. */
function percentEncode(text: string): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** COMMENTO_POSTGRES: the URL Commento connects with. */
export function postgresUrl(password: string): string {
  return `postgres://${POSTGRES_USER}:${percentEncode(password)}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}?sslmode=disable`
}

/**
 * The `.env` lines that carry the Postgres password: POSTGRES_PASSWORD (for the postgres service) and
 * COMMENTO_POSTGRES (the app's URL, password percent-encoded). The renderer writes them when the
 * password is an input; otherwise the deploy appends the same lines on the server, made from the hex
 * password it keeps in <remote-dir>/secrets/postgres-password: rendered here with a placeholder of
 * URL-unreserved characters (which neither quoting nor encoding changes) that the server replaces.
 * Throws DotenvValueError for a password a `.env` file cannot carry (one ending in a backslash).
 */
export function postgresEnvLines(password: string): string {
  return dotenvLine('POSTGRES_PASSWORD', password) + dotenvLine('COMMENTO_POSTGRES', postgresUrl(password))
}

/**
 * Where the image keeps its data, which is where the data volume is mounted: /var/lib/postgresql from
 * Postgres 18 on, /var/lib/postgresql/data before (and for images whose major version is not in the tag).
 */
export function postgresDataDir(image: string): string {
  const name = image.split('@')[0] ?? image
  const lastSegment = name.slice(name.lastIndexOf('/') + 1)
  const match = /^postgres:(\d+)(?:$|[.\-_a-z])/.exec(lastSegment)
  const major = match ? Number(match[1]) : undefined
  return major !== undefined && major >= 18 ? '/var/lib/postgresql' : '/var/lib/postgresql/data'
}
