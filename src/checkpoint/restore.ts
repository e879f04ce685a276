// Restoring worker state from a checkpoint, including onto a different number of workers: entries are re-routed
// by the same key hash the router uses, so every key lands on the worker that will receive its records.

import { createHash } from 'node:crypto'
import type { BoundGroupBy } from '../config/bind.ts'
import { hashKey } from '../route/hash.ts'
import { TilePuts, TilePutsWriter } from '../sink/tile-puts.ts'
import type { Shard } from './checkpoint.ts'

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

/** Splits checkpointed shards into `workers` shards by key owner. Same worker count: returned as they are. */
export function reshard (shards: readonly Shard[], bound: BoundGroupBy, workers: number): Shard[] {
  if (shards.length === workers) return [...shards]
  const out = Array.from({ length: workers }, () => {
    const w = new TilePutsWriter()
    w.begin()
    return { writer: w, timers: [] as number[] }
  })
  const watermark = Math.min(...shards.map(s => s.watermark))
  for (const s of shards) {
    const puts = new TilePuts(s.entries)
    for (let i = 0; i < puts.count; i++) {
      const key = puts.key(i)
      const owner = workers === 1 ? 0 : hashKey(bound.keyCodec.decode(key)) % workers
      const target = out[owner]!
      const w = target.writer.beginPut(key, puts.tileStart(i))
      w.raw(puts.value(i))
      target.writer.endValue()
      target.timers.push(s.timers[i] ?? 0)
    }
  }
  return out.map(o => ({ entries: o.writer.finish(), timers: Uint8Array.from(o.timers), watermark }))
}
