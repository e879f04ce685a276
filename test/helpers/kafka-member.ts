// One consumer-group member in a process of its own, for tests that kill members (SIGKILL, SIGTERM) and restart them.
// It does what the engine does at a handover, in miniature: onRevoked waits a little (its "final checkpoint") and then
// commits the next offsets of the partitions it gives up; onAssigned starts from the group's committed offsets. It
// prints one JSON line per event on stdout, with the time, so the test can reconstruct who owned what when.
//
//   node dist/test/helpers/kafka-member.js '{"library":"platformatic","groupProtocol":"consumer","brokers":"…",…}'
//
// SIGTERM: stop() (onRevoked 'stop', commit, leave) and exit 0. It exits by itself after `maxMs`, whatever happens.
import { createKafkaClient } from '../../src/kafka/client.ts'
import type { GroupProtocol, KafkaLibrary } from '../../src/kafka/types.ts'

export interface MemberArgs {
  library: KafkaLibrary
  groupProtocol: GroupProtocol
  brokers: string
  topic: string
  groupId: string
  instanceId?: string
  sessionTimeoutMs: number
  /** How long onRevoked takes before it commits (the engine's drain and final checkpoint). */
  revokeDelayMs: number
  maxMs: number
}

export type MemberEvent =
  | { ev: 'started', t: number }
  | { ev: 'assigned', t: number, partitions: number[] }
  | { ev: 'revoking', t: number, partitions: number[], reason: string }
  | { ev: 'revoked', t: number, partitions: number[], reason: string }
  | { ev: 'batch', t: number, p: number, offsets: number[] }
  | { ev: 'error', t: number, message: string }
  | { ev: 'stopped', t: number }

const emit = (e: MemberEvent): void => { process.stdout.write(JSON.stringify(e) + '\n') }

const args = JSON.parse(process.argv[2] ?? '{}') as MemberArgs
setTimeout(() => { emit({ ev: 'error', t: Date.now(), message: `still running after ${args.maxMs} ms: exiting` }); process.exit(3) }, args.maxMs).unref()

const client = await createKafkaClient({ library: args.library, brokers: args.brokers, clientId: `member-${process.pid}` })
const next = new Map<number, number>()
const consumer = client.consumer({
  topic: args.topic,
  groupId: args.groupId,
  groupProtocol: args.groupProtocol,
  ...(args.instanceId === undefined ? {} : { instanceId: args.instanceId }),
  sessionTimeoutMs: args.sessionTimeoutMs,
  heartbeatIntervalMs: Math.max(500, Math.floor(args.sessionTimeoutMs / 6)),
  rebalanceTimeoutMs: 30_000,
  onAssigned: added => { emit({ ev: 'assigned', t: Date.now(), partitions: [...added] }) },
  onRevoked: async (removed, reason) => {
    emit({ ev: 'revoking', t: Date.now(), partitions: [...removed], reason })
    if (reason !== 'lost') {
      await new Promise(resolve => setTimeout(resolve, args.revokeDelayMs))
      const positions = new Map<number, number>()
      for (const p of removed) { const n = next.get(p); if (n !== undefined) positions.set(p, n) }
      if (positions.size > 0) await consumer.commit(positions)
    }
    for (const p of removed) next.delete(p)
    emit({ ev: 'revoked', t: Date.now(), partitions: [...removed], reason })
  },
  onBatch: b => {
    next.set(b.partition, b.nextOffset)
    emit({ ev: 'batch', t: Date.now(), p: b.partition, offsets: b.records.map(r => r.offset) })
  },
  onError: e => { emit({ ev: 'error', t: Date.now(), message: e.describe() }) }
})
process.on('SIGTERM', () => {
  void consumer.stop().then(() => { emit({ ev: 'stopped', t: Date.now() }); process.exit(0) }, e => { emit({ ev: 'error', t: Date.now(), message: String(e) }); process.exit(1) })
})
await consumer.start()
emit({ ev: 'started', t: Date.now() })
