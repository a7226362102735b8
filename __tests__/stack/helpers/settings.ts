import type { CommentoSetting, Settings } from '../../../src/inputs/settings.js'

/** Deploy settings as the input helper makes them, with the stack-relevant fields overridable. */
export function settingsFor(overrides: Partial<Settings> = {}): Settings {
  return Object.freeze({
    mode: 'deploy',
    ssh: { host: 'vps.example.test', port: 22, username: 'root', insecureIgnoreHostKey: false },
    domain: 'comments.example.test',
    email: 'admin@example.test',
    remoteDir: '/opt/commento',
    commentoImage: 'registry.gitlab.com/commento/commento:v1.8.0',
    postgresImage: 'postgres:17-alpine',
    commentoEnv: [],
    postgresUpgrade: false,
    staging: false,
    hstsMaxAgeSeconds: 0,
    force: false,
    keepReleases: 5,
    backup: true,
    rollbackOnFailure: true,
    waitTimeoutSeconds: 180,
    certMinDays: 7,
    lockWaitSeconds: 300,
    reportIssue: false,
    run: { actor: 'tester', runUrl: '' },
    ...overrides,
  })
}

export function commentoSetting(name: string, value: string): CommentoSetting {
  return { name, value, secret: /KEY|SECRET|PASSWORD|TOKEN/.test(name) }
}
