// Types shared by the stand-ins (JSDoc only; nothing runs here).

/**
 * What test-host.mjs writes to STATE/host.json: how this host was started.
 * @typedef {{
 *   domain: string,
 *   docker: 'present' | 'absent',
 *   compose: 'v2' | 'v1' | 'none',
 *   systemd: boolean,
 *   stateDir: string,
 *   nginx: string,
 *   ports: { http: number, https: number },
 *   tls: { fullchainPath: string, keyPath: string } | null,
 *   unitDir?: string,
 * }} HostConfig
 */

/**
 * One stand-in call: who called what, where, and how to answer.
 * @typedef {{
 *   program: string,
 *   args: readonly string[],
 *   cwd: string,
 *   uid: number,
 *   env: NodeJS.ProcessEnv,
 *   host: HostConfig,
 *   store: import('./state-store.mjs').StateStore,
 *   out: (text: string) => unknown,
 *   err: (text: string) => unknown,
 * }} Context
 */

export {}
