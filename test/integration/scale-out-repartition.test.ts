// The scale-out test (test/helpers/scale-out.ts: 3 daemons in one group, one SIGKILLed, a 4th joining, one frozen past
// its session) on a topic not keyed by the entity: the daemons run --repartition (a shuffle stage and its group), tiles
// in Redis.
import { scaleOutTest } from '../helpers/scale-out.ts'

scaleOutTest('Redis, a topic not keyed by the entity, --repartition')
