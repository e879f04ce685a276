// The scale-out test (test/helpers/scale-out.ts: 3 daemons in one group, one SIGKILLed, a 4th joining, one frozen past
// its session) with the tiles in a 3-node Redis Cluster.
import { scaleOutTest } from '../helpers/scale-out.ts'

scaleOutTest('Redis Cluster')
