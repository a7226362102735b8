// Settings (+ the rendered release) → the RemotePlan the script runs. Pure.
import type { Settings } from '../inputs/settings.js'
import { DATA_VOLUMES } from '../release/data-volumes.js'
import { POSTGRES_HOST, POSTGRES_USER } from '../release/postgres.js'
import { UNIT_COMPOSE_V1, UNIT_COMPOSE_V2 } from '../release/render-release.js'
import type { RemoteMode, RemotePlan } from './remote-script.js'

/** Names the stack in stack/ uses; a test checks the volumes against the rendered compose file. */
export const STACK_LAYOUT = {
  postgresVolume: DATA_VOLUMES[0],
  volumes: DATA_VOLUMES,
  dbService: POSTGRES_HOST,
  dbUser: POSTGRES_USER,
  unitName: 'commento.service',
  unitV2: UNIT_COMPOSE_V2,
  unitV1: UNIT_COMPOSE_V1,
} as const

/**
 * Stands for the Postgres password the server generates, in the .env lines the script appends there.
 * Only URL-unreserved characters, so the URL encoding of postgresEnvLines leaves it intact; remote.sh
 * replaces exactly this word.
 */
export const PASSWORD_PLACEHOLDER = '__CD_GENERATED_PASSWORD__'

/** The Postgres major an image runs, when its tag starts with it (postgres:17-alpine → 17). */
export function postgresMajorOf(image: string): number | undefined {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.indexOf(':', lastSlash + 1)
  if (colon < 0) return undefined
  const match = /^(\d+)(?:[.-]|$)/.exec(withoutDigest.slice(colon + 1))
  return match ? Number(match[1]) : undefined
}

// Room for the release, a database dump, and pulled images' metadata; a nearly full disk fails early.
const DISK_MARGIN_KB = 200 * 1024

/**
 * How long one `docker compose pull` or `build` may take on the server. A registry that stops answering
 * would otherwise hold the deploy, and its lock, until someone kills it; half an hour leaves room for a
 * first build on a small VPS.
 */
export const IMAGES_TIMEOUT_SECONDS = 1800

export interface ReleaseUpload {
  readonly id: string
  readonly size: number
  readonly sha256: string
}

export function remotePlanFor(
  settings: Settings,
  mode: RemoteMode,
  release: ReleaseUpload | undefined,
  postgresEnvTemplate: string,
): RemotePlan {
  if (!settings.ssh) throw new Error(`mode ${mode} needs SSH settings`)
  const major = postgresMajorOf(settings.postgresImage)
  return {
    mode,
    username: settings.ssh.username,
    remoteDir: settings.remoteDir,
    ...(release ? { releaseId: release.id, upload: { size: release.size, sha256: release.sha256 } } : {}),
    // remote.sh prints the template with a line break of its own.
    postgresEnvTemplate: settings.postgresPassword === undefined ? postgresEnvTemplate.trimEnd() : '',
    ...(major === undefined ? {} : { postgresMajor: major }),
    postgresVolume: STACK_LAYOUT.postgresVolume,
    postgresUpgrade: mode === 'deploy' && settings.postgresUpgrade,
    volumes: STACK_LAYOUT.volumes,
    dbService: STACK_LAYOUT.dbService,
    dbUser: STACK_LAYOUT.dbUser,
    unitName: STACK_LAYOUT.unitName,
    unitV2: STACK_LAYOUT.unitV2,
    unitV1: STACK_LAYOUT.unitV1,
    force: settings.force,
    backup: settings.backup,
    rollbackOnFailure: settings.rollbackOnFailure,
    keepReleases: settings.keepReleases,
    lockWaitSeconds: settings.lockWaitSeconds,
    imagesTimeoutSeconds: IMAGES_TIMEOUT_SECONDS,
    awaitVerdict: mode === 'deploy' || mode === 'rollback',
    diskNeededKb: DISK_MARGIN_KB + Math.ceil(((release?.size ?? 0) * 2) / 1024),
    actor: settings.run.actor,
    runUrl: settings.run.runUrl,
  }
}
