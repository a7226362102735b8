// checkSite against a real nginx (as the stack runs it: port 80 serves the ACME webroot and redirects the
// rest, port 443 proxies to Commento), with certificates from the test PKI: what nginx really sends for
// fullchain.pem and for cert.pem, and its real 502 when Commento is down.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CommentoBehaviour, close, commentoListener, freePort, listen } from './fake-site.js'
import {
  checkFakeSite,
  DOMAIN,
  makeTestPkis,
  reasonOf,
  type TestPkis,
  verdicts,
} from './site-check-fixture.js'

function requireNginx(): void {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' })
  } catch {
    throw new Error(
      'This test needs nginx: apt-get install nginx-light (or bash scripts/install-test-deps.sh).',
    )
  }
}

let pkis: TestPkis
let dir: string
let nginx: ChildProcess | undefined
let commento: http.Server
let behaviour: CommentoBehaviour = {}
const commentoRequests: string[] = []
const ports = { http: 0, fullChain: 0, leafOnly: 0 }

async function waitForPort(port: number, process: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`nginx exited with ${process.exitCode}; see ${logFile}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nginx did not listen on ${port} within 10 s`)
}

beforeAll(async () => {
  requireNginx()
  pkis = await makeTestPkis()
  dir = mkdtempSync(join(tmpdir(), 'cd-check-nginx-'))
  commento = http.createServer(commentoListener(() => behaviour, commentoRequests, []))
  await listen(commento, 0)
  const upstream = (commento.address() as AddressInfo).port
  const issued = await pkis.trusted.issue({ names: [DOMAIN] })
  ports.http = await freePort()
  ports.fullChain = await freePort()
  ports.leafOnly = await freePort()
  mkdirSync(join(dir, 'webroot', '.well-known', 'acme-challenge'), { recursive: true })
  const tlsServer = (port: number, certificate: string) => `
    server {
      listen 127.0.0.1:${port} ssl;
      server_name ${DOMAIN};
      ssl_certificate ${certificate};
      ssl_certificate_key ${issued.keyPath};
      ssl_protocols TLSv1.2 TLSv1.3;
      location / {
        proxy_pass http://127.0.0.1:${upstream};
        proxy_set_header Host $host;
      }
    }`
  const config = join(dir, 'nginx.conf')
  writeFileSync(
    config,
    `
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${ports.http};
    server_name ${DOMAIN};
    location /.well-known/acme-challenge/ { root ${dir}/webroot; }
    location / { return 301 https://$host$request_uri; }
  }
  ${tlsServer(ports.fullChain, issued.chainPath)}
  ${tlsServer(ports.leafOnly, issued.certPath)}
}
`,
  )
  nginx = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', config], { stdio: 'ignore' })
  for (const port of Object.values(ports)) await waitForPort(port, nginx, join(dir, 'error.log'))
})

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((resolve) => nginx?.once('exit', resolve))
    nginx.kill('SIGTERM')
    await exited
  }
  if (commento) await close(commento)
  if (dir) rmSync(dir, { recursive: true, force: true })
  pkis?.cleanup()
})

it('passes the site nginx serves with fullchain.pem, through nginx to Commento', async () => {
  behaviour = {}
  const report = await checkFakeSite({ httpsPort: ports.fullChain, httpPort: ports.http }, pkis)
  expect(verdicts(report).filter((line) => !line.endsWith(': pass'))).toEqual([])
  expect(reasonOf(report, 'acme-challenge')).toBe(
    "GET http://…/.well-known/acme-challenge/<random> answered 404 without a redirect: renewals can reach certbot's webroot",
  )
  expect(reasonOf(report, 'http-redirect')).toBe(`GET http://…/ redirects to https://${DOMAIN}/ (301)`)
  expect(commentoRequests.slice(-2)).toEqual(['GET /js/commento.js', 'POST /api/comment/count'])
})

it('finds the missing intermediate when nginx serves cert.pem', async () => {
  behaviour = {}
  const report = await checkFakeSite({ httpsPort: ports.leafOnly, httpPort: ports.http }, pkis)
  expect(verdicts(report).filter((line) => !line.endsWith(': pass'))).toEqual(['tls-chain: fail'])
  expect(reasonOf(report, 'tls-chain')).toMatch(
    /^incomplete chain: the server sends only the leaf certificate/,
  )
})

it("reports nginx's own 502 while Commento is down", async () => {
  const upstream = (commento.address() as AddressInfo).port
  await close(commento)
  try {
    const report = await checkFakeSite({ httpsPort: ports.fullChain, httpPort: ports.http }, pkis)
    expect(verdicts(report).filter((line) => !line.endsWith(': pass'))).toEqual([
      'commento-js: fail',
      'commento-api: fail',
    ])
    expect(reasonOf(report, 'commento-js')).toBe(
      "GET /js/commento.js answered 502: nginx is up but Commento does not answer (yet) — if this lasts, see the app container's log",
    )
  } finally {
    commento = http.createServer(commentoListener(() => behaviour, commentoRequests, []))
    await listen(commento, upstream)
  }
})
