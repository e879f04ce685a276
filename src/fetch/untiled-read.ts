// The untiled read (§3.4, last bullet): for query time Q, read the key's stored events with
// earliest needed ≤ ts < Q — exactly Q, no whole tiles — and update each output column's IR with every event inside
// its window (ts ≥ round(Q − W, hop), or always when unbounded), then finalize per output column (NaN/∞ → null).
// Events arrive ascending by (event time, identity), so ties between equal event times are broken the same way
// on every read and in both stores.

import type { ReadSide } from '../config/bind.ts'
import { isTilekilnError } from '../errors.ts'
import type { TileStore } from '../sink/store.ts'
import { roundTrunc } from '../window/resolution.ts'
import { type FetchResult, readStart, toJsonValue } from './result.ts'

export async function fetchUntiled (read: ReadSide, store: TileStore, keyValues: readonly unknown[], atMillis: number): Promise<FetchResult> {
  const plan = read.plan
  const keyBytes = read.keyCodec.encode(keyValues)
  const events = await store.readEvents(plan.streamingDataset, keyBytes, readStart(plan, atMillis), atMillis)
  const outputs = plan.outputs
  const n = outputs.length
  const cutoffs = outputs.map(o => (o.window.unbounded ? -Infinity : roundTrunc(atMillis - o.window.millis, o.window.hopMillis)))
  const aggs = outputs.map(o => read.aggregators[o.part.index]!)
  const accs: unknown[] = outputs.map(() => null)
  const row: unknown[] = new Array(read.serving.rowColumns.length).fill(null)
  let skipped = 0
  for (const e of events) {
    read.inputCols.decodeInto(e.value, row)
    const ts = e.tsMillis
    for (let i = 0; i < n; i++) {
      if (ts < cutoffs[i]!) continue
      try {
        accs[i] = aggs[i]!.update(accs[i] ?? null, row, ts)
      } catch (err) {
        // Only a check that depends on the IR can refuse a stored row (the writer ran the others): an element-wise
        // tensor whose length differs from the window's first one. The tiled path dead-letters such an event; here
        // it was stored, so it is left out of this column and counted.
        if (!isTilekilnError(err) || err.code !== 'TK_INPUT') throw err
        skipped++
      }
    }
  }
  const features: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    features[outputs[i]!.name] = toJsonValue(aggs[i]!.finalize(accs[i] ?? null))
    aggs[i]!.dispose(accs[i] ?? null)
  }
  return { features, tilesRead: 0, eventsRead: events.length, skippedEvents: skipped, atMillis }
}
