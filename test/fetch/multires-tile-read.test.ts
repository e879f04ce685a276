// The multi-resolution read property (test/fetch/multires-reads.ts) on the embedded store.
import { test } from 'node:test'
import { MULTIRES_TEST, multiresReads } from './multires-reads.ts'

test(MULTIRES_TEST, async () => { await multiresReads() })
