// Renders a release from the settings and stack/: the stack files (the systemd units with the deploy
// directory filled in), the `.env` configuration and manifest.json. Pure and deterministic: the same
// settings and stack give the same bytes and the same id.
import { createHash } from 'node:crypto'
import { InputError } from '../inputs/input-error.js'
import type { Settings } from '../inputs/settings.js'
import { DotenvValueError, dotenvLine } from './dotenv.js'
import { postgresDataDir, postgresEnvLines } from './postgres.js'
import type { Release, ReleaseFile, StackFiles } from './release.js'

/** The configuration file in the release: the only place secrets live. */
export const ENV_FILE = '.env'
export const MANIFEST_FILE = 'manifest.json'
/** The Compose project name, written to `.env` (see stack/compose.yaml for why not `name:`). */
export const COMPOSE_PROJECT = 'commento'
/** The unit for hosts with the Compose v2 plugin, and the one for hosts with docker-compose v1 only. */
export const UNIT_COMPOSE_V2 = 'systemd/commento.service'
export const UNIT_COMPOSE_V1 = 'systemd/commento.service.compose-v1'

/** What a release cannot work without; a stack folder missing one of these is a broken install. */
const REQUIRED_STACK_FILES = [
  'compose.yaml',
  'nginx/Dockerfile',
  'nginx/entrypoint.sh',
  'nginx/site.conf.template',
  'nginx/tls.conf',
  'certbot/Dockerfile',
  'certbot/entrypoint.sh',
  'certbot/deploy-hook.sh',
  UNIT_COMPOSE_V2,
  UNIT_COMPOSE_V1,
]

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

/** Byte order, not locale order: the same on every machine. */
const byPath = (a: { path: string }, b: { path: string }): number =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0

/** The input a `.env` variable comes from, for messages. */
function inputOf(variable: string): string {
  if (variable === 'POSTGRES_PASSWORD' || variable === 'COMMENTO_POSTGRES') return 'postgres-password'
  if (variable.startsWith('COMMENTO_') && variable !== 'COMMENTO_IMAGE') return 'commento-env'
  return variable.toLowerCase().replace(/_/g, '-')
}

function line(variable: string, value: string): string {
  try {
    return dotenvLine(variable, value)
  } catch (error) {
    if (!(error instanceof DotenvValueError)) throw error
    const input = inputOf(variable)
    throw new InputError(
      input,
      `Input '${input}': the value of ${variable} cannot be written to the release's .env file: ${error.reason}.`,
    )
  }
}

function postgresLines(password: string): string {
  try {
    return postgresEnvLines(password)
  } catch (error) {
    if (!(error instanceof DotenvValueError)) throw error
    throw new InputError(
      'postgres-password',
      `Input 'postgres-password' (hidden, ${password.length} characters) cannot be used: ${error.reason}.`,
    )
  }
}

/** The release's `.env`: every setting the stack reads, quoted so that Compose reads it back exactly. */
export function renderEnv(settings: Settings): string {
  const commento = [...settings.commentoEnv].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return [
    '# The configuration of this Commento release, written by commento-deploy from the inputs of the\n',
    '# workflow: change those, not this file. Compose reads it for compose.yaml and hands it to the app.\n',
    '# It holds secrets: mode 0600, never printed.\n',
    line('COMPOSE_PROJECT_NAME', COMPOSE_PROJECT),
    line('DOMAIN', settings.domain),
    line('EMAIL', settings.email ?? ''),
    line('STAGING', settings.staging ? 'true' : 'false'),
    line('HSTS_MAX_AGE', String(settings.hstsMaxAgeSeconds)),
    line('COMMENTO_IMAGE', settings.commentoImage),
    line('POSTGRES_IMAGE', settings.postgresImage),
    line('POSTGRES_DATA_DIR', postgresDataDir(settings.postgresImage)),
    ...(commento.length > 0 ? ['# Commento settings (input commento-env)\n'] : []),
    ...commento.map((setting) => line(setting.name, setting.value)),
    ...(settings.postgresPassword !== undefined
      ? ['# The database password (input postgres-password)\n', postgresLines(settings.postgresPassword)]
      : [
          '# The database password was generated on the server: the deploy appends POSTGRES_PASSWORD and\n',
          `# COMMENTO_POSTGRES here from ${settings.remoteDir}/secrets/postgres-password.\n`,
        ]),
  ].join('')
}

/** A systemd unit template with the deploy directory filled in. */
function renderUnit(path: string, template: string, remoteDir: string): string {
  const text = template.replaceAll('{{REMOTE_DIR}}', remoteDir)
  const left = /\{\{[A-Z_]+\}\}/.exec(text)
  if (left) throw new Error(`stack/${path} has a placeholder the renderer does not know: ${left[0]}.`)
  return text
}

function checkStack(stack: StackFiles): void {
  const paths = new Set(stack.map((file) => file.path))
  const missing = REQUIRED_STACK_FILES.filter((path) => !paths.has(path))
  if (missing.length > 0) {
    throw new Error(
      `The stack folder is incomplete: ${missing.join(', ')} missing. Reinstall commento-deploy (the action ships stack/ next to dist/).`,
    )
  }
  for (const { path } of stack) {
    const segments = path.split('/')
    if (path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw new Error(`The stack folder holds a file with an unusable path: ${JSON.stringify(path)}.`)
    }
    if (path === ENV_FILE || path === MANIFEST_FILE) {
      throw new Error(
        `The stack folder holds ${path}, which the renderer writes itself: remove it from stack/.`,
      )
    }
  }
}

/** The release id: 'r' and 12 hex digits of a hash over every file's path, mode and content hash. */
function releaseId(files: readonly ReleaseFile[], manifest: Readonly<Record<string, string>>): string {
  const listing = files
    .map((file) => `${manifest[file.path]} ${file.mode.toString(8)} ${file.path}\n`)
    .join('')
  return `r${sha256(listing).slice(0, 12)}`
}

/** Renders the release for these settings from these stack files. Pure; throws InputError for a value a `.env` cannot carry. */
export function renderRelease(settings: Settings, stack: StackFiles): Release {
  checkStack(stack)
  const files: ReleaseFile[] = stack.map((file) => {
    const isUnit = file.path === UNIT_COMPOSE_V2 || file.path === UNIT_COMPOSE_V1
    const content = isUnit
      ? Buffer.from(renderUnit(file.path, file.content.toString('utf8'), settings.remoteDir))
      : Buffer.from(file.content)
    return Object.freeze({ path: file.path, mode: file.mode, content, secret: false })
  })
  files.push(
    Object.freeze({ path: ENV_FILE, mode: 0o600, content: Buffer.from(renderEnv(settings)), secret: true }),
  )
  files.sort(byPath)

  const manifest: Record<string, string> = {}
  for (const file of files) manifest[file.path] = sha256(file.content)
  const id = releaseId(files, manifest)

  const manifestFile: ReleaseFile = Object.freeze({
    path: MANIFEST_FILE,
    mode: 0o644,
    content: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
    secret: false,
  })
  return Object.freeze({
    id,
    files: Object.freeze([...files, manifestFile].sort(byPath)),
    manifest: Object.freeze(manifest),
  })
}
