// The one list of the action's inputs and outputs. action.yml, the command-line flags and `--help`
// are generated from it (scripts/build.mjs, src/cli.ts), so they cannot drift apart.

export const MODES = ['deploy', 'check', 'plan', 'rollback'] as const
export type Mode = (typeof MODES)[number]

export interface InputDefinition {
  readonly name: string
  readonly description: string
  /** The default as action.yml states it; absent when the input has none. */
  readonly default?: string
  /** Modes that cannot run without this input. */
  readonly requiredFor?: readonly Mode[]
  /** Secret values are masked and never echoed in messages. */
  readonly secret?: boolean
}

export const INPUTS: readonly InputDefinition[] = [
  {
    name: 'mode',
    description:
      'What to do: deploy, check (HTTPS and health only), plan (show what deploy would change), rollback.',
    default: 'deploy',
  },
  {
    name: 'host',
    description: 'The server to deploy to: a DNS name, an IPv4 or an IPv6 address.',
    requiredFor: ['deploy', 'plan', 'rollback'],
  },
  { name: 'port', description: 'The SSH port of the server.', default: '22' },
  {
    name: 'username',
    description: 'The SSH user: root, or a user with passwordless sudo.',
    default: 'root',
  },
  {
    name: 'private-key',
    description: 'The SSH private key (OpenSSH or PEM), usually from a secret.',
    secret: true,
  },
  { name: 'passphrase', description: 'The passphrase of the private key, if it has one.', secret: true },
  { name: 'password', description: 'The SSH password, when no private key is used.', secret: true },
  {
    name: 'host-key',
    description:
      'The pinned host key: known_hosts lines as `ssh-keyscan` prints them, or a `SHA256:` fingerprint as `ssh-keygen -lf` prints it.',
  },
  {
    name: 'insecure-ignore-host-key',
    description: 'Connect without verifying the host key (prints a warning). Only for a first look.',
    default: 'false',
  },
  {
    name: 'domain',
    description: 'The DNS name the site is served under, e.g. comments.example.com (no scheme, no path).',
    requiredFor: ['deploy', 'check', 'plan', 'rollback'],
  },
  {
    name: 'email',
    description: "The e-mail address given to Let's Encrypt for the account.",
    requiredFor: ['deploy', 'plan'],
  },
  { name: 'remote-dir', description: 'The deploy directory on the server.', default: '/opt/commento' },
  {
    name: 'commento-image',
    description: 'The Commento image to run (upstream Commento or Commento++).',
    default: 'registry.gitlab.com/commento/commento:v1.8.0',
  },
  { name: 'postgres-image', description: 'The Postgres image to run.', default: 'postgres:17-alpine' },
  {
    name: 'commento-env',
    description:
      'Extra Commento settings, one `COMMENTO_NAME=value` a line. Values of names with KEY, SECRET, PASSWORD or TOKEN are treated as secrets.',
    secret: true,
  },
  {
    name: 'postgres-password',
    description: 'The Postgres password. When absent, one is generated once on the server and kept there.',
    secret: true,
  },
  {
    name: 'postgres-upgrade',
    description:
      'When the database volume was written by another Postgres major than postgres-image: dump the database and restore it into a new volume for the new major (the old volume is kept untouched), instead of stopping.',
    default: 'false',
  },
  {
    name: 'staging',
    description: "Use Let's Encrypt's staging environment (untrusted test certificates).",
    default: 'false',
  },
  {
    name: 'hsts-max-age',
    description:
      'Seconds for which browsers should reach the site over HTTPS only (Strict-Transport-Security); 0 sends no header. Turn it on once HTTPS works: a browser that has seen it refuses the site, with no way past the warning, whenever its certificate is not valid, until that time runs out.',
    default: '0',
  },
  { name: 'force', description: 'Restart even when nothing changed.', default: 'false' },
  { name: 'keep-releases', description: 'How many releases to keep on the server (1 to 100).', default: '5' },
  {
    name: 'backup',
    description: 'Dump the database before a restart that changes something.',
    default: 'true',
  },
  {
    name: 'rollback-on-failure',
    description: 'Switch back to the previous release when the HTTPS check fails after a deploy.',
    default: 'true',
  },
  {
    name: 'wait-timeout',
    description: 'Seconds to wait for the site to answer over HTTPS with a valid certificate.',
    default: '180',
  },
  {
    name: 'cert-min-days',
    description: 'Fail when the certificate expires in fewer days than this.',
    default: '7',
  },
  {
    name: 'lock-wait',
    description: 'Seconds to wait for another deploy to release the lock on the server.',
    default: '300',
  },
  {
    name: 'report-issue',
    description: 'Open an issue when the check fails, comment while it keeps failing, close it on recovery.',
    default: 'false',
  },
  {
    name: 'github-token',
    description: 'The token used for report-issue (needs issues: write).',
    default: '${{ github.token }}',
    secret: true,
  },
]

export interface OutputDefinition {
  readonly name: string
  readonly description: string
}

export const OUTPUTS: readonly OutputDefinition[] = [
  { name: 'url', description: 'The URL of the site.' },
  { name: 'status', description: '`healthy` or `unhealthy`.' },
  { name: 'changed', description: '`true` when the deploy changed the server, else `false`.' },
  { name: 'release', description: 'The release that is current on the server afterwards.' },
  { name: 'previous-release', description: 'The release that was current before.' },
  {
    name: 'rolled-back',
    description: '`true` when a failed check switched the server back to the previous release.',
  },
  { name: 'cert-expires', description: 'When the served certificate expires (ISO 8601).' },
  { name: 'cert-days-left', description: 'Whole days until the certificate expires.' },
  { name: 'cert-issuer', description: 'The issuer of the served certificate.' },
]

export function inputDefinition(name: string): InputDefinition {
  const found = INPUTS.find((input) => input.name === name)
  if (!found) throw new Error(`no input named ${name}`)
  return found
}
