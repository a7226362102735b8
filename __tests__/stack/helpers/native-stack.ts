// Runs the stack's own entrypoints natively: the paths they use in the containers are replaced, through
// their environment variables, by folders of a test directory.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface NativePaths {
  readonly root: string
  readonly letsencrypt: string
  readonly webroot: string
  readonly tlsDir: string
  readonly siteConf: string
  readonly nginxConf: string
  readonly reloadFifo: string
  readonly certbotWork: string
  readonly certbotLogs: string
}

export function nativePaths(root: string): NativePaths {
  return {
    root,
    letsencrypt: join(root, 'letsencrypt'),
    webroot: join(root, 'webroot'),
    tlsDir: join(root, 'tls'),
    siteConf: join(root, 'conf.d', 'commento.conf'),
    nginxConf: join(root, 'nginx.conf'),
    reloadFifo: join(root, 'reload', 'nginx-reload'),
    certbotWork: join(root, 'certbot-work'),
    certbotLogs: join(root, 'certbot-logs'),
  }
}

/**
 * A main nginx.conf like the image's, with every file it writes inside the test directory; it includes
 * the rendered site from conf.d as the image's does. Workers run as root so they can read the
 * test's private folders.
 */
export function writeNginxMainConf(paths: NativePaths): void {
  for (const dir of ['conf.d', 'nginx-temp', 'logs']) mkdirSync(join(paths.root, dir), { recursive: true })
  const temp = join(paths.root, 'nginx-temp')
  writeFileSync(
    paths.nginxConf,
    [
      'user root;',
      'worker_processes 1;',
      `pid ${join(paths.root, 'nginx.pid')};`,
      `error_log ${join(paths.root, 'logs', 'error.log')} warn;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      '  default_type application/octet-stream;',
      `  client_body_temp_path ${temp}/body;`,
      `  proxy_temp_path ${temp}/proxy;`,
      `  fastcgi_temp_path ${temp}/fastcgi;`,
      `  uwsgi_temp_path ${temp}/uwsgi;`,
      `  scgi_temp_path ${temp}/scgi;`,
      `  include ${join(paths.root, 'conf.d')}/*.conf;`,
      '}',
      '',
    ].join('\n'),
  )
}

/** The nginx entrypoint's environment for these paths, with the stack files from `stack`. */
export function nginxEnv(paths: NativePaths, stack: string, domain: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    PATH: process.env.PATH,
    DOMAIN: domain,
    LETSENCRYPT_DIR: paths.letsencrypt,
    WEBROOT: paths.webroot,
    TLS_DIR: paths.tlsDir,
    SITE_TEMPLATE: join(stack, 'nginx', 'site.conf.template'),
    TLS_PARAMS: join(stack, 'nginx', 'tls.conf'),
    SITE_CONF: paths.siteConf,
    NGINX_CONF: paths.nginxConf,
    RELOAD_FIFO: paths.reloadFifo,
    UPSTREAM: '127.0.0.1:9',
    ...extra,
  }
}

/** The certbot entrypoint's environment for these paths, with the stack files from `stack`. */
export function certbotEnv(paths: NativePaths, stack: string, domain: string, extra: NodeJS.ProcessEnv = {}) {
  return {
    PATH: process.env.PATH,
    DOMAIN: domain,
    EMAIL: `admin@${domain}`,
    STAGING: 'false',
    LETSENCRYPT_DIR: paths.letsencrypt,
    CERTBOT_WORK_DIR: paths.certbotWork,
    CERTBOT_LOGS_DIR: paths.certbotLogs,
    WEBROOT: paths.webroot,
    DEPLOY_HOOK: join(stack, 'certbot', 'deploy-hook.sh'),
    RELOAD_FIFO: paths.reloadFifo,
    ...extra,
  }
}
