// Every scenario the runner knows, in the order a bare `npm run bench` runs them.
import type { Scenario } from '../lib/scenario.ts'
import { scenario as aggOps } from './agg-ops.ts'
import { scenario as cpc } from './cpc.ts'
import { scenario as engine } from './engine.ts'
import { scenario as expr } from './expr.ts'
import { scenario as fetch } from './fetch.ts'
import { scenario as flink } from './flink.ts'
import { scenario as kafkaClients } from './kafka-clients.ts'
import { scenario as kafka } from './kafka.ts'
import { scenario as kernels } from './kernels.ts'
import { scenario as latency } from './latency.ts'
import { scenario as scale } from './scale.ts'
import { scenario as sketches } from './sketches.ts'
import { scenario as stores } from './stores.ts'
import { scenario as sweep } from './sweep.ts'

export const SCENARIOS: readonly Scenario[] = [engine, latency, sweep, fetch, stores, kafka, kafkaClients, scale, kernels, aggOps, expr, cpc, sketches, flink]

export function scenarioNamed (name: string): Scenario | undefined {
  return SCENARIOS.find(s => s.name === name)
}
