// The scale-out test (test/helpers/scale-out.ts: 3 daemons in one group, one SIGKILLed, a 4th joining, one frozen past
// its session) with the tiles in Redis; TILEKILN_TEST_SCALE_EMBEDDED=1 also runs it on the embedded LMDB store.
import { scaleOutTest } from '../helpers/scale-out.ts'

scaleOutTest('Redis')
scaleOutTest('embedded LMDB', process.env.TILEKILN_TEST_SCALE_EMBEDDED === undefined ? 'set TILEKILN_TEST_SCALE_EMBEDDED=1 to run it' : false)
