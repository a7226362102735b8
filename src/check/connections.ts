// The network edge of the site check: one TCP or TLS connection per port, kept alive for the HTTP
// requests that follow, and counted, so that a check costs the server as little as possible.

import type { LookupAddress } from 'node:dns'
import http, { type IncomingHttpHeaders } from 'node:http'
import https from 'node:https'
import net, { type LookupFunction, type Socket } from 'node:net'
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls'

/** What the check cost the server: counted as it goes, over every attempt. */
export interface Traffic {
  connections: number
  requests: number
}

export interface Target {
  readonly domain: string
  readonly port: number
  /** Where the domain resolved to: every connection goes there, so all probes see the same server. */
  readonly addresses: readonly LookupAddress[]
  readonly timeoutMs: number
  /** Trusted roots instead of Node's store (tests only). */
  readonly ca?: readonly string[]
}

/** A failure to connect or to complete the TLS handshake. */
export class ConnectionFailure extends Error {
  constructor(
    readonly stage: 'tcp' | 'tls',
    readonly code: string,
    message: string,
    readonly durationMs: number,
    /** How long the TCP connection took, when the failure came after it (in the TLS handshake). */
    readonly tcpMs?: number,
  ) {
    super(message)
    this.name = 'ConnectionFailure'
  }
}

export interface TcpConnection {
  readonly socket: Socket
  readonly tcpMs: number
}

export interface TlsConnection extends TcpConnection {
  readonly socket: TLSSocket
  readonly handshakeMs: number
}

export interface HttpAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  readonly durationMs: number
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
}

// commento.js is about 60 kB; anything far larger is not what we asked for.
const MAX_BODY_BYTES = 4 * 1024 * 1024

/** A lookup that answers with the addresses already resolved, in the form net.connect asks for. */
export function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const first = addresses[0]
    if (!first) {
      callback(Object.assign(new Error('no address to connect to'), { code: 'ENOTFOUND' }), '', 0)
      return
    }
    if (options.all) callback(null, [...addresses])
    else callback(null, first.address, first.family)
  }
}

/** The TLS settings of every HTTPS connection the check makes: verification is judged, not enforced. */
export function tlsOptions(target: Target): ConnectionOptions {
  return {
    servername: target.domain,
    // The chain is judged from what was served (certificate-analysis.ts): the handshake must complete
    // even when the certificate is bad, to say why. Nothing secret is sent over it.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['http/1.1'],
    ...(target.ca ? { ca: [...target.ca] } : {}),
  }
}

export function connectTcp(target: Target, traffic: Traffic): Promise<TcpConnection> {
  return connect(target, traffic, 'tcp') as Promise<TcpConnection>
}

export function connectTls(target: Target, traffic: Traffic): Promise<TlsConnection> {
  return connect(target, traffic, 'tls') as Promise<TlsConnection>
}

function connect(
  target: Target,
  traffic: Traffic,
  kind: 'tcp' | 'tls',
): Promise<TcpConnection | TlsConnection> {
  const started = performance.now()
  const base = { host: target.domain, port: target.port, lookup: pinnedLookup(target.addresses) }
  traffic.connections += 1
  return new Promise((resolve, reject) => {
    const socket: Socket =
      kind === 'tls' ? tls.connect({ ...base, ...tlsOptions(target) }) : net.connect(base)
    let tcpMs: number | undefined
    const fail = (code: string, message: string) => {
      socket.destroy()
      const stage = tcpMs === undefined ? 'tcp' : 'tls'
      reject(new ConnectionFailure(stage, code, message, performance.now() - started, tcpMs))
    }
    socket.setTimeout(target.timeoutMs, () =>
      fail('ETIMEDOUT', `no answer within ${Math.round(target.timeoutMs / 1000)} s`),
    )
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'EUNKNOWN', error.message))
    socket.once('connect', () => {
      tcpMs = performance.now() - started
      if (kind === 'tcp') done()
    })
    socket.once('secureConnect', () => done())
    function done() {
      socket.setTimeout(0)
      socket.removeAllListeners('error')
      // An error on an idle kept-alive socket must not crash the process; requests see their own errors.
      socket.on('error', () => {})
      const total = performance.now() - started
      if (kind === 'tcp') resolve({ socket, tcpMs: tcpMs ?? total })
      else resolve({ socket: socket as TLSSocket, tcpMs: tcpMs ?? total, handshakeMs: total - (tcpMs ?? 0) })
    }
  })
}

/**
 * A keep-alive agent with one socket that starts with an already open connection (the one a probe made),
 * so the HTTP requests after a TLS probe cost no second handshake. Should the server close it between
 * requests, the agent opens a new one the same way, and counts it.
 */
export function reusingAgent(
  kind: 'http' | 'https',
  connection: Socket,
  target: Target,
  traffic: Traffic,
): http.Agent {
  const options = {
    keepAlive: true,
    maxSockets: 1,
    timeout: target.timeoutMs,
    lookup: pinnedLookup(target.addresses),
    ...(kind === 'https' ? tlsOptions(target) : {}),
  }
  let first: Socket | undefined = connection
  const take = () => {
    const socket = first
    first = undefined
    if (socket && !socket.destroyed) return socket
    traffic.connections += 1
    return undefined
  }
  if (kind === 'https') {
    return new (class extends https.Agent {
      override createConnection(...args: Parameters<https.Agent['createConnection']>) {
        return take() ?? super.createConnection(...args)
      }
    })(options)
  }
  return new (class extends http.Agent {
    override createConnection(...args: Parameters<http.Agent['createConnection']>) {
      return take() ?? super.createConnection(...args)
    }
  })(options)
}

/** One HTTP request over `agent`; the whole body is read (up to a limit). */
export function httpRequest(
  kind: 'http' | 'https',
  agent: http.Agent,
  target: Target,
  request: HttpRequest,
  traffic: Traffic,
): Promise<HttpAnswer> {
  const started = performance.now()
  traffic.requests += 1
  const send = kind === 'https' ? https.request : http.request
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: target.domain,
        port: target.port,
        path: request.path,
        method: request.method,
        agent,
        headers: {
          'user-agent': 'commento-deploy-check',
          accept: '*/*',
          ...(request.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(request.body)) }),
          ...request.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > MAX_BODY_BYTES) {
            req.destroy(
              Object.assign(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`), { code: 'ETOOBIG' }),
            )
            return
          }
          chunks.push(chunk)
        })
        res.once('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            durationMs: performance.now() - started,
          }),
        )
        res.once('error', reject)
      },
    )
    req.setTimeout(target.timeoutMs, () =>
      req.destroy(
        Object.assign(new Error(`no answer within ${Math.round(target.timeoutMs / 1000)} s`), {
          code: 'ETIMEDOUT',
        }),
      ),
    )
    req.once('error', reject)
    req.end(request.body)
  })
}
