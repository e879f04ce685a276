// Several members of one consumer group on a 12-partition topic, each in a process of its own
// (test/helpers/kafka-member.ts), against the real broker: members joining, leaving, SIGKILLed, and a static member
// restarting; per client library and group protocol. What is checked is what the engine's scale-out relies on:
// - every record is delivered to exactly one member between rebalances (with clean handovers: onRevoked commits the
//   next offsets, the new owner starts there — no record twice, none skipped);
// - a moved partition's new owner starts (onAssigned) only after the old owner's onRevoked returned;
// - incremental protocols revoke only the partitions that move (kafkajs: everything, eagerly);
// - a SIGKILLed member's partitions go to the others after the session timeout, and nothing is skipped;
// - a static member restarted with its instance id gets the same partitions back and the others see no rebalance.
// It prints the rebalance pause (old owner's onRevoked called → first batch at the new owner) per combination.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { produce } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import type { GroupProtocol, KafkaAdmin, KafkaClient, KafkaLibrary, KafkaProducer, ProducerRecord } from '../../src/kafka/types.ts'
import { tilekiln } from '../helpers/cli.ts'
import type { MemberArgs, MemberEvent } from '../helpers/kafka-member.ts'
import { groupByPath, repoRoot } from '../helpers/reference.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const skip = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test`' : false
const PARTITIONS = 12
const SESSION_MS = 10_000
const MEMBER_SCRIPT = join(repoRoot, 'dist', 'test', 'helpers', 'kafka-member.js')
const uid = (): string => randomBytes(4).toString('hex')
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

async function until (what: () => string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await sleep(50)
  }
}

/** A member process and what it reported. */
class Member {
  readonly name: string
  readonly child: ChildProcess
  readonly events: MemberEvent[] = []
  readonly owned = new Set<number>()
  readonly exited: Promise<number | null>
  stderr = ''

  constructor (name: string, args: MemberArgs) {
    this.name = name
    this.child = spawn(process.execPath, [MEMBER_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.trim() === '') continue
        const e = JSON.parse(line) as MemberEvent
        this.events.push(e)
        if (e.ev === 'assigned') for (const p of e.partitions) this.owned.add(p)
        if (e.ev === 'revoked') for (const p of e.partitions) this.owned.delete(p)
      }
    })
    this.child.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString() })
    this.exited = new Promise(resolve => this.child.on('exit', code => resolve(code)))
  }

  get started (): boolean { return this.events.some(e => e.ev === 'started') }
  ownedList (): number[] { return [...this.owned].sort((a, b) => a - b) }
  errors (): string[] { return this.events.flatMap(e => e.ev === 'error' ? [e.message] : []) }
}

/** Who owns what, for failure messages. */
const describeOwners = (ms: readonly Member[]): string => ms.map(m => `${m.name}: [${m.ownedList().join(',')}]${m.errors().length > 0 ? ` errors: ${m.errors().slice(-3).join(' | ')}` : ''}`).join('; ')

/** Every partition owned by exactly one of `ms`, each owning `sizes` partitions (any order). */
function settled (ms: readonly Member[], sizes: number[]): boolean {
  const all = ms.flatMap(m => m.ownedList())
  return all.length === PARTITIONS && new Set(all).size === PARTITIONS &&
    JSON.stringify(ms.map(m => m.owned.size).sort()) === JSON.stringify([...sizes].sort())
}

interface Combo { library: KafkaLibrary, protocol: GroupProtocol, incremental: boolean }
const COMBOS: Combo[] = [
  { library: 'kafkajs', protocol: 'classic', incremental: false },
  { library: 'platformatic', protocol: 'classic', incremental: true },
  { library: 'platformatic', protocol: 'consumer', incremental: true }
]

/** Writes a few records to every partition every 100 ms until stopped. */
function steadyProducer (producer: KafkaProducer, topic: string): { stop: () => Promise<void> } {
  let running = true
  let seq = 0
  const loop = (async () => {
    while (running) {
      const recs: ProducerRecord[] = []
      for (let p = 0; p < PARTITIONS; p++) for (let i = 0; i < 5; i++) recs.push({ partition: p, key: null, value: `r${seq++}` })
      await producer.send(topic, recs)
      await sleep(100)
    }
  })()
  return { stop: async () => { running = false; await loop } }
}

/** Each moved partition's handover: old owner's onRevoked called / returned, new owner's onAssigned / first batch. */
interface Handover { partition: number, from: string, to: string, revoking: number, revoked: number, assigned: number, firstBatch: number | null, reason: string }

function handovers (ms: readonly Member[]): Handover[] {
  const timeline: Array<{ m: Member, e: MemberEvent }> = ms.flatMap(m => m.events.map(e => ({ m, e }))).sort((a, b) => a.e.t - b.e.t)
  const out: Handover[] = []
  const lastRevoke = new Map<number, { m: Member, revoking: number, revoked: number, reason: string }>()
  for (const { m, e } of timeline) {
    if (e.ev === 'revoking') for (const p of e.partitions) lastRevoke.set(p, { m, revoking: e.t, revoked: Number.NaN, reason: e.reason })
    if (e.ev === 'revoked') for (const p of e.partitions) { const r = lastRevoke.get(p); if (r !== undefined && r.m === m) r.revoked = e.t }
    if (e.ev === 'assigned') {
      for (const p of e.partitions) {
        const r = lastRevoke.get(p)
        if (r === undefined) continue
        lastRevoke.delete(p)
        const first = m.events.find(x => x.ev === 'batch' && x.p === p && x.t >= e.t)
        out.push({ partition: p, from: r.m.name, to: m.name, revoking: r.revoking, revoked: r.revoked, assigned: e.t, firstBatch: first?.t ?? null, reason: r.reason })
      }
    }
  }
  return out
}

/** Offsets delivered per partition, over all members. */
function delivered (ms: readonly Member[]): Map<number, number[]> {
  const out = new Map<number, number[]>()
  for (const m of ms) for (const e of m.events) if (e.ev === 'batch') { const l = out.get(e.p) ?? []; l.push(...e.offsets); out.set(e.p, l) }
  return out
}

const percentile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]! }

describe('consumer group: several members on a 12-partition topic', { skip }, () => {
  let client: KafkaClient
  let admin: KafkaAdmin
  const members: Member[] = []
  const pauses: string[] = []

  before(async () => {
    client = await createKafkaClient({ library: 'kafkajs', brokers: BROKERS!, clientId: 'group-test' })
    admin = await client.admin()
  })
  after(async () => {
    for (const m of members) m.child.kill('SIGKILL')
    await admin?.close()
    if (pauses.length > 0) process.stderr.write(`rebalance pause (onRevoked called → first batch at the new owner; revoke takes 300 ms):\n${pauses.join('\n')}\n`)
  })

  const member = (name: string, combo: Combo, topic: string, groupId: string, extra: Partial<MemberArgs> = {}): Member => {
    const m = new Member(name, {
      library: combo.library, groupProtocol: combo.protocol, brokers: BROKERS!, topic, groupId, sessionTimeoutMs: SESSION_MS,
      revokeDelayMs: 300, maxMs: 240_000, ...extra
    })
    members.push(m)
    return m
  }

  async function topic (): Promise<string> {
    const t = `group-${uid()}`
    await admin.createTopic(t, { partitions: PARTITIONS })
    return t
  }

  /** Waits until the members stopped reading, then checks every record was delivered exactly once (or at least once). */
  async function checkDelivery (t: string, ms: Member[], live: Member[], exactlyOnce: boolean): Promise<void> {
    const ends = await admin.endOffsets(t)
    await until(() => `every record delivered (${describeOwners(live)})`, () => {
      const d = delivered(ms)
      return [...ends].every(([p, end]) => Math.max(-1, ...(d.get(p) ?? [])) + 1 >= end)
    }, 60_000)
    const d = delivered(ms)
    for (const [p, end] of ends) {
      const got = [...(d.get(p) ?? [])].sort((a, b) => a - b)
      if (exactlyOnce) {
        assert.equal(got.length, end, `partition ${p}: ${got.length} deliveries of ${end} records`)
        for (let i = 0; i < end; i++) assert.equal(got[i], i, `partition ${p}: offset ${i} delivered ${got.filter(x => x === i).length} times`)
      } else {
        assert.deepEqual([...new Set(got)], Array.from({ length: end }, (_, i) => i), `partition ${p}: some offsets never delivered`)
      }
    }
  }

  for (const combo of COMBOS) {
    const label = `${combo.library} / ${combo.protocol}`

    test(`${label}: members join and leave; each record is delivered once, a moved partition starts after its onRevoked, ${combo.incremental ? 'only moved partitions are revoked' : 'every rebalance revokes everything (eager)'}`, { timeout: 240_000 }, async () => {
      const t = await topic()
      const g = `g-${uid()}`
      const producer = client.producer()
      const steady = steadyProducer(producer, t)
      const a = member('A', combo, t, g)
      await until(() => `A owns all 12 (${describeOwners([a])})`, () => a.started && settled([a], [12]), 60_000)
      const b = member('B', combo, t, g)
      await until(() => `A and B settle 6/6 (${describeOwners([a, b])})`, () => b.started && settled([a, b], [6, 6]), 60_000)
      const c = member('C', combo, t, g)
      await until(() => `A, B, C settle 4/4/4 (${describeOwners([a, b, c])})`, () => c.started && settled([a, b, c], [4, 4, 4]), 60_000)
      c.child.kill('SIGTERM')
      assert.equal(await c.exited, 0, c.stderr)
      await until(() => `A and B settle 6/6 after C left (${describeOwners([a, b])})`, () => settled([a, b], [6, 6]), 60_000)
      await sleep(500)
      await steady.stop()
      await producer.close()
      b.child.kill('SIGTERM')
      assert.equal(await b.exited, 0, b.stderr)
      await until(() => `A owns all 12 after B left (${describeOwners([a])})`, () => settled([a], [12]), 60_000)

      await checkDelivery(t, [a, b, c], [a], true)
      const hs = handovers([a, b, c])
      assert.ok(hs.length >= 12, `at least 12 partition moves, saw ${hs.length}`)
      for (const h of hs) {
        assert.ok(h.revoked <= h.assigned, `partition ${h.partition}: ${h.to} got it ${h.revoked - h.assigned} ms before ${h.from}'s onRevoked returned`)
      }
      if (combo.incremental) {
        for (const h of hs) assert.notEqual(h.from, h.to, `partition ${h.partition} was revoked from ${h.from} and given back to it: not incremental`)
        // B joining takes 6 of A's 12, C takes 2 of A's and 2 of B's, C leaving gives 4, B leaving gives 6.
        assert.equal(hs.length, 6 + 4 + 4 + 6, `partition moves: ${hs.map(h => `${h.partition}:${h.from}→${h.to}`).join(' ')}`)
      } else {
        assert.ok(hs.some(h => h.from === h.to), 'eager: partitions are revoked and assigned back to the same member')
      }
      for (const m of [a, b, c]) assert.deepEqual(m.errors().filter(e => /onRevoked|onAssigned|onBatch/.test(e)), [], `${m.name} reported callback errors`)
      // Every revoked partition pauses until its next owner (another member, or the same one after an eager rebalance)
      // delivers it again; partitions an incremental rebalance leaves alone do not pause at all.
      const paused = hs.filter(h => h.firstBatch !== null).map(h => h.firstBatch! - h.revoking)
      pauses.push(`  ${label.padEnd(24)} ${hs.length} partition revocations (${hs.filter(h => h.from !== h.to).length} moves) in 4 rebalances; pause p50 ${percentile(paused, 0.5)} ms, max ${Math.max(...paused)} ms (${paused.length} with data after)`)
      a.child.kill('SIGTERM')
      await a.exited
    })

    test(`${label}: a SIGKILLed member's partitions go to the others after the session timeout, nothing is skipped`, { timeout: 180_000 }, async () => {
      const t = await topic()
      const g = `g-${uid()}`
      const producer = client.producer()
      const steady = steadyProducer(producer, t)
      const a = member('A', combo, t, g)
      const b = member('B', combo, t, g)
      await until(() => `A and B settle 6/6 (${describeOwners([a, b])})`, () => a.started && b.started && settled([a, b], [6, 6]), 60_000)
      const killedAt = Date.now()
      b.child.kill('SIGKILL')
      await b.exited
      await until(() => `A owns all 12 after B was killed (${describeOwners([a])})`, () => a.owned.size === PARTITIONS, SESSION_MS + 20_000)
      const took = Date.now() - killedAt
      await steady.stop()
      await producer.close()
      // B never committed (it was killed): its partitions replay from the last commit, so at least once here.
      await checkDelivery(t, [a, b], [a], false)
      pauses.push(`  ${label.padEnd(24)} SIGKILL → survivor owns everything: ${took} ms (session timeout ${SESSION_MS} ms)`)
      assert.ok(took >= SESSION_MS / 2, `the group noticed a SIGKILL in ${took} ms, before any session could expire?`)
      a.child.kill('SIGTERM')
      await a.exited
    })

    if (combo.library === 'platformatic') {
      const how = combo.protocol === 'classic' ? 'SIGKILLed' : 'stopped (SIGTERM: a static member leaves only for now)'
      test(`${label}: a static member ${how} and restarted with its instance id gets the same partitions back; the others see no rebalance`, { timeout: 180_000 }, async () => {
        const t = await topic()
        const g = `g-${uid()}`
        const instanceId = `b-${uid()}`
        const producer = client.producer()
        const steady = steadyProducer(producer, t)
        const a = member('A', combo, t, g)
        const b = member('B', combo, t, g, { instanceId })
        await until(() => `A and B settle 6/6 (${describeOwners([a, b])})`, () => a.started && b.started && settled([a, b], [6, 6]), 60_000)
        await sleep(1000)
        const before = b.ownedList()
        const aEvents = a.events.filter(e => e.ev === 'assigned' || e.ev === 'revoking').length
        b.child.kill(combo.protocol === 'classic' ? 'SIGKILL' : 'SIGTERM')
        await b.exited
        const restartedAt = Date.now()
        const b2 = member('B2', combo, t, g, { instanceId })
        await until(() => `B2 owns B's partitions (${describeOwners([a, b2])})`, () => b2.started && b2.owned.size === before.length, 60_000)
        const took = Date.now() - restartedAt
        assert.deepEqual(b2.ownedList(), before, 'same partitions back')
        await sleep(SESSION_MS + 2000)
        assert.equal(a.events.filter(e => e.ev === 'assigned' || e.ev === 'revoking').length, aEvents, `A saw a rebalance: ${JSON.stringify(a.events.slice(-4))}`)
        await steady.stop()
        await producer.close()
        await checkDelivery(t, [a, b, b2], [a, b2], combo.protocol === 'consumer')
        pauses.push(`  ${label.padEnd(24)} static restart → partitions back in ${took} ms (process start included)`)
        for (const m of [a, b2]) m.child.kill('SIGTERM')
        await Promise.all([a.exited, b2.exited])
      })
    }
  }

  test('kafkajs refuses --instance-id with a usage error that names the library to use', async () => {
    const gb = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
    const dir = mkdtempSync(join(tmpdir(), 'tilekiln-group-'))
    const schema = join(dir, 'schema.avsc')
    const t = `usage-${uid()}`
    await produce({
      brokers: BROKERS!, topic: t, plan: compilePlan(JSON.parse(readFileSync(gb, 'utf8'))), count: 0, seed: 1, partitions: 1, format: 'avro', malformedFraction: 0,
      keys: 1, zipf: 0, spanMillis: 1000, disorderMillis: 0, lateFraction: 0, schemaOut: schema, library: 'kafkajs', batch: 10, keyType: 'long'
    })
    const r = await tilekiln(['run', '--group-by', gb, '--source', `kafka:${BROKERS!}/${t}`, '--kafka-library', 'kafkajs', '--instance-id', 'x', '--schema', schema, '--store', `embedded:${join(dir, 'store')}`], {}, 60_000)
    rmSync(dir, { recursive: true, force: true })
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /--kafka-library platformatic/)
  })
})
