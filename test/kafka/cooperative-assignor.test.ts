// The classic protocol's cooperative-sticky assignment (src/kafka/cooperative-assignor.ts) against its invariants,
// over seeded random group histories: members join and leave, each round every member revokes what it lost and
// reports what it owns, as the real protocol does (src/kafka/platformatic/group-classic.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assignCooperative, owners, type MemberSubscription } from '../../src/kafka/cooperative-assignor.ts'
import { Random } from '../../src/source/generator.ts'

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

/** Checks one round's result against the members' claims; returns it. */
function checkRound (members: MemberSubscription[], partitions: number): Map<string, number[]> {
  const result = assignCooperative(members, partitions)
  assert.deepEqual([...result.keys()].sort(), members.map(m => m.memberId).sort(), 'every member gets an assignment')
  const seen = new Set<number>()
  for (const ps of result.values()) for (const p of ps) {
    assert.ok(p >= 0 && p < partitions)
    assert.ok(!seen.has(p), `partition ${p} assigned twice`)
    seen.add(p)
  }
  // Cooperative: an owned partition is kept by its owner or given to nobody this round.
  for (const [p, owner] of owners(members, partitions)) {
    for (const [id, ps] of result) if (id !== owner) assert.ok(!ps.includes(p), `partition ${p} moved from ${owner} to ${id} in one round`)
  }
  return result
}

/** Rounds until nobody revokes anything: each member keeps the intersection of what it owned and what it got. */
function settle (members: MemberSubscription[], partitions: number, generation: number): { members: MemberSubscription[], rounds: number } {
  for (let rounds = 1; rounds <= 3; rounds++) {
    const result = checkRound(members, partitions)
    let revoked = false
    members = members.map(m => {
      const got = result.get(m.memberId)!
      if (m.owned.some(p => !got.includes(p))) revoked = true
      return { ...m, owned: got, generation }
    })
    generation++
    if (!revoked) return { members, rounds }
  }
  assert.fail('no stable assignment within 3 rounds')
}

function checkBalanced (members: MemberSubscription[], partitions: number): void {
  const all = members.flatMap(m => m.owned).sort((a, b) => a - b)
  assert.deepEqual(all, range(partitions), 'every partition owned once')
  const sizes = members.map(m => m.owned.length)
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `balanced: ${sizes.join(',')}`)
}

test('joining and leaving members: cooperative rounds converge within two rounds to a balanced, complete assignment', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rnd = new Random(seed)
    const partitions = 1 + rnd.int(40)
    let members: MemberSubscription[] = [{ memberId: 'm0', owned: [], generation: -1 }]
    let generation = 1
    let next = 1
    for (let step = 0; step < 12; step++) {
      const s = settle(members, partitions, generation)
      generation += s.rounds
      members = s.members
      assert.ok(s.rounds <= 2, `seed ${seed}: ${s.rounds} rounds`)
      checkBalanced(members, partitions)
      // Sticky: the same membership again moves nothing.
      assert.deepEqual(checkRound(members, partitions), new Map(members.map(m => [m.memberId, m.owned])), `seed ${seed}: a stable group stays as it is`)
      if (members.length > 1 && rnd.next() < 0.4) members.splice(rnd.int(members.length), 1)
      else members.push({ memberId: `m${next++}`, owned: [], generation: -1 })
    }
  }
})

test('a member leaving moves only its partitions; a member joining takes only what balance requires', () => {
  const members: MemberSubscription[] = ['a', 'b', 'c'].map((id, i) => ({ memberId: id, owned: range(12).filter(p => p % 3 === i), generation: 5 }))
  const left = assignCooperative(members.slice(0, 2), 12)
  for (const m of members.slice(0, 2)) for (const p of m.owned) assert.ok(left.get(m.memberId)!.includes(p), `${m.memberId} keeps ${p}`)
  assert.equal(left.get('a')!.length + left.get('b')!.length, 12)
  const joined = assignCooperative([...members, { memberId: 'd', owned: [], generation: -1 }], 12)
  // d's three partitions come one from each owner, and are withheld this round (their owners revoke them first).
  assert.deepEqual(joined.get('d'), [])
  assert.equal(['a', 'b', 'c'].reduce((n, id) => n + joined.get(id)!.length, 0), 9)
})

test('claims of a stale generation and disputed claims are not believed', () => {
  const o = owners([
    { memberId: 'a', owned: [0, 1, 2], generation: 7 },
    { memberId: 'b', owned: [2, 3], generation: 7 },
    { memberId: 'z', owned: [4, 5], generation: 6 }
  ], 8)
  assert.deepEqual([...o].sort((x, y) => x[0] - y[0]), [[0, 'a'], [1, 'a'], [3, 'b']])
  // So the stale member's partitions can be given out at once, and the disputed one too.
  const r = assignCooperative([
    { memberId: 'a', owned: [0, 1, 2], generation: 7 },
    { memberId: 'b', owned: [2, 3], generation: 7 },
    { memberId: 'z', owned: [4, 5], generation: 6 }
  ], 6)
  assert.deepEqual([...r.values()].flat().sort(), range(6))
})

test('static members are ordered by instance id, so the same instances get the same quotas whatever their member ids', () => {
  const a = assignCooperative([{ memberId: 'x1', instanceId: 'i-b', owned: [], generation: -1 }, { memberId: 'x2', instanceId: 'i-a', owned: [], generation: -1 }], 5)
  const b = assignCooperative([{ memberId: 'y9', instanceId: 'i-b', owned: [], generation: -1 }, { memberId: 'y0', instanceId: 'i-a', owned: [], generation: -1 }], 5)
  assert.deepEqual(a.get('x2'), b.get('y0'))
  assert.deepEqual(a.get('x1'), b.get('y9'))
})
