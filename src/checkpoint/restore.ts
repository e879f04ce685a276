// Restoring checkpointed state into workers: each entry goes to the worker that owns its key by the same rule the
// router uses (route/ownership.ts), so a checkpoint taken with any number of workers, by any daemon, lands where
// that key's records will be sent.

import { createHash } from 'node:crypto'
import type { BoundGroupBy } from '../config/bind.ts'
import { workerOfKey } from '../route/ownership.ts'
import { TilePuts, TilePutsWriter } from '../sink/tile-puts.ts'
import type { StateSnapshot } from '../worker/tile-state.ts'

/**
 * Identifies the tile layout: a checkpoint only restores into an engine whose tiles have the same shape. An untiled
 * run's checkpoint holds no tiles, so it must not restore into a tiled run (nor the reverse: its open tiles would be
 * dropped while its positions skip their events): the mode is part of the shape (only when untiled, so tiled
 * fingerprints stay what they were).
 */
export function planFingerprint (bound: BoundGroupBy, untiled = false): string {
  const p = bound.plan
  const shape = {
    name: p.name,
    flavour: p.flavour,
    tileSize: p.tileSizeMillis,
    keys: bound.serving.keyFields,
    columns: bound.serving.rowColumns,
    parts: p.tileParts.map((t, i) => ({ name: t.name, op: t.aggregation.operation, args: t.aggregation.argMap, bucket: t.bucket, ir: bound.aggregators[i]!.irType })),
    ...(untiled ? { mode: 'untiled' } : {})
  }
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32)
}

/** One partition's checkpointed entries, split into one snapshot per worker by key owner. */
export function splitByOwner (partition: number, entries: ArrayBuffer, timers: Uint8Array, latest: Float64Array, bound: BoundGroupBy, workers: number): StateSnapshot[] {
  if (workers === 1) {
    const n = new TilePuts(entries).count
    // A copy: the worker takes its snapshot by transfer, and the caller still writes these tiles.
    return [{ entries: entries.slice(0), partitions: new Int32Array(n).fill(partition), timers, latest }]
  }
  const out = Array.from({ length: workers }, () => {
    const w = new TilePutsWriter()
    w.begin()
    return { writer: w, timers: [] as number[], latest: [] as number[] }
  })
  const puts = new TilePuts(entries)
  for (let i = 0; i < puts.count; i++) {
    const key = puts.key(i)
    const target = out[workerOfKey(bound.keyCodec.decode(key), workers)]!
    const w = target.writer.beginPut(key, puts.tileStart(i))
    w.raw(puts.value(i))
    target.writer.endValue()
    target.timers.push(timers[i] ?? 0)
    target.latest.push(latest[i] ?? puts.tileStart(i))
  }
  return out.map(o => ({ entries: o.writer.finish(), partitions: new Int32Array(o.writer.count).fill(partition), timers: Uint8Array.from(o.timers), latest: Float64Array.from(o.latest) }))
}

/** Workers' snapshots of several partitions, regrouped as one entry batch (and timer bytes) per partition. */
export function collectByPartition (snaps: readonly StateSnapshot[]): Map<number, { entries: ArrayBuffer, timers: Uint8Array, latest: Float64Array, count: number }> {
  const acc = new Map<number, { entries: TilePutsWriter, timers: number[], latest: number[] }>()
  for (const snap of snaps) {
    const puts = new TilePuts(snap.entries)
    for (let i = 0; i < puts.count; i++) {
      const p = snap.partitions[i] ?? 0
      let o = acc.get(p)
      if (o === undefined) {
        const w = new TilePutsWriter()
        w.begin()
        o = { entries: w, timers: [], latest: [] }
        acc.set(p, o)
      }
      const w = o.entries.beginPut(puts.key(i), puts.tileStart(i))
      w.raw(puts.value(i))
      o.entries.endValue()
      o.timers.push(snap.timers[i] ?? 0)
      o.latest.push(snap.latest[i] ?? puts.tileStart(i))
    }
  }
  const out = new Map<number, { entries: ArrayBuffer, timers: Uint8Array, latest: Float64Array, count: number }>()
  for (const [p, o] of acc) out.set(p, { entries: o.entries.finish(), timers: Uint8Array.from(o.timers), latest: Float64Array.from(o.latest), count: o.timers.length })
  return out
}

/**
 * The open fine tiles of a partition's checkpoint (its entries without the open rolled-up tiles, which are state,
 * not tiles to rewrite): what a new owner writes again under its epoch.
 */
export function openFineTiles (entries: ArrayBuffer, flags: Uint8Array, latest: Float64Array): { entries: ArrayBuffer, latest: Float64Array, count: number } {
  const puts = new TilePuts(entries)
  let rolled = 0
  for (let i = 0; i < puts.count; i++) if ((flags[i] ?? 0) >> 1 !== 0) rolled++
  if (rolled === 0) return { entries, latest, count: puts.count }
  const w = new TilePutsWriter()
  w.begin()
  const l: number[] = []
  for (let i = 0; i < puts.count; i++) {
    if ((flags[i] ?? 0) >> 1 !== 0) continue
    w.beginPut(puts.key(i), puts.tileStart(i)).raw(puts.value(i))
    w.endValue()
    l.push(latest[i] ?? puts.tileStart(i))
  }
  return { entries: w.finish(), latest: Float64Array.from(l), count: l.length }
}
