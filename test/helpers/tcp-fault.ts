// A TCP relay in front of a real server, for network faults the server itself cannot produce: cut every open
// connection at once, or accept new connections and never answer them (a half-dead peer, a stalled middlebox). The
// server behind it is the real one; only the path to it misbehaves.
import { createServer, type Server, type Socket, connect } from 'node:net'

export interface TcpFault {
  readonly port: number
  /** New connections are accepted and then ignored: nothing is forwarded either way. */
  blackhole: boolean
  /** Destroys every connection open through the relay (both ends). */
  cut: () => void
  close: () => Promise<void>
}

export async function tcpFault (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpFault> {
  const open = new Set<Socket>()
  const cut = (): void => { for (const s of open) s.destroy(); open.clear() }
  let blackhole = false
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
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as { port: number }).port,
    get blackhole () { return blackhole },
    set blackhole (on: boolean) { blackhole = on },
    cut,
    close: async () => {
      cut()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}
