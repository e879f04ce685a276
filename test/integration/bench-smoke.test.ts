// The benchmark scenarios that need a broker or a Redis, at their smoke size (bench/run.ts --smoke). kafka uses
// the test services' broker; kafka-clients and stores start their own servers, as they do when run by hand.
import { test } from 'node:test'
import { smokeScenario } from '../helpers/bench-smoke.ts'

const KAFKA = process.env.TILEKILN_TEST_KAFKA

test('bench kafka: produce and consume a few thousand events', { skip: KAFKA === undefined ? 'needs the test services\' Kafka: run through `npm test`' : false }, () => {
  smokeScenario('kafka', ['--brokers', KAFKA!], 50_000)
})

test('bench stores: a few batches into LMDB, Redis and Redis Cluster', () => {
  smokeScenario('stores', [], 50_000)
})

test('bench kafka-clients: one library over a few thousand records (its own broker)', () => {
  smokeScenario('kafka-clients', [], 55_000)
})

test('bench fetch: reads by window from LMDB and its own Redis, with and without rolled-up tiles', () => {
  smokeScenario('fetch', [], 55_000)
})
