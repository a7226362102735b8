// A delaying TCP proxy, run inside a test host's network namespace in front of sshd, nginx:443 and
// nginx:80 (the kernel here has no netem). Every chunk waits the one-way delay in each direction, in
// order; a new connection behaves as if its handshake took a round trip: the server side is connected
// after 1.5 round trips (when the client's ACK would arrive) and nothing the client sends is forwarded
// before the client could have sent it (one round trip). It counts connections and bytes per port.
//   node tcp-proxy.mjs CONFIG.json
// CONFIG: { latencyMs, routes: [{ port, target }], statsPath, readyPath }.
// A target nobody listens on resets the connection (a real client would have seen "refused").

import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import net from 'node:net'

/**
 * @typedef {{ port: number, target: number }} Route
 * @typedef {{ connections: number, open: number, bytesToServer: number, bytesToClient: number }} PortStats
 */

/** Marks the end of a direction (a FIN) in a delay line. */
const END = null

/**
 * Holds chunks for a destination and releases each at its due time, in order.
 */
class DelayLine {
  /**
   * @param {() => net.Socket | undefined} destination the socket to write to once it exists
   * @param {(bytes: number) => void} count
   */
  constructor(destination, count) {
    this.destination = destination
    this.count = count
    /** @type {{ data: Buffer | null, due: number }[]} */
    this.queue = []
    /** @type {NodeJS.Timeout | undefined} */
    this.timer = undefined
    this.lastDue = 0
    this.ended = false
  }

  /**
   * @param {Buffer | null} data
   * @param {number} due
   */
  push(data, due) {
    if (this.ended) return
    if (data === END) this.ended = true
    this.lastDue = Math.max(due, this.lastDue)
    this.queue.push({ data, due: this.lastDue })
    this.pump()
  }

  pump() {
    if (this.timer) return
    const socket = this.destination()
    while (socket && this.queue.length > 0) {
      const head = /** @type {{ data: Buffer | null, due: number }} */ (this.queue[0])
      const wait = head.due - Date.now()
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined
          this.pump()
        }, wait)
        return
      }
      this.queue.shift()
      if (socket.destroyed) continue
      if (head.data === END) socket.end()
      else {
        socket.write(head.data)
        this.count(head.data.length)
      }
    }
  }

  clear() {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.queue = []
  }
}

const config = JSON.parse(readFileSync(/** @type {string} */ (process.argv[2]), 'utf8'))
const delay = Number(config.latencyMs)
/** @type {Record<string, PortStats>} */
const stats = {}
/** @type {NodeJS.Timeout | undefined} */
let statsTimer
let statsDirty = false

function writeStats() {
  statsDirty = false
  const temp = `${config.statsPath}.tmp`
  writeFileSync(temp, JSON.stringify(stats))
  renameSync(temp, config.statsPath)
}

/** Writes now (connection events) or within 50 ms (byte counts). @param {boolean} now */
function statsChanged(now) {
  if (now) {
    if (statsTimer) clearTimeout(statsTimer)
    statsTimer = undefined
    writeStats()
    return
  }
  statsDirty = true
  statsTimer ??= setTimeout(() => {
    statsTimer = undefined
    if (statsDirty) writeStats()
  }, 50)
}

/**
 * @param {net.Socket} client
 * @param {Route} route
 */
function relay(client, route) {
  const portStats = /** @type {PortStats} */ (stats[route.port])
  portStats.connections += 1
  portStats.open += 1
  statsChanged(true)
  const accepted = Date.now()
  /** @type {net.Socket | undefined} */
  let server
  let clientClosed = false
  let serverClosed = false
  let finished = false
  const toServer = new DelayLine(
    () => server,
    (bytes) => {
      portStats.bytesToServer += bytes
      statsChanged(false)
    },
  )
  const toClient = new DelayLine(
    () => client,
    (bytes) => {
      portStats.bytesToClient += bytes
      statsChanged(false)
    },
  )
  const finish = () => {
    if (finished) return
    finished = true
    toServer.clear()
    toClient.clear()
    portStats.open -= 1
    statsChanged(true)
  }
  const reset = () => {
    if (finished) return
    client.resetAndDestroy()
    server?.resetAndDestroy()
    finish()
  }
  const maybeFinish = () => {
    if (clientClosed && serverClosed) finish()
  }
  // The client could first send when its handshake completed (one round trip after it started).
  const clientCanSend = accepted + 2 * delay
  client.on('data', (chunk) => toServer.push(chunk, Math.max(Date.now(), clientCanSend) + delay))
  client.on('end', () => toServer.push(END, Math.max(Date.now(), clientCanSend) + delay))
  client.on('error', reset)
  client.on('close', () => {
    clientClosed = true
    if (!toServer.ended) toServer.push(END, Math.max(Date.now(), clientCanSend) + delay)
    if (!server) serverClosed = true
    maybeFinish()
  })
  // The server sees the connection when the client's ACK would arrive: 1.5 round trips.
  setTimeout(
    () => {
      if (finished || clientClosed) {
        serverClosed = true
        maybeFinish()
        return
      }
      const socket = net.connect({ host: '127.0.0.1', port: route.target, allowHalfOpen: true })
      socket.setNoDelay(true)
      socket.on('connect', () => {
        server = socket
        toServer.pump()
      })
      socket.on('data', (chunk) => toClient.push(chunk, Date.now() + delay))
      socket.on('end', () => toClient.push(END, Date.now() + delay))
      socket.on('error', () => setTimeout(reset, delay))
      socket.on('close', () => {
        server ??= socket
        if (!toClient.ended) toClient.push(END, Date.now() + delay)
        setTimeout(() => {
          serverClosed = true
          maybeFinish()
        }, delay)
      })
    },
    Math.max(0, accepted + 3 * delay - Date.now()),
  )
}

let listening = 0
for (const route of /** @type {Route[]} */ (config.routes)) {
  stats[route.port] = { connections: 0, open: 0, bytesToServer: 0, bytesToClient: 0 }
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => relay(client, route))
  server.on('error', (error) => {
    process.stderr.write(`tcp-proxy: port ${route.port}: ${error.message}\n`)
    process.exit(1)
  })
  server.listen({ host: '127.0.0.1', port: route.port, backlog: 511 }, () => {
    listening += 1
    if (listening === config.routes.length) {
      writeStats()
      writeFileSync(config.readyPath, String(process.pid))
    }
  })
}
process.on('SIGTERM', () => process.exit(0))
