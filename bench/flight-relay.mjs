// A relay that counts round trips on the wire, whatever the local work costs: run inside a test host's
// network namespace, it listens on ports 22, 80 and 443 of a second loopback address and forwards each
// connection to the same port of 127.0.0.1 (the test host's own ports, behind its delaying proxy), writing
// down when each side spoke. A client pointed at the second address (through /etc/hosts) then shows, per
// connection, its "flights": runs of chunks one way before the other side speaks. The relay sits on the
// client's side of the delay, so it sees the times the client sees.
//   node flight-relay.mjs LISTEN_ADDRESS TARGET_ADDRESS PORT...
// Prints `ready` once listening, then one JSON line per closed connection:
//   { "port": 443, "startMs": 12.3, "endMs": 80.1, "flights": [{ "side": "c", "atMs": 12.4, "bytes": 517 }, ...],
//     "bytesUp": 517, "bytesDown": 2702 }
// ("c": the client spoke, "s": the server; atMs: when the flight's first chunk passed).

import net from 'node:net'

const [listenAddress, targetAddress, ...portArgs] = process.argv.slice(2)
const ports = portArgs.map(Number)
if (!listenAddress || !targetAddress || ports.length === 0 || ports.some((p) => !Number.isInteger(p))) {
  process.stderr.write('usage: node flight-relay.mjs LISTEN_ADDRESS TARGET_ADDRESS PORT...\n')
  process.exit(2)
}

/**
 * @param {net.Socket} client
 * @param {number} port
 */
function relay(client, port) {
  const startMs = performance.now()
  /** @type {{ side: 'c' | 's', atMs: number, bytes: number }[]} */
  const flights = []
  let bytesUp = 0
  let bytesDown = 0
  let closed = 0
  const server = net.connect({ host: targetAddress, port, allowHalfOpen: true })
  client.setNoDelay(true)
  server.setNoDelay(true)
  /** @param {'c' | 's'} side @param {number} bytes */
  const spoke = (side, bytes) => {
    const last = flights.at(-1)
    if (last?.side === side) last.bytes += bytes
    else flights.push({ side, atMs: performance.now(), bytes })
  }
  const done = () => {
    closed += 1
    if (closed < 2) return
    const endMs = performance.now()
    process.stdout.write(`${JSON.stringify({ port, startMs, endMs, flights, bytesUp, bytesDown })}\n`)
  }
  client.on('data', (chunk) => {
    spoke('c', chunk.length)
    bytesUp += chunk.length
    server.write(chunk)
  })
  server.on('data', (chunk) => {
    spoke('s', chunk.length)
    bytesDown += chunk.length
    client.write(chunk)
  })
  client.on('end', () => server.end())
  server.on('end', () => client.end())
  client.on('error', () => server.destroy())
  server.on('error', () => client.destroy())
  client.on('close', done)
  server.on('close', done)
}

let listening = 0
for (const port of ports) {
  const listener = net.createServer({ allowHalfOpen: true }, (client) => relay(client, port))
  listener.on('error', (error) => {
    process.stderr.write(`flight-relay: ${listenAddress}:${port}: ${error.message}\n`)
    process.exit(1)
  })
  listener.listen({ host: listenAddress, port }, () => {
    listening += 1
    if (listening === ports.length) process.stdout.write('ready\n')
  })
}
process.on('SIGTERM', () => process.exit(0))
