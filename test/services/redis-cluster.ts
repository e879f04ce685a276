// A real 3-master Redis Cluster for tests: Debian's redis-server in cluster mode on loopback ports (client and bus
// port both picked free), the slots split by `redis-cli --cluster create`, no replicas, no persistence. Every step
// has a deadline; stop() (also on process exit, see process.ts) kills all three.
import { spawnSync } from 'node:child_process'
import { freePort, sleep } from './process.ts'
import { startRedis, type RedisService } from './redis.ts'

export interface RedisClusterService {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  url: string
  nodes: RedisService[]
  stop: () => Promise<void>
}

function cli (args: string[], timeoutMs: number): { ok: boolean, out: string } {
  const r = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: timeoutMs })
  return { ok: r.status === 0 && r.error === undefined, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error !== undefined ? String(r.error) : ''}` }
}

export async function startRedisCluster (opts: { masters?: number, startTimeoutMs?: number } = {}): Promise<RedisClusterService> {
  const masters = opts.masters ?? 3
  const timeoutMs = opts.startTimeoutMs ?? 30_000
  const nodes: RedisService[] = []
  const stop = async (): Promise<void> => { await Promise.all(nodes.map(async n => { await n.stop() })) }
  try {
    for (let i = 0; i < masters; i++) {
      const bus = await freePort()
      nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000', '--cluster-port', String(bus)] }))
    }
    const create = cli(['--cluster', 'create', ...nodes.map(n => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], timeoutMs)
    if (!create.ok) throw new Error(`redis-cli --cluster create failed:\n${create.out}`)
    // Every node must agree that all slots are served before a client sees a consistent slot table.
    const deadline = Date.now() + timeoutMs
    for (const n of nodes) {
      for (;;) {
        const info = cli(['-p', String(n.port), 'cluster', 'info'], 2000)
        if (info.ok && /cluster_state:ok/.test(info.out) && /cluster_known_nodes:(\d+)/.exec(info.out)?.[1] === String(masters)) break
        if (Date.now() > deadline) throw new Error(`Redis Cluster node 127.0.0.1:${n.port} not ok within ${timeoutMs} ms:\n${info.out}`)
        await sleep(100)
      }
    }
  } catch (e) {
    await stop()
    throw e
  }
  return { url: `redis+cluster://${nodes.map(n => `127.0.0.1:${n.port}`).join(',')}`, nodes, stop }
}
