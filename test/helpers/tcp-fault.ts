// A TCP relay in front of a real server, for network faults the server itself cannot produce: cut every open
// connection at once, accept new connections and never answer them (a half-dead peer, a stalled middlebox), or let
// the open connections go silent (a peer that vanished without a reset: nothing more arrives, nothing fails). The
// server behind it is the real one; only the path to it misbehaves.
import { createServer, type Server, type Socket, connect } from 'node:net'

export interface TcpFault {
  readonly port: number
  /** New connections are accepted and then ignored: nothing is forwarded either way. */
  blackhole: boolean
  /** Destroys every connection open through the relay (both ends). */
  cut: () => void
  /** The connections open now forward nothing more, either way (bytes are dropped); later ones are relayed. */
  stall: () => void
  close: () => Promise<void>
}

export async function tcpFault (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpFault> {
  const open = new Set<Socket>()
  const cut = (): void => { for (const s of open) s.destroy(); open.clear() }
  let blackhole = false
  const stalled = new WeakSet<Socket>()
  const relayed: Socket[] = []
  const server: Server = createServer(client => {
    open.add(client)
    client.on('error', () => {})
    client.on('close', () => open.delete(client))
    if (blackhole) {
      client.resume() // read and drop: the peer's writes succeed, no answer ever comes
      return
    }
    const upstream = connect(targetPort, targetHost)
    open.add(upstream)
    upstream.on('error', () => client.destroy())
    upstream.on('close', () => { open.delete(upstream); client.destroy() })
    client.on('close', () => upstream.destroy())
    relayed.push(client)
    client.on('data', (b: Buffer) => { if (!stalled.has(client)) upstream.write(b) })
    upstream.on('data', (b: Buffer) => { if (!stalled.has(client)) client.write(b) })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    get blackhole () { return blackhole },
    set blackhole (on: boolean) { blackhole = on },
    cut,
    stall: () => { for (const c of relayed.splice(0)) stalled.add(c) },
    close: async () => {
      cut()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
