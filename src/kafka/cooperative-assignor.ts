// The classic group protocol's partition assignment, as the group leader computes it: balanced, sticky and
// cooperative (KIP-429), for one topic. A pure function of what the members told the coordinator.
//
// Cooperative means a partition never goes straight from one member to another within one rebalance: the leader
// leaves a partition that must move out of everyone's assignment; its owner revokes it (onRevoked, final checkpoint)
// and rejoins at once, and the next rebalance, where nobody owns it any more, gives it to its new member. Partitions
// that stay where they are are never revoked, so a member joining or leaving pauses only the partitions that move.
//
// Invariants of the result (tested in test/kafka/cooperative-assignor.test.ts):
// - no partition is in two assignments;
// - a partition validly owned by a member (see `owners`) is either kept by it or in nobody's assignment;
// - the target (kept + moving + new) is balanced: members get ⌊N/M⌋ or ⌈N/M⌉, and once every move completed, every
//   partition is assigned;
// - members keep as many of their partitions as balance allows (sticky), so a restart with the same membership
//   reproduces the same assignment.

export interface MemberSubscription {
  readonly memberId: string
  /** group.instance.id of a static member: sorts before memberId, which changes at every restart. */
  readonly instanceId?: string | null
  /** Partitions the member says it owns (ConsumerProtocolSubscription v1+). */
  readonly owned: readonly number[]
  /** The generation in which it owned them (v2+; -1 unknown). */
  readonly generation: number
}

/**
 * Who owns what, believing only the members of the newest generation anyone reports: a member that reports an older
 * generation missed a rebalance (it was expelled and came back), and what it claims may have been given away since.
 * A partition two members of that generation both claim is owned by neither.
 */
export function owners (members: readonly MemberSubscription[], partitions: number): Map<number, string> {
  let newest = -1
  for (const m of members) if (m.owned.length > 0 && m.generation > newest) newest = m.generation
  const out = new Map<number, string>()
  const disputed = new Set<number>()
  for (const m of members) {
    if (m.generation !== newest) continue
    for (const p of m.owned) {
      if (p < 0 || p >= partitions || disputed.has(p)) continue
      if (out.has(p)) { out.delete(p); disputed.add(p); continue }
      out.set(p, m.memberId)
    }
  }
  return out
}

const sortKey = (m: MemberSubscription): string => `${m.instanceId ?? ''}\u0000${m.memberId}`

/** memberId → the partitions it gets in this rebalance (every member is present, possibly with none). */
export function assignCooperative (members: readonly MemberSubscription[], partitions: number): Map<string, number[]> {
  const result = new Map<string, number[]>()
  if (members.length === 0) return result
  const owner = owners(members, partitions)
  const ownedBy = new Map<string, number[]>()
  for (const m of members) ownedBy.set(m.memberId, [])
  for (const [p, id] of owner) ownedBy.get(id)!.push(p)
  for (const list of ownedBy.values()) list.sort((a, b) => a - b)

  // Quotas: ⌊N/M⌋ each, and the N mod M extra partitions go to those that own the most already (fewest moves), then
  // in a fixed order so that every leader computes the same result.
  const order = [...members].sort((a, b) => {
    const d = ownedBy.get(b.memberId)!.length - ownedBy.get(a.memberId)!.length
    return d !== 0 ? d : sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0
  })
  const base = Math.floor(partitions / members.length)
  let extra = partitions % members.length
  const quota = new Map<string, number>()
  for (const m of order) quota.set(m.memberId, base + (extra-- > 0 ? 1 : 0))

  // Sticky: each member keeps its partitions up to its quota (the lowest-numbered ones).
  const target = new Map<string, number[]>()
  const free: number[] = []
  for (const m of order) {
    const mine = ownedBy.get(m.memberId)!
    const q = quota.get(m.memberId)!
    target.set(m.memberId, mine.slice(0, q))
    free.push(...mine.slice(q))
  }
  for (let p = 0; p < partitions; p++) if (!owner.has(p)) free.push(p)
  free.sort((a, b) => a - b)
  // The rest to whoever is furthest below quota, in partition order.
  for (const p of free) {
    let best: MemberSubscription | null = null
    let room = 0
    for (const m of order) {
      const r = quota.get(m.memberId)! - target.get(m.memberId)!.length
      if (r > room) { best = m; room = r }
    }
    if (best === null) break
    target.get(best.memberId)!.push(p)
  }

  // Cooperative: a partition whose target differs from its current owner is given to nobody this time.
  for (const m of members) {
    const t = target.get(m.memberId)!.filter(p => { const o = owner.get(p); return o === undefined || o === m.memberId })
    result.set(m.memberId, t.sort((a, b) => a - b))
  }
  return result
}
