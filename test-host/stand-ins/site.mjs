// The site a running Commento stack would serve, played by a real nginx (Debian's nginx-light) in the
// test host's namespace: HTTPS for the domain with the test's certificate, the probes a healthy
// Commento answers, and `X-Commento-Release: <basename of the project directory>`. Started when a
// compose project comes up, reloaded (no gap) when only the release or the breakage changes,
// restarted when the nginx service itself is recreated, stopped when the project goes down.

import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StandInError } from './errors.mjs'
import { sleepSync } from './state-store.mjs'

/**
 * @typedef {import('./context.mjs').HostConfig} HostConfig
 * @typedef {{ release: string, broken: boolean, generation: number }} SiteContent
 */

const COMMENTO_JS = '/* commento.js (test host stand-in) */ window.commento = window.commento || {};'
const COUNT_JS = '/* count.js (test host stand-in) */ (function () {})();'
const LOGIN_HTML = '<!doctype html><html><head><title>Commento: Login</title></head><body>login</body></html>'

/** @param {string} text */
function quoted(text) {
  return `"${text.replace(/["\\$]/g, (c) => (c === '$' ? '${dollar}' : `\\${c}`))}"`
}

/** @param {HostConfig} host */
function paths(host) {
  const dir = join(host.stateDir, 'nginx')
  return {
    dir,
    conf: join(dir, 'nginx.conf'),
    pid: join(dir, 'nginx.pid'),
    errorLog: join(dir, 'error.log'),
    startLog: join(dir, 'start.log'),
    acmeRoot: join(dir, 'acme'),
  }
}

/**
 * nginx.conf for the site (pure).
 * @param {HostConfig} host
 * @param {SiteContent} content
 */
export function siteConfig(host, content) {
  const p = paths(host)
  const https = host.tls
    ? [
        '  server {',
        `    listen 127.0.0.1:${host.ports.https} ssl;`,
        `    server_name ${host.domain};`,
        `    ssl_certificate ${host.tls.fullchainPath};`,
        `    ssl_certificate_key ${host.tls.keyPath};`,
        // As stack/nginx/tls.conf: nginx 1.22's default leaves out TLS 1.3, whose handshake is a round trip shorter.
        '    ssl_protocols TLSv1.2 TLSv1.3;',
        `    add_header X-Commento-Release ${quoted(content.release)} always;`,
        ...(content.broken
          ? ['    location / { return 502; }']
          : [
              `    location = / { return 301 https://${host.domain}/login; }`,
              `    location = /login { default_type text/html; return 200 ${quoted(LOGIN_HTML)}; }`,
              `    location = /js/commento.js { default_type application/javascript; return 200 ${quoted(COMMENTO_JS)}; }`,
              `    location = /js/count.js { default_type application/javascript; return 200 ${quoted(COUNT_JS)}; }`,
              '    location = /api/comment/count {',
              '      default_type application/json;',
              '      if ($request_method != POST) { return 405; }',
              `      return 200 ${quoted('{"success":true,"commentCounts":{}}')};`,
              '    }',
              `    location /api/ { default_type application/json; return 200 ${quoted('{"success":false,"message":"Unknown endpoint (test host stand-in)"}')}; }`,
              '    location / { return 404; }',
            ]),
        '  }',
      ]
    : []
  return [
    '# test host site: written by test-host/stand-ins/site.mjs',
    'worker_processes 1;',
    `pid ${p.pid};`,
    `error_log ${p.errorLog} notice;`,
    'events { worker_connections 512; }',
    'http {',
    `  access_log ${join(p.dir, 'access.log')};`,
    `  client_body_temp_path ${join(p.dir, 'tmp', 'body')};`,
    `  proxy_temp_path ${join(p.dir, 'tmp', 'proxy')};`,
    `  fastcgi_temp_path ${join(p.dir, 'tmp', 'fastcgi')};`,
    `  uwsgi_temp_path ${join(p.dir, 'tmp', 'uwsgi')};`,
    `  scgi_temp_path ${join(p.dir, 'tmp', 'scgi')};`,
    '  geo $dollar { default "$"; }',
    '  server_tokens off;',
    '  server {',
    `    listen 127.0.0.1:${host.ports.http} default_server;`,
    `    location /.well-known/acme-challenge/ { root ${p.acmeRoot}; }`,
    `    location = /.test-host/generation { default_type text/plain; return 200 "${content.generation}"; }`,
    '    location / { return 301 https://$host$request_uri; }',
    '  }',
    ...https,
    '}',
    '',
  ].join('\n')
}

/** @param {number} pid */
function running(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** The master's pid when nginx runs. @param {HostConfig} host */
export function sitePid(host) {
  const { pid } = paths(host)
  if (!existsSync(pid)) return undefined
  const value = Number(readFileSync(pid, 'utf8').trim())
  return value > 0 && running(value) ? value : undefined
}

/**
 * Asks the port-80 server which configuration generation it serves.
 * @param {HostConfig} host
 * @returns {Promise<number | undefined>}
 */
function servedGeneration(host) {
  return new Promise((resolvePromise) => {
    // Loaded here, not at the top: most calls never ask, and each call is a process start.
    const req = /** @type {typeof import('node:http')} */ (process.getBuiltinModule('node:http')).request(
      {
        host: '127.0.0.1',
        port: host.ports.http,
        path: '/.test-host/generation',
        agent: false,
        timeout: 1000,
      },
      (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolvePromise(Number(body)))
      },
    )
    req.on('error', () => resolvePromise(undefined))
    req.on('timeout', () => {
      req.destroy()
      resolvePromise(undefined)
    })
    req.end()
  })
}

/**
 * @param {HostConfig} host
 * @param {number} generation
 */
async function waitForGeneration(host, generation) {
  // Generous: a machine busy with other tests can be slow to start workers.
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if ((await servedGeneration(host)) === generation) return
    await new Promise((r) => setTimeout(r, 10))
  }
  const { errorLog } = paths(host)
  const tail = existsSync(errorLog) ? readFileSync(errorLog, 'utf8').split('\n').slice(-5).join('\n') : ''
  throw new StandInError(`test host: nginx did not serve configuration ${generation} within 15 s\n${tail}`, 1)
}

/**
 * Starts nginx with `content`, or reloads it (SIGHUP, no gap) when it runs; `restart` stops it first.
 * Resolves once the new configuration answers.
 * @param {HostConfig} host
 * @param {SiteContent} content
 * @param {{ restart?: boolean }} [options]
 */
export async function applySite(host, content, options = {}) {
  const p = paths(host)
  for (const sub of ['tmp', 'acme']) mkdirSync(join(p.dir, sub), { recursive: true })
  writeFileSync(p.conf, siteConfig(host, content))
  if (options.restart) stopSite(host)
  const pid = sitePid(host)
  /** @type {number[]} */
  let oldWorkers = []
  if (pid !== undefined) {
    oldWorkers = childrenOf(pid)
    process.kill(pid, 'SIGHUP')
  } else {
    // nginx binds its ports before it daemonizes: when this returns 0, the ports answer. Its stdio is a
    // log file and /dev/null, and the stand-in's wrapper closed every other inherited descriptor.
    const log = openSync(p.startLog, 'a')
    const result = spawnSync(host.nginx, ['-c', p.conf, '-e', p.errorLog, '-p', p.dir], {
      stdio: ['ignore', log, log],
      timeout: 10_000,
    })
    closeSync(log)
    if (result.status !== 0) {
      const tail = readFileSync(p.startLog, 'utf8').split('\n').slice(-6).join('\n')
      throw new StandInError(`test host: nginx did not start:\n${tail}`, 1)
    }
  }
  await waitForGeneration(host, content.generation)
  // Until the old workers have exited, one of them may still accept a connection with the old
  // configuration; they exit at once when idle (nginx closes idle keep-alive connections on reload).
  const deadline = Date.now() + 5000
  while (oldWorkers.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
}

/** The processes whose parent is `pid` (nginx's workers). @param {number} pid */
function childrenOf(pid) {
  /** @type {number[]} */
  const children = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry))
    } catch {
      // gone
    }
  }
  return children
}

/**
 * Stops nginx (fast shutdown) and waits until it is gone.
 * @param {HostConfig} host
 */
export function stopSite(host) {
  const pid = sitePid(host)
  if (pid === undefined) return
  process.kill(pid, 'SIGTERM')
  const deadline = Date.now() + 5000
  while (running(pid) && Date.now() < deadline) sleepSync(10)
  if (running(pid)) process.kill(pid, 'SIGKILL')
}
