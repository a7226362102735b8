// A site on loopback that answers like the stack does (nginx in front of Commento), with real TLS from
// the test PKI, and knobs for every way a real one goes wrong.

import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'

export interface ServedCertificate {
  readonly key: string
  /** PEM: the leaf, then whatever else the server sends. */
  readonly cert: string
}

export interface CommentoBehaviour {
  /** Status for both Commento paths, e.g. 502 while the container starts. Default: Commento answers. */
  status?: number
  scriptStatus?: number
  scriptContentType?: string
  apiBody?: unknown
  /** Answer with `Connection: close`, as a proxy without keep-alive does. */
  closeConnections?: boolean
}

export type PortEightyBehaviour = 'stack' | 'no-redirect' | 'redirect-everything'

export interface FakeSiteOptions {
  readonly domain: string
  readonly certificate: ServedCertificate
  readonly commento?: CommentoBehaviour
  readonly portEighty?: PortEightyBehaviour
  /** Ports to listen on (default: free ones). */
  readonly httpsPort?: number
  readonly httpPort?: number
  readonly tls?: Pick<https.ServerOptions, 'minVersion' | 'maxVersion' | 'ciphers'>
}

export interface FakeSite {
  readonly httpsPort: number
  readonly httpPort: number
  /** "METHOD path" of every request, in order, per port. */
  readonly requests: { https: string[]; http: string[] }
  readonly connections: { https: number; http: number }
  /** Bodies POSTed to the Commento API. */
  readonly apiBodies: unknown[]
  commento: CommentoBehaviour
  setCertificate(certificate: ServedCertificate): void
  close(): Promise<void>
}

export const COMMENTO_SCRIPT = '(function () { window.commento = window.commento || {} })()\n'

export async function startFakeSite(options: FakeSiteOptions): Promise<FakeSite> {
  const requests = { https: [] as string[], http: [] as string[] }
  const connections = { https: 0, http: 0 }
  const apiBodies: unknown[] = []
  const site = {
    commento: { ...options.commento } as CommentoBehaviour,
  }

  const secure = https.createServer(
    { ...options.certificate, ...options.tls },
    commentoListener(() => site.commento, requests.https, apiBodies),
  )
  secure.on('secureConnection', () => {
    connections.https += 1
  })

  const plain = http.createServer((req, res) => {
    requests.http.push(`${req.method} ${req.url}`)
    const behaviour = options.portEighty ?? 'stack'
    const challenge = req.url?.startsWith('/.well-known/acme-challenge/')
    if (behaviour === 'no-redirect' || (behaviour === 'stack' && challenge)) {
      // nginx serving certbot's webroot: an unknown token is a plain 404.
      res.writeHead(challenge ? 404 : 200, { 'content-type': 'text/html' }).end('<html></html>')
      return
    }
    res.writeHead(301, { location: `https://${options.domain}${req.url}` }).end()
  })
  plain.on('connection', () => {
    connections.http += 1
  })

  await listen(secure, options.httpsPort ?? 0)
  try {
    await listen(plain, options.httpPort ?? 0)
  } catch (error) {
    await close(secure)
    throw error
  }
  return {
    httpsPort: (secure.address() as AddressInfo).port,
    httpPort: (plain.address() as AddressInfo).port,
    requests,
    connections,
    apiBodies,
    get commento() {
      return site.commento
    },
    set commento(value: CommentoBehaviour) {
      site.commento = value
    },
    setCertificate(certificate) {
      secure.setSecureContext({ ...certificate })
    },
    async close() {
      await Promise.all([close(secure), close(plain)])
    },
  }
}

/**
 * Commento as nginx proxies to it: /js/commento.js and the read-only count API; everything else 404.
 * `behaviour()` is read on every request, so a test can change it while the site runs.
 */
export function commentoListener(
  behaviour: () => CommentoBehaviour,
  requests: string[],
  apiBodies: unknown[],
): http.RequestListener {
  return (req, res) => {
    requests.push(`${req.method} ${req.url}`)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const now = behaviour()
      if (now.closeConnections) res.setHeader('connection', 'close')
      if (now.status !== undefined) {
        res.writeHead(now.status, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>')
        return
      }
      if (req.method === 'GET' && req.url === '/js/commento.js') {
        const status = now.scriptStatus ?? 200
        res.writeHead(status, { 'content-type': now.scriptContentType ?? 'text/javascript; charset=utf-8' })
        res.end(status === 200 ? COMMENTO_SCRIPT : '404 page not found\n')
        return
      }
      if (req.method === 'POST' && req.url === '/api/comment/count') {
        apiBodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(now.apiBody ?? { success: true, commentCounts: {} }))
        return
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n')
    })
  }
}

export function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
}

export function close(server: http.Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** A port that was free a moment ago (for a server that starts later). */
export async function freePort(): Promise<number> {
  const server = http.createServer()
  await listen(server, 0)
  const { port } = server.address() as AddressInfo
  await close(server)
  return port
}
