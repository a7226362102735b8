// Builds the one command a deploy, plan, rollback or diagnosis runs on the server: the parameters as
// shell assignments in front of remote.sh, run by `sh -c` (through `sudo -n` for a non-root user).
// A pure function of its plan: unit-tested as text, run by src/remote/remote-run.ts.
import REMOTE_SCRIPT from './remote.sh'

export type RemoteMode = 'deploy' | 'plan' | 'rollback' | 'diagnose'

export interface RemotePlan {
  readonly mode: RemoteMode
  readonly username: string
  readonly remoteDir: string
  /** The release to deploy (deploy, plan). */
  readonly releaseId?: string
  /** Size and sha256 of the release tar the runner sends after `need-upload` (deploy). */
  readonly upload?: { readonly size: number; readonly sha256: string }
  /** Lines appended to the release's .env with PASSWORD_PLACEHOLDER replaced by the password generated and kept on
   * the server; empty when the user gave postgres-password (then .env already holds it). */
  readonly postgresEnvTemplate: string
  /** The Postgres major of postgres-image, when its tag says it; a data volume of another major stops the deploy. */
  readonly postgresMajor?: number
  readonly postgresVolume: string
  /** Dump and restore into a new volume when the data volume's major differs (deploy). */
  readonly postgresUpgrade: boolean
  readonly dbService: string
  readonly dbUser: string
  readonly volumes: readonly string[]
  readonly unitName: string
  /** Paths in the release of the unit for the Compose v2 plugin and for docker-compose v1. */
  readonly unitV2: string
  readonly unitV1: string
  readonly force: boolean
  readonly backup: boolean
  readonly rollbackOnFailure: boolean
  readonly keepReleases: number
  readonly lockWaitSeconds: number
  /** Bound on each image pull and build on the server. */
  readonly imagesTimeoutSeconds: number
  /** Keep the channel open after applying, for the runner's HTTPS verdict. */
  readonly awaitVerdict: boolean
  readonly diskNeededKb: number
  readonly actor: string
  readonly runUrl: string
}

/** Quotes a value for POSIX sh: single quotes, with each single quote closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}

const RELEASE_ID = /^r[0-9a-f]{6,64}$/
const SAFE_WORD = /^[A-Za-z0-9._/@:-]+$/

function checkPlan(plan: RemotePlan): void {
  // Defence in depth: these values were validated as inputs; a mistake here must not become shell code.
  if (plan.releaseId !== undefined && !RELEASE_ID.test(plan.releaseId))
    throw new Error(`bad release id ${plan.releaseId}`)
  for (const word of [
    plan.remoteDir,
    plan.dbService,
    plan.dbUser,
    plan.unitName,
    plan.unitV1,
    plan.unitV2,
    plan.postgresVolume,
    ...plan.volumes,
  ]) {
    if (!SAFE_WORD.test(word)) throw new Error(`unsafe word in remote plan: ${JSON.stringify(word)}`)
  }
  if (!/^[a-z_][a-z0-9_-]*$/.test(plan.username)) throw new Error(`bad user name ${plan.username}`)
}

/** remote.sh without comment lines and indentation: the script travels with every deploy. */
export function compactScript(script: string): string {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n')
}

const COMPACT_SCRIPT = compactScript(REMOTE_SCRIPT)

/** The parameters as `CD_NAME='value'` lines, in a fixed order. */
export function scriptParameters(plan: RemotePlan): string {
  const flag = (b: boolean) => (b ? '1' : '0')
  const params: Array<[string, string]> = [
    ['CD_MODE', plan.mode],
    ['CD_DIR', plan.remoteDir],
    ['CD_RELEASE', plan.releaseId ?? ''],
    ['CD_TAR_SIZE', String(plan.upload?.size ?? 0)],
    ['CD_TAR_SHA256', plan.upload?.sha256 ?? ''],
    ['CD_PG_ENV_TEMPLATE', plan.postgresEnvTemplate],
    ['CD_PG_MAJOR', plan.postgresMajor === undefined ? '' : String(plan.postgresMajor)],
    ['CD_PG_VOLUME', plan.postgresVolume],
    ['CD_PG_UPGRADE', flag(plan.postgresUpgrade)],
    ['CD_DB_SERVICE', plan.dbService],
    ['CD_DB_USER', plan.dbUser],
    ['CD_VOLUMES', plan.volumes.join(' ')],
    ['CD_UNIT', plan.unitName],
    ['CD_UNIT_V2', plan.unitV2],
    ['CD_UNIT_V1', plan.unitV1],
    ['CD_FORCE', flag(plan.force)],
    ['CD_BACKUP', flag(plan.backup)],
    ['CD_ROLLBACK', flag(plan.rollbackOnFailure)],
    ['CD_KEEP', String(plan.keepReleases)],
    ['CD_LOCK_WAIT', String(plan.lockWaitSeconds)],
    ['CD_IMAGES_TIMEOUT', String(plan.imagesTimeoutSeconds)],
    ['CD_AWAIT_VERDICT', flag(plan.awaitVerdict)],
    ['CD_DISK_NEEDED_KB', String(plan.diskNeededKb)],
    ['CD_ACTOR', plan.actor],
    ['CD_RUN_URL', plan.runUrl],
  ]
  return params.map(([name, value]) => `${name}=${shellQuote(value)}`).join('\n')
}

/** The exact command string sent in the SSH exec request. */
export function buildRemoteCommand(plan: RemotePlan): string {
  checkPlan(plan)
  const script = `${scriptParameters(plan)}\n${COMPACT_SCRIPT}\n`
  // $0 names the process `commento-deploy`: the lock recognises a live deploy by it.
  const run = `sh -c ${shellQuote(script)} commento-deploy`
  return plan.username === 'root' ? run : `sudo -n ${run}`
}
