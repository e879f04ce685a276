// The services the integration tests run against (Kafka broker, Redis, a 3-master Redis Cluster), started once per
// test run by scripts/test.mjs (which merges `env` into the environment of the test processes and calls stop() at the
// end, also on Ctrl-C). The schema registry is not among them: the tests that need it start their own
// (test/services/schema-registry.ts), so other runs pay no JVM.
import { startKafka, type KafkaService } from './kafka.ts'
import { startRedis, type RedisService } from './redis.ts'
import { startRedisCluster, type RedisClusterService } from './redis-cluster.ts'

export interface Services {
  env: Record<string, string>
  stop: () => Promise<void>
}

export async function startServices (): Promise<Services> {
  const t0 = Date.now()
  const [kafka, redis, cluster] = await Promise.allSettled([startKafka(), startRedis(), startRedisCluster()])
  const started = [kafka, redis, cluster].flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
  const stop = async (): Promise<void> => { await Promise.all(started.map(async s => { await s.stop() })) }
  const failed = [kafka, redis, cluster].flatMap(r => r.status === 'rejected' ? [r.reason as unknown] : [])
  if (failed.length > 0) {
    await stop()
    throw new AggregateError(failed, 'could not start the test services:\n' + failed.map(e => e instanceof Error ? e.message : String(e)).join('\n'))
  }
  const k = (kafka as PromiseFulfilledResult<KafkaService>).value
  const r = (redis as PromiseFulfilledResult<RedisService>).value
  const c = (cluster as PromiseFulfilledResult<RedisClusterService>).value
  process.stderr.write(`tilekiln: test services up in ${((Date.now() - t0) / 1000).toFixed(1)} s: Kafka ${k.brokers} (log ${k.logFile}), Redis ${r.url}, Redis Cluster ${c.url}\n`)
  return {
    env: { TILEKILN_TEST_KAFKA: k.brokers, TILEKILN_TEST_REDIS: r.url, TILEKILN_TEST_REDIS_CLUSTER: c.url },
    stop
  }
}
